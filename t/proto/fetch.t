#!/usr/bin/env python3
# Remote POP3 fetch (F072, F073): a second yubind is the remote POP3 server.
# Mail fetched exactly once, --keep, deletion without it, the interval,
# filters (deny-from, deny-mailer, accept-from) leaving mail on the server
# and reported, STLS and implicit TLS against the test CA, a wrong CA, a fake
# server that sends garbage, stalls, closes mid-RETR, sends an overlong line
# or a RETR longer than the size bound; the password stored encrypted; bad
# input to yubinctl fetch.
import os
import shutil
import socket
import stat
import sys
import tempfile
import threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, make_cert, wait_until

t = TAP()
SECRET = 'Remote-Secret-42'
REMOTE = {'rkeep': SECRET, 'rdel': SECRET, 'rfilt': SECRET, 'rtls': SECRET}
LOCAL = {n: 'pw' for n in ('alice', 'bob', 'carol', 'dave', 'erin', 'frank',
                           'gina', 'hank', 'ivy')}


def send(server, rcpt, subject, frm='sender@example.org', extra=''):
    msg = ('From: %s\r\nTo: %s\r\nSubject: %s\r\n%s\r\nbody of %s\r\n'
           % (frm, rcpt, subject, extra, subject)).encode()
    with server.smtp() as c:
        c.sendmail(frm, [rcpt], msg)


def subjects(server, account):
    out = []
    for m in server.mails(account):
        for line in m.split(b'\n'):
            if line.startswith(b'Subject: '):
                out.append(line[9:].strip().decode())
    return sorted(out)


def queue_empty(server):
    return wait_until(lambda: server.queue_files() == [])


class FakePop:
    """A POP3 server that misbehaves one way (MODE), one thread per client."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.cmds = []          # every command received, in order
        self.on_dele = None     # called before DELE is answered
        self.quit_fail = 0      # QUITs to answer with -ERR
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.client, args=(c,), daemon=True).start()

    def client(self, c):
        f = c.makefile('rb')
        try:
            if self.mode == 'garbage':
                c.sendall(b'HELLO there\r\n')
                f.readline()
                return
            if self.mode == 'longline':
                c.sendall(b'+OK ' + b'A' * 70000 + b'\r\n')
                f.readline()
                return
            c.sendall(b'+OK fake ready\r\n')
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.split()[0].upper() if line.split() else b''
                self.cmds.append(cmd.decode(errors='replace'))
                if cmd == b'DELE' and self.on_dele:
                    self.on_dele()
                if cmd == b'QUIT' and self.quit_fail > 0:
                    self.quit_fail -= 1
                    c.sendall(b'-ERR cannot apply the deletions\r\n')
                    return
                if self.mode == 'stall' and cmd == b'USER':
                    f.readline()        # never answers; the client gives up
                    return
                if cmd in (b'USER', b'PASS', b'DELE', b'NOOP'):
                    c.sendall(b'+OK\r\n')
                elif cmd == b'UIDL':
                    c.sendall(b'+OK\r\n1 fake-uid-1\r\n.\r\n')
                elif cmd == b'LIST':
                    c.sendall(b'+OK\r\n1 120\r\n.\r\n')
                elif cmd == b'TOP':
                    c.sendall(b'+OK\r\nFrom: x@example.org\r\nSubject: fake\r\n.\r\n')
                elif cmd == b'RETR':
                    c.sendall(b'+OK\r\nFrom: x@example.org\r\nSubject: fake\r\n\r\n'
                              b'first line\r\n')
                    if self.mode == 'longretr':
                        c.sendall(b'x' * 70000 + b'\r\nlast line\r\n')
                    if self.mode == 'midretr':
                        c.close()
                        return
                    if self.mode == 'endless':
                        chunk = b'..stuffed line of an endless message\r\n' * 1000
                        try:
                            for _ in range(100):
                                c.sendall(chunk)
                        except OSError:
                            pass
                        f.readline()
                        return
                    c.sendall(b'.\r\n')
                elif cmd == b'QUIT':
                    c.sendall(b'+OK bye\r\n')
                    return
                else:
                    c.sendall(b'-ERR what\r\n')
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.sock.close()


def fetch_add(s, account, host, user, *opts, password=SECRET + '\n'):
    return s.ctl('fetch', 'add', account, host, user, *opts, input=password, check=False)


with Server(accounts=REMOTE) as remote, \
        Server(accounts=LOCAL, conf={'pop3': {'fetch_timeout': '3s'},
                                     'smtp': {'max_message_size': '100K'}}) as local:
    pop = '127.0.0.1:%d' % remote.port('pop3')
    ca = os.path.join(remote.etc, 'cert.pem')

    # ---- bad input -------------------------------------------------------------
    r = fetch_add(local, 'nosuch', pop, 'rkeep')
    t.is_(r.returncode, 1, 'unknown account: exit 1')
    t.like(r.stderr, r"unknown account 'nosuch'", 'unknown account: says so')
    r = fetch_add(local, 'alice', '127.0.0.1:99999', 'rkeep')
    t.is_((r.returncode, 'bad port' in r.stderr), (1, True), 'bad port: exit 1 with a line')
    r = fetch_add(local, 'alice', 'bad_host!', 'rkeep')
    t.is_((r.returncode, 'bad host' in r.stderr), (1, True), 'bad host: exit 1 with a line')
    r = fetch_add(local, 'alice', pop, 'rkeep', password='\n')
    t.is_((r.returncode, 'empty password' in r.stderr), (1, True),
          'empty password: exit 1 with a line')
    r = fetch_add(local, 'alice', pop, 'rkeep', '--frobnicate')
    t.is_((r.returncode, "unknown option '--frobnicate'" in r.stderr), (1, True),
          'unknown option: exit 1 with a line')
    r = fetch_add(local, 'alice', pop, 'rkeep', '--interval', '5x')
    t.is_((r.returncode, 'bad interval' in r.stderr), (1, True), 'bad interval: exit 1')
    r = fetch_add(local, 'alice', pop, 'rkeep', '--tls', '--stls')
    t.is_(r.returncode, 1, '--tls with --stls: exit 1')
    r = local.ctl('fetch', 'del', 'alice', pop, 'nobody', check=False)
    t.is_((r.returncode, 'no fetch entry' in r.stderr), (1, True), 'del of no entry: exit 1')
    r = local.ctl('fetch', 'run', 'nosuch', check=False)
    t.is_(r.returncode, 1, 'run for an unknown account: exit 1')
    r = local.ctl('fetch', 'frob', check=False)
    t.is_(r.returncode, 1, 'unknown fetch command: exit 1')

    # ---- --keep: fetched once, left on the server --------------------------------
    for i in range(3):
        send(remote, 'rkeep@localhost', 'keep %d' % i)
    t.ok(remote.wait_mail('rkeep', 3), 'three mails in the remote mailbox')
    r = fetch_add(local, 'alice', pop, 'rkeep', '--keep', '--interval', '1d')
    t.is_(r.returncode, 0, 'fetch add --keep')
    r = local.ctl('fetch', 'run', 'alice', check=False)
    t.is_(r.returncode, 0, 'fetch run: exit 0')
    t.ok(local.wait_mail('alice', 3), 'three mails fetched into alice')
    t.ok(queue_empty(local), 'queue empty after delivery')
    t.is_(subjects(local, 'alice'), ['keep 0', 'keep 1', 'keep 2'], 'each fetched once')
    m = local.mails('alice')[0]
    t.like(m.decode(errors='replace'), r'(?s)^Return-Path: <sender@example.org>\n'
           r'Delivered-To: alice@localhost\nReceived: from 127\.0\.0\.1 .*with POP3',
           'stored with the trace lines and a POP3 Received field')
    t.is_(m.decode(errors='replace').count('Return-Path:'), 1, 'one Return-Path only')
    r = local.ctl('fetch', 'run', 'alice', check=False)
    t.like(r.stdout, r'fetched 0, left 0, deleted 0', 'second run fetches nothing')
    t.ok(queue_empty(local), 'nothing queued by the second run')
    t.is_(len(local.mails('alice')), 3, 'still three mails: nothing twice')
    t.is_(len(remote.mails('rkeep')), 3, '--keep leaves them on the server')
    send(remote, 'rkeep@localhost', 'keep 3')
    t.ok(remote.wait_mail('rkeep', 4), 'a fourth remote mail')
    r = local.ctl('fetch', 'run', 'alice', check=False)
    t.like(r.stdout, r'fetched 1,', 'the next run fetches only the new one')
    t.ok(local.wait_mail('alice', 4) and queue_empty(local), 'delivered')
    t.is_(subjects(local, 'alice'), ['keep 0', 'keep 1', 'keep 2', 'keep 3'],
          'four distinct mails')
    out = local.ctl('fetch', 'list').stdout
    t.like(out, r'alice 127\.0\.0\.1:%d rkeep tls=none interval=86400s keep=yes '
           r'fetched=4 left=0 last=\S+ status=ok' % remote.port('pop3'), 'fetch list line')
    t.ok(SECRET not in out, 'fetch list shows no password')

    # the password is stored encrypted, the key file is private
    key = os.path.join(local.home, 'state', 'fetch.key')
    t.is_(stat.S_IMODE(os.stat(key).st_mode), 0o600, 'fetch.key is mode 0600')
    with open(os.path.join(local.home, 'state', 'data.mdb'), 'rb') as f:
        t.ok(SECRET.encode() not in f.read(), 'no clear password in the store')

    # ---- without --keep: deleted remotely; the interval fetches by itself -------
    for i in range(2):
        send(remote, 'rdel@localhost', 'del %d' % i)
    t.ok(remote.wait_mail('rdel', 2), 'two mails in rdel')
    r = fetch_add(local, 'bob', pop, 'rdel', '--interval', '1s')
    t.is_(r.returncode, 0, 'fetch add without --keep, interval 1s')
    t.ok(local.wait_mail('bob', 2), 'fetched by the fetch process on its own')
    t.ok(wait_until(lambda: remote.mails('rdel') == []), 'deleted on the server')
    send(remote, 'rdel@localhost', 'del 2')
    t.ok(local.wait_mail('bob', 3), 'a new remote mail arrives on the next interval')
    t.ok(wait_until(lambda: remote.mails('rdel') == []), 'and is deleted remotely')
    t.ok(queue_empty(local), 'queue empty')
    t.is_(subjects(local, 'bob'), ['del 0', 'del 1', 'del 2'], 'each once')
    r = local.ctl('fetch', 'del', 'bob', pop, 'rdel', check=False)
    t.is_(r.returncode, 0, 'fetch del')
    t.ok('rdel' not in local.ctl('fetch', 'list').stdout, 'gone from fetch list')

    # ---- filters: deny wins, left mail reported -----------------------------------
    send(remote, 'rfilt@localhost', 'spam', frm='spam@bad.example')
    send(remote, 'rfilt@localhost', 'mailer', frm='news@ok.example',
         extra='X-Mailer: SpamCannon 2.0\r\n')
    send(remote, 'rfilt@localhost', 'good', frm='friend@ok.example')
    t.ok(remote.wait_mail('rfilt', 3), 'three mails in rfilt')
    r = fetch_add(local, 'carol', pop, 'rfilt', '--interval', '1d',
                  '--accept-from', '*.example', '--deny-from', '*@bad.example',
                  '--deny-mailer', '*spamcannon*')
    t.is_(r.returncode, 0, 'fetch add with filters')
    r = local.ctl('fetch', 'run', 'carol', check=False)
    t.like(r.stdout, r'fetched 1, left 2, deleted 1', 'one fetched, two left')
    t.ok(local.wait_mail('carol', 1) and queue_empty(local), 'delivered')
    t.is_(subjects(local, 'carol'), ['good'], 'only the accepted mail fetched')
    t.is_(sorted(subjects(remote, 'rfilt')), ['mailer', 'spam'],
          'filtered mails left on the server')
    out = local.ctl('fetch', 'list').stdout
    t.like(out, r'carol .* fetched=1 left=2 ', 'fetch list counts the left mails')
    t.like(out, r'left \S+: deny-from from=<spam@bad\.example>', 'report: deny-from')
    t.like(out, r'left \S+: deny-mailer mailer="SpamCannon 2\.0"', 'report: deny-mailer')
    t.like(r.stderr, r'account=carol .*: left on the server uidl=\S+: deny-from', 'logged')
    r = local.ctl('fetch', 'run', 'carol', check=False)
    t.like(r.stdout, r'fetched 0, left 2', 'second run: still left, nothing fetched')
    t.is_(len(local.mails('carol')), 1, 'carol still has one mail')
    # accept-from alone: a sender outside it is left
    r = fetch_add(local, 'dave', pop, 'rfilt', '--interval', '1d', '--keep',
                  '--accept-from', '*@bad.example')
    r = local.ctl('fetch', 'run', 'dave', check=False)
    t.like(r.stdout, r'fetched 1, left 1', 'accept-from: one in, one left')
    t.ok(local.wait_mail('dave', 1) and queue_empty(local), 'delivered')
    t.is_(subjects(local, 'dave'), ['spam'], 'the accepted sender only')

    # ---- TLS: STLS and implicit TLS with the test CA; a wrong CA fails ---------
    send(remote, 'rtls@localhost', 'tls 0')
    t.ok(remote.wait_mail('rtls', 1), 'a mail in rtls')
    r = fetch_add(local, 'erin', pop, 'rtls', '--stls', '--ca', ca, '--keep',
                  '--interval', '1d')
    t.is_(r.returncode, 0, 'fetch add --stls --ca')
    r = local.ctl('fetch', 'run', 'erin', check=False)
    t.is_((r.returncode, 'fetched 1,' in r.stdout), (0, True), 'fetched over STLS')
    t.ok(local.wait_mail('erin', 1), 'delivered')
    r = fetch_add(local, 'hank', '127.0.0.1:%d' % remote.port('pop3s'), 'rtls', '--tls',
                  '--ca', ca, '--keep', '--interval', '1d')
    r = local.ctl('fetch', 'run', 'hank', check=False)
    t.is_((r.returncode, 'fetched 1,' in r.stdout), (0, True), 'fetched over implicit TLS')
    other = tempfile.mkdtemp(prefix='yubin-t-ca-')
    os.chmod(other, 0o755)          # the server user reads it (tests as root)
    wrong_ca, _ = make_cert(other)
    r = fetch_add(local, 'frank', pop, 'rtls', '--stls', '--ca', wrong_ca, '--keep',
                  '--interval', '1d')
    shutil.rmtree(other, ignore_errors=True)
    r = fetch_add(local, 'frank', pop, 'rtls', '--stls', '--ca', wrong_ca, '--keep')
    t.is_((r.returncode, 'No such file' in r.stderr), (1, True),
          'a CA file that is not there: exit 1')
    os.makedirs(other)
    os.chmod(other, 0o700)
    wrong_ca, _ = make_cert(other)
    if os.geteuid() == 0:
        r = fetch_add(local, 'frank', pop, 'rtls', '--stls', '--ca', wrong_ca)
        t.is_((r.returncode, 'Permission denied' in r.stderr), (1, True),
              'a CA file the server user cannot read: exit 1')
    os.chmod(other, 0o755)
    r = local.ctl('fetch', 'run', 'frank', check=False)
    t.is_(r.returncode, 2, 'wrong CA: fetch run exits 2')
    t.like(r.stderr, r'certificate verif', 'wrong CA: certificate verification failed')
    t.is_(local.mails('frank'), [], 'wrong CA: nothing fetched')
    out = local.ctl('fetch', 'list').stdout
    t.like(out, r'frank .* status=TLS certificate verification failed', 'list shows the error')
    shutil.rmtree(other, ignore_errors=True)

    # ---- a misbehaving server: logged, nothing half-delivered, yubind serves on --
    cases = [('garbage', r'not a POP3 reply'), ('longline', r'line too long'),
             ('stall', r'timeout'), ('midretr', r'connection closed'),
             ('endless', r'more than \d+ octets')]
    for mode, pattern in cases:
        fake = FakePop(mode)
        r = fetch_add(local, 'gina', '127.0.0.1:%d' % fake.port, 'u', '--interval', '1d')
        t.is_(r.returncode, 0, '%s: fetch add' % mode)
        r = local.ctl('fetch', 'run', 'gina', check=False)
        t.is_(r.returncode, 2, '%s: fetch run exits 2' % mode)
        t.like(r.stderr, pattern, '%s: the error says why' % mode)
        t.like(r.stderr, r'fetch account=gina server=127\.0\.0\.1:%d user=u: failed .*%s'
               % (fake.port, pattern), '%s: logged' % mode)
        t.ok(queue_empty(local), '%s: nothing left in the queue' % mode)
        t.is_(local.mails('gina'), [], '%s: nothing delivered' % mode)
        local.ctl('fetch', 'del', 'gina', '127.0.0.1', 'u')
        fake.close()
    # a message with a line over the bound cannot be taken whole: it is
    # left on the server (and reported), the run goes on
    fake = FakePop('longretr')
    r = fetch_add(local, 'gina', '127.0.0.1:%d' % fake.port, 'u', '--interval', '1d')
    r = local.ctl('fetch', 'run', 'gina', check=False)
    t.is_((r.returncode, 'fetched 0, left 1, deleted 0' in r.stdout), (0, True),
          'a line over 64 KiB: the message is left, the run succeeds')
    t.like(local.ctl('fetch', 'list').stdout, r'left fake-uid-1: a line over 65536 octets',
           'and reported')
    t.ok('DELE' not in fake.cmds, 'not deleted on the server')
    t.ok(queue_empty(local) and local.mails('gina') == [], 'nothing delivered')
    local.ctl('fetch', 'del', 'gina', '127.0.0.1', 'u')
    fake.close()

    # the order that makes a cut run safe: queued and remembered, then
    # DELE; a run whose QUIT fails (deletions not applied) is followed by
    # one that deletes the remembered message without fetching it again
    fake = FakePop('good')
    fake.quit_fail = 1
    at_dele = []
    fake.on_dele = lambda: at_dele.append(len(local.queue_files()) + len(local.mails('ivy')))
    r = fetch_add(local, 'ivy', '127.0.0.1:%d' % fake.port, 'u', '--interval', '1d')
    r = local.ctl('fetch', 'run', 'ivy', check=False)
    t.is_((r.returncode, 'QUIT: -ERR cannot apply the deletions' in r.stderr), (2, True),
          'a failed QUIT fails the run')
    t.is_(at_dele, [1], 'the message was queued before its DELE was sent')
    t.ok(local.wait_mail('ivy', 1), 'and delivered')
    r = local.ctl('fetch', 'run', 'ivy', check=False)
    t.like(r.stdout, r'fetched 0, left 0, deleted 1', 'the next run deletes it, fetches nothing')
    t.is_(fake.cmds.count('RETR'), 1, 'RETR sent once in both runs')
    t.ok(queue_empty(local), 'nothing queued')
    t.is_(len(local.mails('ivy')), 1, 'one copy only')
    fake.close()
    t.ok(local.children('fetch') != [], 'the fetch process is still running')
    send(local, 'gina@localhost', 'still serving')
    t.ok(local.wait_mail('gina', 1), 'yubind still accepts and delivers mail')
    t.ok(wait_until(lambda: 'rfilt' in local.ctl('fetch', 'list').stdout),
         'entries intact')
    local.ctl('account', 'del', 'hank')
    out = local.ctl('fetch', 'list').stdout
    t.ok('hank' not in out and 'erin' in out, "account del removes the account's entries")

t.done()
