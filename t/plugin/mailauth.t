#!/usr/bin/env python3
# mailauth: mail from outside gets exactly one Authentication-Results
# field with SPF, DKIM and DMARC results; fields from outside that claim
# our authserv-id are removed and others kept; dmarc_enforce refuses a
# p=reject failure with 550 5.7.1 and marks a p=quarantine one; mail of
# an authenticated sender is DKIM-signed (checked with dkimpy) and gets
# no field of ours; dkim.dat errors name file:line and the key file; a
# dead DNS server gives temperror and the mail is still taken; clients in
# address_permits_relay are signed like local senders unless
# sign_relay_clients = 0.  DNS is
# dnsmasq on loopback.
import base64
import os
import re
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
sys.path.append('/usr/lib/python3/dist-packages')
from yubintest import Server, TAP, Dnsmasq, binary, data_code, send_authed, free_port

try:
    import dkim
except ImportError:
    dkim = None

t = TAP()
ID = 'mx.test.invalid'        # smtp.hostname of the test server
keydir = tempfile.mkdtemp(prefix='yubin-dkim-')


def openssl(*args):
    return subprocess.run(['openssl'] + list(args), check=True,
                          capture_output=True).stdout


rsa = os.path.join(keydir, 'rsa.pem')
ed = os.path.join(keydir, 'ed.pem')
openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', rsa)
openssl('genpkey', '-algorithm', 'ED25519', '-out', ed)
os.chmod(rsa, 0o644)
os.chmod(ed, 0o644)
rsa_pub = base64.b64encode(openssl('pkey', '-in', rsa, '-pubout', '-outform', 'DER')).decode()
ed_pub = base64.b64encode(openssl('pkey', '-in', ed, '-pubout', '-outform', 'DER')[-32:]).decode()
KEYREC = {b'rsa._domainkey.sign.test.': 'v=DKIM1; k=rsa; p=' + rsa_pub,
          b'ed._domainkey.sign.test.': 'v=DKIM1; k=ed25519; p=' + ed_pub}


def txt(name, value):
    # dnsmasq splits TXT at commas: none in these values
    return '--txt-record=%s,%s' % (name, value)


dns = Dnsmasq([txt('spf.test', 'v=spf1 ip4:127.0.0.1 -all'),
               txt('_dmarc.spf.test', 'v=DMARC1; p=reject'),
               txt('sign.test', 'v=spf1 -all'),
               txt('_dmarc.sign.test', 'v=DMARC1; p=reject'),
               txt('rsa._domainkey.sign.test', KEYREC[b'rsa._domainkey.sign.test.']),
               txt('ed._domainkey.sign.test', KEYREC[b'ed._domainkey.sign.test.']),
               txt('_dmarc.rej.test', 'v=DMARC1; p=reject'),
               txt('_dmarc.quar.test', 'v=DMARC1; p=quarantine')])
if not dns.available:
    print('1..0 # SKIP dnsmasq not installed')
    sys.exit(0)

ACC = {'alice': 'pw', 'bob': 'pw'}
DKIMDAT = 'sign.test rsa %s\nsign.test ed %s\n# comment\n' % (rsa, ed)


def msg(frm, extra=''):
    return ('%sFrom: %s\r\nTo: bob@localhost\r\nSubject: hi\r\n'
            'Message-ID: <%s@x>\r\n\r\nbody line\r\n' % (extra, frm, os.urandom(4).hex())).encode()


def last(s, account, n):
    t.ok(s.wait_mail(account, n), '%s has %d mail(s)' % (account, n))
    return sorted(s.mails(account), key=len)[-1] if n else b''


def ar_fields(m):
    head = m.split(b'\n\n', 1)[0].decode('utf-8', 'replace')
    return re.findall(r'(?mi)^Authentication-Results:[^\n]*(?:\n[ \t][^\n]*)*', head)


def by_mtime(s, account):
    d = os.path.join(s.maildir(account), 'new')
    files = sorted(os.listdir(d), key=lambda f: os.stat(os.path.join(d, f)).st_mtime_ns)
    return [open(os.path.join(d, f), 'rb').read() for f in files]


with dns:
    conf = {'server': {'plugins': 'relay mailauth', 'resolver': dns.resolver},
            'plugin mailauth': {'dns_timeout': '2s'}}
    with Server(accounts=ACC, conf=conf, files={'dkim.dat': DKIMDAT}) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
        # 1. unauthenticated, SPF pass and aligned: one field, dmarc pass
        t.is_(data_code(s, 'u@spf.test', ['bob@localhost'], msg('u@spf.test')), 250,
              'mail from outside taken')
        t.ok(s.wait_mail('bob', 1), 'delivered')
        m = by_mtime(s, 'bob')[-1]
        ar = ar_fields(m)
        t.is_(len(ar), 1, 'exactly one Authentication-Results field')
        a = ar[0] if ar else ''
        t.like(a, r'^Authentication-Results: mx\.test\.invalid; ', 'our authserv-id first')
        t.like(a, r'spf=pass smtp\.mailfrom=u@spf\.test', 'spf=pass with smtp.mailfrom')
        t.like(a, r'dkim=none', 'dkim=none: no signature')
        t.like(a, r'dmarc=pass header\.from=spf\.test', 'dmarc=pass header.from')
        t.like(s.log(), r'mailauth: client=127\.0\.0\.1 spf=pass .*dmarc=pass', 'one log line')

        # 2. forged fields: ours removed (case, comment), another's kept
        forged = ('Authentication-Results: (x) MX.Test.Invalid; dkim=pass header.d=bank.test\r\n'
                  'Authentication-Results: other.example; spf=pass smtp.mailfrom=a@b.test\r\n'
                  'Authentication-Results: "mx.test.invalid";\r\n dmarc=pass\r\n')
        t.is_(data_code(s, 'u@spf.test', ['bob@localhost'], msg('u@spf.test', forged)), 250,
              'mail with forged fields taken')
        t.ok(s.wait_mail('bob', 2), 'delivered')
        m = by_mtime(s, 'bob')[-1]
        ar = ar_fields(m)
        ours = [f for f in ar if re.match(r'(?i)Authentication-Results:\s*(\(x\)\s*)?"?mx\.test\.invalid', f)]
        t.is_(len(ours), 1, 'only our own field claims our id')
        t.ok(not any('bank.test' in f for f in ar), 'the forged field with a comment is gone')
        t.ok(any(f.startswith('Authentication-Results: other.example;') for f in ar),
             "another server's field stays")
        t.is_(len(ar), 2, 'ours and the other one')
        t.ok(b'body line' in m, 'the body is intact after the rewrite')

        # 3. DKIM-signed by an outside sender (dkimpy), the signature checked
        if dkim is not None:
            raw = msg('v@sign.test')
            sig = dkim.sign(raw, b'rsa', b'sign.test', open(rsa, 'rb').read(),
                            include_headers=[b'from', b'to', b'subject'])
            t.is_(data_code(s, 'v@sign.test', ['bob@localhost'], sig + raw), 250,
                  'signed mail from outside taken')
            t.ok(s.wait_mail('bob', 3), 'delivered')
            a = ''.join(ar_fields(by_mtime(s, 'bob')[-1]))
            t.like(a, r'spf=fail', 'spf=fail for sign.test (-all)')
            t.like(a, r'dkim=pass header\.d=sign\.test (header\.i=\S+ )?header\.s=rsa header\.b=',
                   'dkim=pass with d, s, b')
            t.like(a, r'dmarc=pass header\.from=sign\.test', 'dmarc=pass by DKIM alignment')
        else:
            t.diag('dkimpy (python3-dkim) missing: the outside signature is not tried')

        # 4. an authenticated sender: signed, no field of ours, not checked
        forged1 = 'Authentication-Results: mx.test.invalid; dmarc=pass\r\n'
        send_authed(s, 'alice@localhost', ['bob@localhost'], msg('Alice <alice@sign.test>', forged1))
        n = 4 if dkim is not None else 3
        t.ok(s.wait_mail('bob', n), 'authenticated mail delivered')
        m = by_mtime(s, 'bob')[-1]
        t.is_(len(ar_fields(m)), 0, 'no Authentication-Results on authenticated mail')
        sigs = re.findall(rb'(?mi)^DKIM-Signature:', m)
        t.is_(len(sigs), 2, 'two signatures: rsa and ed25519')
        t.like(m.decode(), r'(?m)^DKIM-Signature: .*a=rsa-sha256', 'an rsa-sha256 one')
        t.like(m.decode(), r'(?m)^DKIM-Signature: .*a=ed25519-sha256', 'an ed25519-sha256 one')
        if dkim is None:
            t.ok(True, '# SKIP dkimpy missing')
        else:
            # the stored copy has the core's lines on top; dkimpy checks it
            data = m.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
            res = []
            try:
                import nacl  # noqa: F401 (ed25519 in dkimpy)
                have_nacl = True
            except ImportError:
                have_nacl = False
            for idx in range(len(sigs)):
                d = dkim.DKIM(data)
                try:
                    okv = d.verify(idx=idx, dnsfunc=lambda name, timeout=5: KEYREC.get(name, ''))
                except Exception as e:  # noqa: BLE001
                    t.diag('dkimpy: %r' % e)
                    okv = False
                res.append(okv)
            t.ok(res and res[0 if 'a=rsa' in m.decode().split('DKIM-Signature:')[1] else 1],
                 'dkimpy verifies the rsa-sha256 signature')
            if have_nacl:
                t.ok(all(res), 'dkimpy verifies both signatures')
            else:
                t.ok(True, '# SKIP python3-nacl missing: ed25519 not verified')

    # 5. dmarc_enforce: p=reject failure refused, p=quarantine marked
    conf = {'server': {'plugins': 'relay mailauth', 'resolver': dns.resolver},
            'plugin mailauth': {'dmarc_enforce': '1'}}
    with Server(accounts=ACC, conf=conf) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
        c = s.smtp()
        try:
            c.sendmail('u@spf.test', ['bob@localhost'], msg('x@rej.test'))
            code, text = 250, ''
        except Exception as e:  # smtplib.SMTPDataError
            code, text = getattr(e, 'smtp_code', 0), getattr(e, 'smtp_error', b'').decode()
        finally:
            c.close()
        t.is_(code, 550, 'p=reject failure: 550')
        t.like(text, r'5\.7\.1 .*DMARC policy of rej\.test', '5.7.1 with the reason')
        t.is_(data_code(s, 'u@spf.test', ['bob@localhost'], msg('q@quar.test')), 250,
              'p=quarantine failure taken')
        m = last(s, 'bob', 1)
        t.like(m.decode(), r'(?m)^X-Yubin-DMARC: quarantine$', 'marked for quarantine')
        t.like(''.join(ar_fields(m)), r'dmarc=fail reason="p=quarantine" header\.from=quar\.test',
               'dmarc=fail in the field')
        t.is_(data_code(s, 'u@spf.test', ['bob@localhost'],
                        msg('x@rej.test', 'From: u@spf.test\r\n')), 550,
              'two From fields refused under enforcement')
        t.is_(data_code(s, 'u@spf.test', ['bob@localhost'], msg('u@spf.test')), 250,
              'aligned mail passes under enforcement')
        send_authed(s, 'alice@localhost', ['bob@localhost'], msg('a@rej.test'))
        t.ok(s.wait_mail('bob', 3), 'an authenticated sender is never enforced')

    # 6. DNS down: temperror, mail taken
    conf = {'server': {'plugins': 'relay mailauth', 'resolver': '127.0.0.1:%d' % free_port()},
            'plugin mailauth': {'dns_timeout': '1s', 'dmarc_enforce': '1'}}
    with Server(accounts=ACC, conf=conf) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
        t.is_(data_code(s, 'u@spf.test', ['bob@localhost'], msg('x@rej.test')), 250,
              'DNS down: mail taken')
        a = ''.join(ar_fields(last(s, 'bob', 1)))
        t.like(a, r'spf=temperror', 'spf=temperror')
        t.like(a, r'dmarc=temperror', 'dmarc=temperror')

    # 8. clients in address_permits_relay count as local senders (as
    # OpenDKIM's InternalHosts): signed and not checked; with
    # sign_relay_clients = 0 they are checked like anyone
    for flag, signed in (('1', True), ('0', False)):
        conf = {'server': {'plugins': 'relay mailauth', 'resolver': dns.resolver},
                'smtp': {'address_permits_relay': '127.0.0.0/8'},
                'plugin mailauth': {'sign_relay_clients': flag}}
        with Server(accounts=ACC, conf=conf, files={'dkim.dat': DKIMDAT}) as s:
            t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
            t.is_(data_code(s, 'u@sign.test', ['bob@localhost'], msg('u@sign.test')), 250,
                  'relay client, sign_relay_clients=%s: taken' % flag)
            m = last(s, 'bob', 1).decode()
            t.is_(bool(re.search(r'(?m)^DKIM-Signature:', m)), signed,
                  'sign_relay_clients=%s: %s' % (flag, 'signed' if signed else 'not signed'))
            t.is_(bool(ar_fields(m.encode())), not signed,
                  'sign_relay_clients=%s: %s' % (flag, 'no field of ours' if signed else
                                                  'checked, with our field'))

# 7. dkim.dat errors: yubind -t names file:line; a missing key file is named
for text, want, name in (
        ('sign.test rsa\n', r'dkim\.dat:1: want DOMAIN SELECTOR KEYFILE', 'two words'),
        ('# ok\nsign.test rsa %s\nbad_domain! rsa %s\n' % (rsa, rsa), r'dkim\.dat:3: bad domain',
         'a bad domain'),
        ('sign.test rsa %s/missing.pem\n' % keydir, r'dkim\.dat:1: key file .*missing\.pem',
         'a missing key file')):
    with Server(accounts=ACC, conf={'server': {'plugins': 'relay mailauth'}},
                files={'dkim.dat': text}, start=False) as s:
        r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True,
                           text=True)
        t.ok(r.returncode != 0, 'yubind -t fails: %s' % name)
        t.like(r.stdout + r.stderr, want, 'the error: %s' % name)
t.done()
