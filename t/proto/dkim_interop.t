#!/usr/bin/env python3
# DKIM interoperability with dkimpy (Debian python3-dkim, python3-nacl for
# ed25519): what yubin signs dkimpy verifies, and what dkimpy signs (rsa
# and ed25519, relaxed and simple, with and without l=) yubin verifies.
# yubin's side is build/t/unit/dkim.t in its tool mode ("sign", "verify");
# keys come from openssl and are given to each side directly (dkimpy's
# dnsfunc, the tool's NAME TXT arguments): no DNS, no network.
import base64
import os
import shutil
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
sys.path.append('/usr/lib/python3/dist-packages')
from yubintest import TAP, BUILD

try:
    import dkim
    import nacl.signing  # noqa: F401  (dkimpy's ed25519)
except ImportError as e:
    print('1..0 # SKIP dkimpy or nacl missing (%s)' % e)
    sys.exit(0)
tool = os.path.join(BUILD, 't', 'unit', 'dkim.t')
if not os.path.exists(tool) or shutil.which('openssl') is None:
    print('1..0 # SKIP %s or openssl missing' % tool)
    sys.exit(0)

t = TAP()
tmp = tempfile.mkdtemp(prefix='yubin-dkim-')
NOW = 1700000000
DOMAIN = 'example.org'

MSGS = {
    'plain': 'From: Joe <joe@example.org>\nTo: Suzie <suzie@example.net>\n'
             'Subject: dinner\nDate: Fri, 1 Jan 2027 00:00:00 +0000\n'
             'Message-ID: <1@example.org>\n\nHi.\n\nWe lost the game.\n',
    'odd': 'From: joe@example.org\nSubject:   folded\n\t  over   lines  \n'
           'Cc: a@example.net,\n b@example.net\nX-Extra: x\n\n'
           'trailing space   \n\t tab line\t\n\n\n\n',
    'nobody': 'From: joe@example.org\nSubject: empty\n\n',
}


def openssl(*args, data=None):
    return subprocess.run(['openssl'] + list(args), input=data, capture_output=True,
                          check=True).stdout


def make_key(kind):
    path = os.path.join(tmp, kind + '.pem')
    if kind == 'rsa':
        openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048',
                '-out', path)
    else:
        openssl('genpkey', '-algorithm', 'ed25519', '-out', path)
    pub = openssl('pkey', '-in', path, '-pubout', '-outform', 'DER')
    der = openssl('pkey', '-in', path, '-outform', 'DER')
    with open(path, 'rb') as f:
        pem = f.read()
    if kind == 'rsa':
        rec = 'v=DKIM1; k=rsa; p=' + base64.b64encode(pub).decode()
        priv = pem
    else:
        rec = 'v=DKIM1; k=ed25519; p=' + base64.b64encode(pub[-32:]).decode()
        priv = base64.b64encode(der[-32:])     # dkimpy takes the seed
    return path, rec, priv


KEYS = {k: make_key(k) for k in ('rsa', 'ed25519')}
SEL = {'rsa': 'r1', 'ed25519': 'e1'}


def crlf(s):
    return s.replace('\n', '\r\n').encode()


def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    for k, (_, rec, _) in KEYS.items():
        if name.rstrip('.') == '%s._domainkey.%s' % (SEL[k], DOMAIN):
            return rec.encode()
    return None


def yubin_sign(kind, msg):
    r = subprocess.run([tool, 'sign', KEYS[kind][0], DOMAIN, SEL[kind], str(NOW)],
                       input=msg.encode(), capture_output=True)
    t.is_(r.returncode, 0, 'yubin signs %s' % kind) or t.diag(r.stderr.decode())
    return r.stdout.decode()


def yubin_verify(msg):
    args = [tool, 'verify', str(NOW)]
    for k in KEYS:
        args += ['%s._domainkey.%s' % (SEL[k], DOMAIN), KEYS[k][1]]
    r = subprocess.run(args, input=msg, capture_output=True)
    return r.stdout.decode().splitlines()


# yubin signs, dkimpy verifies
for kind in ('rsa', 'ed25519'):
    for name, msg in MSGS.items():
        field = yubin_sign(kind, msg)
        signed = crlf(field + msg)
        d = dkim.DKIM(signed)
        good = d.verify(dnsfunc=dnsfunc)
        t.ok(good, 'dkimpy verifies yubin %s, message %s' % (kind, name))
        bad = crlf(field + msg.replace('From: ', 'From: x', 1))
        t.ok(not dkim.DKIM(bad).verify(dnsfunc=dnsfunc),
             'dkimpy fails yubin %s, From changed, message %s' % (kind, name))

# dkimpy signs, yubin verifies
HEADERS = [b'from', b'to', b'cc', b'subject', b'date', b'message-id']
for kind in ('rsa', 'ed25519'):
    alg = b'rsa-sha256' if kind == 'rsa' else b'ed25519-sha256'
    for canon in ((b'relaxed', b'relaxed'), (b'simple', b'simple'),
                  (b'relaxed', b'simple'), (b'simple', b'relaxed')):
        for length in (False, True):
            for name, msg in MSGS.items():
                what = 'dkimpy %s %s/%s%s, message %s' % (
                    kind, canon[0].decode(), canon[1].decode(),
                    ' l=' if length else '', name)
                try:
                    sig = dkim.sign(crlf(msg), SEL[kind].encode(), DOMAIN.encode(),
                                    KEYS[kind][2], canonicalize=canon,
                                    signature_algorithm=alg,
                                    include_headers=HEADERS, length=length)
                except Exception as e:
                    t.ok(False, what + ': dkimpy signs')
                    t.diag(repr(e))
                    continue
                signed = (sig.decode().replace('\r\n', '\n') + msg).encode()
                got = yubin_verify(signed)
                t.ok(len(got) == 1 and got[0].startswith('pass %s %s %s 0' % (
                    DOMAIN, SEL[kind], alg.decode())), 'yubin verifies ' + what) \
                    or t.diag(got)
                if length and name != 'nobody':    # simple: l= covers its CRLF
                    got = yubin_verify(signed + b'appended\n')
                    t.ok(len(got) == 1 and got[0].startswith('pass %s %s %s 1' % (
                        DOMAIN, SEL[kind], alg.decode())),
                        'yubin: ' + what + ', text appended past l= is partial') \
                        or t.diag(got)
                if length and name == 'nobody' and canon[1] == b'relaxed':
                    continue    # l=0: nothing is signed to change
                got = yubin_verify(signed.replace(b'\n\n', b'\n\nX', 1))
                t.ok(len(got) == 1 and got[0].startswith('fail '),
                     'yubin fails ' + what + ', body changed') or t.diag(got)

shutil.rmtree(tmp)
t.done()
