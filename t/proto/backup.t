#!/usr/bin/env python3
# yubinctl backup / restore (F150): a home with accounts, rule files,
# per-account files and a run-time block is backed up, restored into a
# fresh home, and served again: old passwords log in, the restored
# mail.dat and alias.dat act.  A damaged, altered, newer or crafted file,
# a home in use and a running yubind are refused with nothing changed.
import hashlib
import os
import smtplib
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, binary  # noqa: E402

t = TAP()

RULES = '''Virus:refuse
Subject:refuse-me
Level:100
VirusEnd:

Virus:register
Subject:block-me
Level:101
VirusEnd:
'''
CONF = {'server': {'plugins': 'relay quota maildat'}, 'plugin maildat': {}}
ACCOUNTS = {'alice': 'alice-old-pw', 'bob': ('bob-old-pw', ['--apop'])}


def ctl(conf, home, *args):
    argv = [binary('yubinctl'), '-c', conf]
    if home:
        argv += ['-D', 'server.home=' + home]
    return subprocess.run(argv + list(args), capture_output=True, text=True)


def send(s, subject, rcpt='alice@localhost', source=None):
    """SMTP code of sending a message with SUBJECT to RCPT."""
    c = s.smtp(source=source)
    try:
        msg = 'From: dave@example.org\r\nTo: %s\r\nSubject: %s\r\n\r\nhi\r\n' % (rcpt, subject)
        c.sendmail('dave@example.org', [rcpt], msg.encode())
        return 250
    except smtplib.SMTPResponseException as e:
        return e.smtp_code
    except smtplib.SMTPRecipientsRefused as e:
        return list(e.recipients.values())[0][0]
    finally:
        try:
            c.quit()
        except Exception:
            pass


def snapshot(*dirs):
    """Every path under DIRS with its size and mtime (what 'nothing changed' means)."""
    out = {}
    for d in dirs:
        for root, subdirs, files in os.walk(d):
            for n in subdirs + files:
                p = os.path.join(root, n)
                st = os.lstat(p)
                out[p] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


def seal(body):
    """BODY (bytes from the header line on) with a correct end record."""
    return body + b'end ' + hashlib.sha256(body).hexdigest().encode() + b'\n'


A = Server(conf=CONF, accounts=ACCOUNTS, files={
    'mail.dat': RULES, 'alias.dat': 'info@localhost alice@localhost\n'})
t.on_fail.append(lambda: t.diag(A.log()[-3000:]))
B = None
try:
    # state to keep: a block, per-account files, a stored message (not kept)
    t.is_(send(A, 'block-me', source='127.0.0.7'), 550, 'register rule blocks 127.0.0.7')
    t.like(A.ctl('block', 'list').stdout, r'127\.0\.0\.7', 'the block is in LMDB')
    A.ctl('account', 'set', 'alice', 'send_max_during_a_day=7')
    adir = os.path.join(A.home, 'mailbox', 'alice')
    with open(os.path.join(adir, 'PERMITFROM.TXT'), 'wb') as f:
        f.write(b'friend@example.org\r\n\x00binary\xff\n')
    os.chmod(os.path.join(adir, 'PERMITFROM.TXT'), 0o640)
    with open(os.path.join(adir, 'exec7.def'), 'w') as f:
        f.write('# a hook file\n')
    A.ctl('ml', 'create', 'news', 'list-pw')
    A.ctl('ml', 'add', 'news', 'Carol <carol@example.org>', 'dan@example.net')
    t.is_(send(A, 'kept in A only'), 250, 'a message for alice')
    t.ok(A.wait_mail('alice', 1), 'stored in A')

    bfile = os.path.join(A.tmp, 'settings.ybk')
    r = A.ctl('backup', bfile, check=False)
    t.is_(r.returncode, 0, 'backup exits 0 while yubind runs')
    t.like(r.stdout, r'backup written: .*\(4 accounts, \d+ files\)', 'backup reports what it holds')
    t.is_(r.stderr, '', 'nothing left out: no note')
    t.is_(stat.S_IMODE(os.stat(bfile).st_mode), 0o600, 'the backup is mode 0600')
    t.ok(not os.path.exists(bfile + '.tmp'), 'no scratch file left')
    data = open(bfile, 'rb').read()
    t.ok(data.startswith(b'yubin-backup 1\n'), 'versioned header line')
    t.ok(b'friend@example.org' in data and b'$scrypt$' in data, 'account files and hashes inside')
    t.ok(b'kept in A only' not in data, 'the Maildir is not in it')

    r = ctl(A.conf_path, None, 'backup', os.path.join(A.tmp, 'nope', 'x.ybk'))
    t.is_(r.returncode, 2, 'backup to an unwritable place: exit 2')
    t.like(r.stderr, r'^yubinctl: .*nope/x\.ybk\.tmp: No such file', 'one line naming the file')
    other = os.path.join(A.tmp, 'other.ybk')
    r = subprocess.run([binary('yubinctl'), '-c', A.conf_path, '-D',
                        'server.tls_key=/elsewhere/key.pem', 'backup', other],
                       capture_output=True, text=True)
    t.is_(r.returncode, 0, 'backup with a TLS key outside CONFDIR')
    t.like(r.stderr, r'^yubinctl: note: /elsewhere/key\.pem \(server\.tls_key\) is outside '
           r'\S+/etc and not in the backup$', 'names the file it leaves out')
    r = ctl(A.conf_path, None, 'backup')
    t.is_(r.returncode, 1, 'backup without FILE: exit 1')

    # refusals against A itself: running, then in use
    before = snapshot(A.etc, os.path.join(A.home, 'mailbox'))
    r = A.ctl('restore', bfile, '--force', check=False)
    t.is_(r.returncode, 2, 'restore while yubind runs on the home: exit 2, even --force')
    t.like(r.stderr, r'^yubinctl: yubind is running \(pid \d+\)', 'says yubind is running')
    A.stop()
    r = A.ctl('restore', bfile, check=False)
    t.is_(r.returncode, 1, 'restore into a home in use: exit 1')
    t.like(r.stderr, r'is in use \(3 accounts, 3 account folders.*--force', 'says why and how')
    t.is_(snapshot(A.etc, os.path.join(A.home, 'mailbox')), before, 'nothing changed in A')

    # the fresh home, made by setup
    B = Server(start=False)
    bconf_before = open(B.conf_path).read()
    bad = os.path.join(B.tmp, 'bad.ybk')

    def refused(content, pattern, name):
        with open(bad, 'wb') as f:
            f.write(content)
        before = snapshot(B.etc, B.home)
        r = ctl(B.conf_path, B.home, 'restore', bad)
        t.is_(r.returncode, 1, name + ': exit 1')
        t.like(r.stderr, pattern, name + ': one precise line')
        t.is_(len(r.stderr.splitlines()), 1, name + ': one line only')
        t.is_(snapshot(B.etc, B.home), before, name + ': nothing changed')

    refused(data[:len(data) // 2], r'bad\.ybk: truncated \(no end record\); nothing restored',
            'truncated file')
    refused(data[:-40], r'truncated', 'file cut in its checksum')
    flip = bytearray(data)
    flip[len(data) // 3] ^= 0x01
    refused(bytes(flip), r'bad\.ybk: checksum mismatch: the file is damaged or was altered',
            'one flipped byte')
    refused(data.replace(b'yubin-backup 1\n', b'yubin-backup 2\n', 1),
            r'backup format version 2 is newer than this yubinctl reads \(1\)', 'newer version')
    refused(b'hello\n', r'not a yubin backup', 'not a backup')
    refused(seal(b'yubin-backup 1\netc ../evil 644 0 2\nx\n\n'),
            r"record 1: '\.\./evil': not a file name under the configuration folder", 'etc path with ..')
    refused(seal(b'yubin-backup 1\netc /tmp/evil 644 0 2\nx\n\n'),
            r"record 1: '/tmp/evil': not a file name", 'absolute etc path')
    acct = data[data.index(b'account alice '):]
    acct = acct[:acct.index(b'\naccount bob ') + 1]
    refused(seal(b'yubin-backup 1\n' + acct + b'file alice/../../evil 644 0 2\nx\n\n'),
            r"record 2: 'alice/\.\./\.\./evil': not ACCOUNT/FILE", 'account file path with ..')
    refused(seal(b'yubin-backup 1\n' + acct + b'file alice/.bashrc 644 0 2\nx\n\n'),
            r"not ACCOUNT/FILE of a file an account folder holds", 'a file no account folder holds')
    refused(seal(b'yubin-backup 1\nfile ../x/config.def 644 0 2\nx\n\n'),
            r"record 1: '\.\./x/config\.def': ", 'bad account name in a file record')
    refused(seal(b'yubin-backup 1\naccount Bad!name 0 0 3\nv1\n\n'),
            r"record 1: account 'Bad!name': ", 'bad account name')
    refused(seal(b'yubin-backup 1\nmeta 6c6f67696e2f78 0 0 1\n1\n\n'),
            r'record 1: a meta key a backup does not keep', 'a store key outside the kept ones')
    refused(seal(b'yubin-backup 1\netc a 644 0 99\nx\n'), r'record 1: record length past its end',
            'record longer than the file')
    t.is_(open(B.conf_path).read(), bconf_before, "B's yubin.conf untouched by the refusals")

    r = ctl(B.conf_path, B.home, 'restore', bfile)
    t.is_(r.returncode, 0, 'restore into the fresh home: exit 0')
    t.diag(r.stderr) if r.returncode else None
    t.like(r.stdout, r'restored .* into %s: 4 accounts, 5 account files' % B.home,
           'restore reports what it did')
    t.is_(open(B.conf_path).read(), open(A.conf_path).read(), 'yubin.conf put back')
    for n in ('mail.dat', 'alias.dat', 'cert.pem', 'key.pem'):
        t.is_(open(os.path.join(B.etc, n), 'rb').read(), open(os.path.join(A.etc, n), 'rb').read(),
              'CONFDIR/%s restored' % n)
    t.is_(stat.S_IMODE(os.stat(os.path.join(B.etc, 'key.pem')).st_mode),
          stat.S_IMODE(os.stat(os.path.join(A.etc, 'key.pem')).st_mode), 'with its mode')
    bdir = os.path.join(B.home, 'mailbox', 'alice')
    t.is_(open(os.path.join(bdir, 'PERMITFROM.TXT'), 'rb').read(),
          b'friend@example.org\r\n\x00binary\xff\n', 'per-account file, binary safe')
    t.is_(stat.S_IMODE(os.stat(os.path.join(bdir, 'PERMITFROM.TXT')).st_mode), 0o640,
          'per-account file keeps its mode')
    if os.geteuid() == 0:
        import pwd
        nobody = pwd.getpwnam('nobody').pw_uid
        t.is_(os.stat(os.path.join(bdir, 'PERMITFROM.TXT')).st_uid, nobody,
              'as root: account files belong to the server user')
        t.is_(os.stat(bdir).st_uid, nobody, 'as root: so does the account folder')
        t.is_(os.stat(os.path.join(B.etc, 'mail.dat')).st_uid, 0,
              "as root: CONFDIR's files stay root's")
    else:
        for _ in range(3):
            t.ok(True, '# SKIP ownership: not root')
    t.like(open(os.path.join(bdir, 'config.def')).read(), r'send_max_during_a_day=7',
           'config.def restored')
    t.ok(os.path.exists(os.path.join(bdir, 'exec7.def')), 'exec7.def restored')
    t.is_(B.mails('alice'), [], 'the Maildir starts empty')
    t.ok(os.path.isdir(os.path.join(B.home, 'mailbox', 'bob', 'Maildir', 'new')),
         "bob's Maildir made")

    r = ctl(B.conf_path, B.home, 'ml', 'list', 'news')
    t.like(r.stdout, r'carol@example\.org[\s\S]*dan@example\.net', 'the list and its members came back')

    B.defines = ['server.home=' + B.home]
    B.start()
    t.on_fail.append(lambda: t.diag(B.log()[-3000:]))
    p = B.pop3()
    t.like(p.user('alice').decode(), r'^\+OK', 'POP3 USER on the restored server')
    t.like(p.pass_('alice-old-pw').decode(), r'^\+OK', 'alice logs in with her old password')
    p.quit()
    p = B.pop3()
    t.like(p.apop('bob', 'bob-old-pw').decode(), r'^\+OK', 'bob logs in by APOP: the secret came back')
    p.quit()
    t.is_(send(B, 'refuse-me'), 550, 'the restored mail.dat refuses')
    t.is_(send(B, 'for info', rcpt='info@localhost'), 250, 'mail to an alias')
    t.ok(B.wait_mail('alice', 1), 'the restored alias.dat delivers it to alice')
    r = ctl(B.conf_path, B.home, 'block', 'list')
    t.like(r.stdout, r'127\.0\.0\.7', 'the run-time block came back')
    try:
        c = B.smtp(source='127.0.0.7')
        code = c.ehlo()[0]
        c.quit()
    except (smtplib.SMTPException, OSError):
        code = None
    t.ok(code is None or code >= 400, 'and the blocked client is refused')

    r = ctl(B.conf_path, B.home, 'restore', bfile, '--force')
    t.is_(r.returncode, 2, 'restore onto the running B: exit 2')
    B.stop()
    r = ctl(B.conf_path, B.home, 'restore', bfile)
    t.is_(r.returncode, 1, 'B now in use: exit 1 without --force')
    r = ctl(B.conf_path, B.home, 'restore', '--force', bfile)
    t.is_(r.returncode, 0, 'restore --force over it: exit 0')
    t.ok(B.wait_mail('alice', 1, timeout=1), '--force keeps the mail already there')
    r = ctl(B.conf_path, B.home, 'restore', bfile, 'extra')
    t.is_(r.returncode, 1, 'restore with a stray argument: exit 1')
    t.like(r.stderr, r'usage: yubinctl restore FILE \[--force\]', 'usage line')
finally:
    A.cleanup()
    if B:
        B.cleanup()
t.done()
