#!/usr/bin/env python3
"""smtp.shared_auth (F032, ArGoSoft's single SMTP credential): when set, SMTP
AUTH accepts that one USER:PASSWORD and nothing else (the accounts keep
their passwords for POP3); success lets the client relay; CRAM-MD5 is not
offered (only a hash is kept); the clear password is hashed as the file
loads (`yubinctl config` shows the hash, and the hash works in the file);
bad values refuse the start with file:line."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import Server, TAP, Session, conf, expect, b64  # noqa: E402
from yubintest import Sink, binary, wait_until  # noqa: E402

t = TAP()


def plain(user, pw):
    return b64('\0%s\0%s' % (user, pw))


def try_plain(s, user, pw):
    c = Session(s)
    c.ehlo()
    r = c.cmd('AUTH PLAIN ' + plain(user, pw))
    return c, r


with Sink() as sink:
    files = {'gateway.dat': '*,127.0.0.1,%d,tls=none\n' % sink.port}
    s = Server(conf=conf({'smtp': {'shared_auth': 'relayer:S3cret:with:colons',
                                   'auth_mechanisms': 'PLAIN LOGIN CRAM-MD5'}}),
               accounts={'alice': 'pw-a'}, files=files)
    with s:
        c = Session(s)
        r = c.ehlo()
        t.like(r[1], r'(?m)^250-AUTH PLAIN LOGIN$', 'EHLO offers PLAIN LOGIN, not CRAM-MD5')
        expect(t, c.cmd('AUTH CRAM-MD5'), 504, '5.5.4', 'CRAM-MD5 refused')
        c.close()

        c, r = try_plain(s, 'relayer', 'S3cret:with:colons')
        expect(t, r, 235, '2.7.0', 'the shared credential is accepted (PLAIN)')
        expect(t, c.cmd('MAIL FROM:<anyone@example.org>'), 250, '2.1.0', 'MAIL')
        expect(t, c.cmd('RCPT TO:<far@remote.example>'), 250, '2.1.5',
               'and the client may relay')
        expect(t, c.cmd('DATA'), 354, '2.0.0', 'DATA')
        expect(t, c.data(b'Subject: shared\r\n\r\nhi\r\n'), 250, '2.0.0', 'queued')
        c.close()
        t.ok(sink.wait(1), 'relayed to the remote recipient')
        t.ok(s.wait_log(r'auth ok user=relayer mech=PLAIN'), 'logged as the shared user')

        c = Session(s)
        c.ehlo()
        r = c.cmd('AUTH LOGIN ' + b64('relayer'))
        r = c.cmd(b64('S3cret:with:colons'))
        expect(t, r, 235, '2.7.0', 'AUTH LOGIN with the shared credential')
        c.close()

        for user, pw, why in (('alice', 'pw-a', "an account's own password"),
                              ('relayer', 'S3cret', 'the password cut at a colon'),
                              ('Relayer', 'S3cret:with:colons', 'the user in another case'),
                              ('relayer', 'wrong', 'a wrong password')):
            c, r = try_plain(s, user, pw)
            expect(t, r, 535, '5.7.8', 'refused: %s' % why)
            c.close()

        c = Session(s)
        c.ehlo()
        expect(t, c.cmd('MAIL FROM:<anyone@example.org>'), 250, '2.1.0', 'unauthenticated MAIL')
        expect(t, c.cmd('RCPT TO:<far@remote.example>'), 554, '5.7.1',
               'an unauthenticated client still may not relay')
        c.close()

        p = s.pop3()
        p.user('alice')
        t.like(p.pass_('pw-a').decode(), r'^\+OK', 'POP3 still takes the account password')
        p.quit()

        r = s.ctl('config')
        m = re.search(r'(?m)^shared_auth = (.*?)(  #.*)?$', r.stdout)
        t.ok(m and m.group(1).startswith('relayer:$scrypt$'),
             'yubinctl config shows USER:HASH, not the password') or t.diag(r.stdout)
        t.ok('S3cret' not in r.stdout, 'the clear password appears nowhere')
        hashed = m.group(1) if m else ''

    # the hash in the file works the same
    s = Server(conf=conf({'smtp': {'shared_auth': hashed}}), accounts={'alice': 'pw-a'})
    with s:
        c, r = try_plain(s, 'relayer', 'S3cret:with:colons')
        expect(t, r, 235, '2.7.0', 'USER:HASH in the file: accepted')
        c.close()
        c, r = try_plain(s, 'relayer', 'nope')
        expect(t, r, 535, '5.7.8', 'USER:HASH in the file: a wrong password refused')
        c.close()

# without shared_auth the accounts log in as before
with Server(conf=conf(), accounts={'alice': 'pw-a'}) as s:
    c, r = try_plain(s, 'alice', 'pw-a')
    expect(t, r, 235, '2.7.0', 'no shared_auth: the account logs in')
    c.close()

for bad, why in (('nocolon', 'expected USER:PASSWORD'), (':pw', 'expected USER:PASSWORD'),
                 ('user:', 'expected USER:PASSWORD'), ('us er:pw', 'letters, digits'),
                 ('u:$scrypt$garbage', 'not a valid one'),
                 ('x' * 80 + ':pw', 'expected USER:PASSWORD')):
    s = Server(start=False)
    sections = {k: dict(v) for k, v in s.sections.items()}
    sections['smtp']['shared_auth'] = bad
    s.write_conf(sections)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True,
                       text=True)
    t.is_(r.returncode, 1, 'shared_auth = %.20s: refused' % bad)
    t.like(r.stderr, re.escape(s.conf_path) + r':\d+: .*shared_auth.*' + re.escape(why),
           'with file:line and why') or t.diag(r.stderr)
    s.cleanup()
t.done()
