"""relay_lib - helpers shared by the t/proto/relay_*.t tests (the relay
plugin, plugins/relay/).

The server runs the relay plugin with server.domain = local.test and two
accounts, alice and bob.  The three sender classes and three recipient
classes of the effect.dat tables (SEEDS.md §9.3) are fixed addresses:

    internal, account exists    alice@local.test   ->  bob@local.test
    internal, no such account   nobody@local.test  ->  ghost@local.test
    external                    x@ext.example      ->  y@remote.example

A Client is a raw SMTP connection from a chosen loopback source address
(127.0.0.0/8 is all local on Linux; ::1 for IPv6).  matrix() drives one
table (3 senders x 3 recipients) over one session and checks each cell's
exact reply and enhanced status: yes = 250 2.1.5, no = 554 5.7.1 (550 5.1.1
for the recipient without account).
"""

import base64
import hashlib
import os
import re
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_lib import (Server, TAP, Raw, conf, expect, enhanced, b64,  # noqa: E402,F401
                      message, binary)
from yubintest import wait_until  # noqa: E402,F401

DOMAIN = 'local.test'
PW = {'alice': 'Alice-pw-1', 'bob': 'Bob-pw-2'}
ACCOUNTS = dict(PW)

S_ACCT, S_NOACCT, S_EXT = 'alice@local.test', 'nobody@local.test', 'x@ext.example'
R_ACCT, R_NOACCT, R_EXT = 'bob@local.test', 'ghost@local.test', 'y@remote.example'
SENDERS = ((S_ACCT, 'acct'), (S_NOACCT, 'noacct'), (S_EXT, 'ext'))
RCPTS = ((R_ACCT, 'acct'), (R_NOACCT, 'noacct'), (R_EXT, 'ext'))

YES = (250, '2.1.5')
NOUSER = (550, '5.1.1')
DENIED = (554, '5.7.1')
REFUSED = (550, '5.7.1')        # a refused sender (MAIL) or From: (DATA)

# The tables of SEEDS.md §9.3 as read in plugins/relay/relay.c: rows are the
# sender classes (acct, noacct, ext), columns the recipient classes.
# Table I's acct -> external needs authentication: a sender address alone
# never unlocks relay (DESIGN §10); the seed's literal table is
# TABLE_I_SEED, with [plugin relay] trust_local_sender = 1.
TABLE_I = 'YNN NNN YNN'
TABLE_I_SEED = 'YNY NNN YNN'
TABLE_I_AUTH = 'YNY NNY YNY'
TABLE_II = 'YNY YNY YNY'
TABLE_IV = 'YNN NNN YNN'
TABLE_IV_AUTH = 'YNY NNN YNN'
TABLE_IV2 = 'YNN YNN YNN'
TABLE_V_OTHER = 'NNN NNN YNN'


def relay_conf(*extra):
    """Test defaults for a relay server merged with EXTRA sections (many
    refusals per session: max_errors is raised)."""
    return conf({'server': {'plugins': 'relay', 'domain': DOMAIN},
                 'smtp': {'max_errors': '1000'}}, *extra)


def cheap_hash(pw):
    """An scrypt hash of PW with the smallest cost (ln=1), in the form
    `yubinctl account import` takes: AUTH PLAIN then costs microseconds
    instead of a quarter second, and the matrix tests authenticate often."""
    salt = os.urandom(16)
    key = hashlib.scrypt(pw.encode(), salt=salt, n=2, r=8, p=1, dklen=32)
    return '{HASH}$scrypt$ln=1,r=8,p=1$%s$%s' % (base64.b64encode(salt).decode(),
                                                base64.b64encode(key).decode())


def relay_server(conf=None, files=None, accounts=None, **kw):
    """A started Server with the relay plugin (relay_conf() merged with
    CONF), the files FILES and the accounts ACCOUNTS ({name: password},
    default alice and bob) imported with cheap hashes."""
    s = Server(conf=relay_conf(conf or {}), files=files, tls=kw.pop('tls', False),
               start=False, **kw)
    path = os.path.join(s.tmp, 'accounts.txt')
    with open(path, 'w') as f:
        for name, pw in (accounts or ACCOUNTS).items():
            f.write('%s\t%s\t\t\t\t\t\t\n' % (name, cheap_hash(pw)))
    s.ctl('account', 'import', path)
    s.start()
    return s


def ipv6_loopback():
    """True when ::1 can be bound here (containers without IPv6 skip those
    cases)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(('::1', 0))
        return True
    except OSError:
        return False


def all_ports(s):
    """{name: [(host, port), ...]} from HOME/run/ports, every address."""
    out = {}
    with open(os.path.join(s.home, 'run', 'ports')) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 2:
                continue
            host, _, port = parts[1].rpartition(':')
            out.setdefault(parts[0], []).append((host.strip('[]'), int(port)))
    return out


class Client(Raw):
    """An SMTP connection from SOURCE to LISTENER; the greeting is read."""

    def __init__(self, s, source='127.0.0.1', listener='smtp', timeout=30):
        v6 = ':' in source
        for host, port in all_ports(s)[listener]:
            if (':' in host) == v6:
                break
        else:
            raise RuntimeError('no %s listener for %s' % (listener, source))
        sock = socket.create_connection((host, port), timeout=timeout,
                                        source_address=(source, 0))
        Raw.__init__(self, sock)
        self.greeting = self.reply()

    def ehlo(self, name='client.example'):
        return self.cmd('EHLO ' + name)

    def auth(self, user, pw=None):
        return self.cmd('AUTH PLAIN ' + b64('\0%s\0%s' % (user, pw or PW[user])))

    def quit(self):
        try:
            self.cmd('QUIT')
        except OSError:
            pass
        self.close()


def session(s, source='127.0.0.1', user=None, listener='smtp'):
    """A Client after EHLO (and AUTH PLAIN as USER when given)."""
    c = Client(s, source, listener)
    c.ehlo()
    if user:
        r = c.auth(user)
        if r[0] != 235:
            raise RuntimeError('AUTH %s: %r' % (user, r))
    return c


def want_of(letter, rcpt):
    if letter == 'Y':
        return YES
    return NOUSER if rcpt == R_NOACCT else DENIED


def check(t, got, want, name):
    """GOT (code, text) has code and enhanced status WANT (code, enh)."""
    r = t.ok(got[0] == want[0] and enhanced(got[1]) == want[1], name)
    if not r:
        t.diag('got:  %r' % (got,))
        t.diag('want: %r' % (want,))
    return r


def matrix(t, s, name, table, source='127.0.0.1', user=None, senders=SENDERS,
           listener='smtp'):
    """Check every cell of TABLE ('YNY NNN YNN': rows acct, noacct, ext
    senders; columns acct, noacct, ext recipients; a row 'F' = MAIL refused
    with 550 5.7.1) for a client at SOURCE, authenticated as USER when
    given.  One session, RSET between rows."""
    rows = table.split()
    c = session(s, source, user, listener)
    for (sender, sname), row in zip(senders, rows):
        r = c.cmd('MAIL FROM:<%s>' % sender)
        if row == 'F':      # a false rule: the sender is refused at MAIL
            check(t, r, REFUSED, '%s: MAIL FROM:<%s> refused' % (name, sender))
            continue
        if not check(t, r, (250, '2.1.0'), '%s: MAIL FROM:<%s>' % (name, sender)):
            c.cmd('RSET')
            continue
        for (rcpt, rname), letter in zip(RCPTS, row):
            check(t, c.cmd('RCPT TO:<%s>' % rcpt), want_of(letter, rcpt),
                  '%s: %s -> %s %s' % (name, sname, rname,
                                        'yes' if letter == 'Y' else 'no'))
        c.cmd('RSET')
    c.quit()


def mail_reply(s, sender, source='127.0.0.1', user=None):
    """The reply to MAIL FROM:<SENDER> (SENDER '' = <>)."""
    c = session(s, source, user)
    r = c.cmd('MAIL FROM:<%s>' % sender)
    c.quit()
    return r


def rcpt_reply(s, sender, rcpt, source='127.0.0.1', user=None):
    """The reply to RCPT TO:<RCPT> after MAIL FROM:<SENDER>."""
    c = session(s, source, user)
    r = c.cmd('MAIL FROM:<%s>' % sender)
    if r[0] == 250:
        r = c.cmd('RCPT TO:<%s>' % rcpt)
    c.quit()
    return r


def connect_reply(s, source='127.0.0.1'):
    """The greeting a client at SOURCE gets, and whether the server closed."""
    c = Client(s, source)
    g = c.greeting
    if g[0] == 220:
        c.quit()
        return g, False
    closed = c.line() is None
    c.close()
    return g, closed


def count(s, pattern):
    return len(re.findall(pattern, s.log()))


def reload(s, text=None, ok=True, name='effect.dat', conf=None):
    """Write TEXT to NAME (CONFDIR; None: leave it) and merge CONF
    ({section: {key: value}}; a value None removes the key) into
    yubin.conf, then SIGHUP; wait for the reload to finish (or to fail when
    OK is false) and, after a good one, for every worker of the old
    generation to be gone so no session sees the old rules."""
    before = set(s.children('smtp')) | set(s.children('pop3'))
    nok = count(s, r'reloaded configuration, generation')
    nbad = count(s, r'reload failed; keeping the running configuration')
    if text is not None:
        with open(os.path.join(s.etc, name), 'w') as f:
            f.write(text)
    if conf:
        for sec, kv in conf.items():
            d = s.sections.setdefault(sec, {})
            for k, v in kv.items():
                if v is None:
                    d.pop(k, None)
                else:
                    d[k] = v
        s.write_conf(s.sections)
    s.signal(signal.SIGHUP)
    if not ok:
        return wait_until(lambda: count(s, r'reload failed; keeping the running '
                                           r'configuration') > nbad)
    if not wait_until(lambda: count(s, r'reloaded configuration, generation') > nok):
        return False
    return wait_until(lambda: not ((set(s.children('smtp')) | set(s.children('pop3')))
                                   & before))


def pop_login(s, user, source='127.0.0.1'):
    """A POP3 USER/PASS login as USER from SOURCE; True when +OK."""
    for host, port in all_ports(s)['pop3']:
        if (':' in host) == (':' in source):
            break
    sock = socket.create_connection((host, port), timeout=30, source_address=(source, 0))
    r = Raw(sock)
    ok = r.line().startswith('+OK')
    r.send('USER %s\r\n' % user)
    ok = ok and r.line().startswith('+OK')
    r.send('PASS %s\r\n' % PW[user])
    ok = ok and r.line().startswith('+OK')
    r.send('QUIT\r\n')
    r.line()
    r.close()
    return ok


def yubind_t(s):
    """Run yubind -t on S's configuration: (exit status, stdout, stderr)."""
    import subprocess
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], env=s.env,
                       capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr
