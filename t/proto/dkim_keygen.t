#!/usr/bin/env python3
# yubinctl dkim keygen (DESIGN §12): RSA and Ed25519 keys in CONFDIR/dkim
# with their modes and owners, the dkim.dat line and the TXT record, and
# every refusal: bad names, RSA sizes, an existing key without --force.
# The key made signs (build/t/unit/dkim.t sign) and verifies against the
# record printed.
import grp
import os
import re
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, BUILD

t = TAP()
s = Server(start=False, tls=False)
kdir = os.path.join(s.etc, 'dkim')
tool = os.path.join(BUILD, 't', 'unit', 'dkim.t')
MSG = 'From: a@example.org\nTo: b@example.net\nSubject: hi\n\nbody\n'


def fails(args, err, name):
    r = s.ctl('dkim', *args, check=False)
    t.is_(r.returncode, 1, name + ': exit 1')
    t.like(r.stderr, err, name + ': message')


def txt_of(out):
    m = re.search(r'^(\S+) IN TXT((?: "[^"]*")+)$', out, re.M)
    if not m:
        return None, None
    return m.group(1), ''.join(re.findall(r'"([^"]*)"', m.group(2)))


def signs(keyfile, domain, sel, out, name):
    qname, txt = txt_of(out)
    t.is_(qname, '%s._domainkey.%s' % (sel, domain), name + ': record name')
    t.ok(txt is not None and txt.startswith('v=DKIM1; k='), name + ': record text')
    if not os.path.exists(tool):
        t.ok(False, name + ': %s missing' % tool)
        return
    r = subprocess.run([tool, 'sign', keyfile, domain, sel, '1700000000'],
                       input=MSG, capture_output=True, text=True)
    t.is_(r.returncode, 0, name + ': the key signs') or t.diag(r.stderr)
    r = subprocess.run([tool, 'verify', '1700000000', qname, txt or ''],
                       input=r.stdout + MSG, capture_output=True, text=True)
    t.like(r.stdout, r'^pass ', name + ': and verifies against the record')


r = s.ctl('dkim', 'keygen', 'example.org', 'sel1', check=False)
t.is_(r.returncode, 0, 'keygen rsa default') or t.diag(r.stderr)
key = os.path.join(kdir, 'example.org.sel1.key')
lines = r.stdout.splitlines()
t.is_(lines[0] if lines else '', 'example.org sel1 %s' % key, 'the dkim.dat line')
st = os.stat(key)
t.is_(st.st_mode & 0o777, 0o640, 'key mode 0640')
t.is_(os.stat(kdir).st_mode & 0o777, 0o750, 'folder mode 0750')
if os.geteuid() == 0:
    gid = grp.getgrnam('nogroup').gr_gid
    t.ok(st.st_uid == 0 and st.st_gid == gid, 'key root:nogroup')
    d = os.stat(kdir)
    t.ok(d.st_uid == 0 and d.st_gid == gid, 'folder root:nogroup')
with open(key) as f:
    t.like(f.read(), r'^-----BEGIN PRIVATE KEY-----\n', 'PEM private key')
qn, txt = txt_of(r.stdout)
t.ok(txt and 'k=rsa;' in txt and len(txt) > 255, 'an RSA record longer than one string')
t.ok(all(len(x) <= 255 for x in re.findall(r'"([^"]*)"', r.stdout)),
     'each string at most 255 bytes')
t.ok(len(re.findall(r'"([^"]*)"', r.stdout)) >= 2, 'split into strings')
signs(key, 'example.org', 'sel1', r.stdout, 'rsa 2048')
t.ok(not [n for n in os.listdir(kdir) if n.startswith('.')], 'no scratch file left')

r = s.ctl('dkim', 'keygen', 'example.org', 'ed', '--ed25519', check=False)
t.is_(r.returncode, 0, 'keygen ed25519') or t.diag(r.stderr)
qn, txt = txt_of(r.stdout)
t.like(txt or '', r'^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$', 'the Ed25519 record')
signs(os.path.join(kdir, 'example.org.ed.key'), 'example.org', 'ed', r.stdout, 'ed25519')

r = s.ctl('dkim', 'keygen', 'example.net', 'big', '--rsa', '3072', check=False)
t.is_(r.returncode, 0, 'keygen --rsa 3072') or t.diag(r.stderr)

with open(key) as f:
    before = f.read()
fails(['keygen', 'example.org', 'sel1'], r'exists \(--force replaces it\)',
      'an existing key')
with open(key) as f:
    t.is_(f.read(), before, 'and it is unchanged')
r = s.ctl('dkim', 'keygen', 'example.org', 'sel1', '--force', check=False)
t.is_(r.returncode, 0, '--force replaces it') or t.diag(r.stderr)
with open(key) as f:
    t.ok(f.read() != before, 'a new key')
t.is_(os.stat(key).st_mode & 0o777, 0o640, 'replaced key mode 0640')

fails(['keygen', 'example.org', 's', '--rsa', '1024'], r'RSA keys are 2048 to 4096 bits',
      'RSA 1024')
fails(['keygen', 'example.org', 's', '--rsa', '8192'], r'RSA keys are 2048 to 4096 bits',
      'RSA 8192')
fails(['keygen', 'example.org', 's', '--rsa', 'lots'], r'not a number', 'RSA bits not a number')
for bad, what in (('../etc', 'dots'), ('a/b', 'slash'), ('-x.org', 'leading dash'),
                  ('a..b', 'empty label'), ('', 'empty'), ('x' * 64 + '.org', 'long label'),
                  ('a_b.org', 'underscore'), ('a b', 'space')):
    fails(['keygen', bad, 's'], r'bad domain', 'domain refused: ' + what)
    fails(['keygen', 'example.org', bad], r'bad selector', 'selector refused: ' + what)
fails(['keygen', 'example.org'], r'usage', 'no selector')
fails(['keygen', 'example.org', 's', '--dsa'], r'usage', 'unknown option')
fails(['nothing'], r'usage', 'unknown subcommand')
t.ok(not os.path.exists(os.path.join(kdir, 'example.org.s.key')), 'no key made by a refusal')
s.cleanup()
t.done()
