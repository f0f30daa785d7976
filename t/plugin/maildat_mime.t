#!/usr/bin/env python3
# maildat plugin: where the warning text of action 2 goes in a multipart
# message, and the backup digit with a custom Folder:.
#  - the warning goes inside the first text part (followed down nested
#    multiparts), quoted-printable encoded when that part is; a first leaf
#    that cannot take it as it is (base64 text, an attachment) gets a
#    text/plain part of its own before it; every stored copy is parsed with
#    Python's email package and must be valid MIME with the parts intact;
#    a multipart without parts is stored unchanged (logged);
#  - Folder: relative (under HOME) and absolute: the message as received is
#    written as QUEUEID with the envelope beside it as QUEUEID.env.
import email
import email.policy
import os
import re
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until, data_code

t = TAP()

WARNING = '*** WARNING: rule=mime-warn ***'

bkdir = tempfile.mkdtemp(prefix='yubin-t-maildat-bk-')
os.chmod(bkdir, 0o755)
ABS = os.path.join(bkdir, 'held')

RULES = '''Virus:mime-warn
Subject:warn-me
Level:200
Warning:
%s
WarningEnd:
VirusEnd:

Virus:keep-relative
Subject:backup-relative
Level:010
Folder:quarantine/maildat
VirusEnd:

Virus:refuse-absolute
Subject:backup-absolute
Level:110
Folder:%s
VirusEnd:
''' % (WARNING, ABS)


def send(s, subject, ctype, body, extra=''):
    msg = ('From: dave@example.org\nTo: alice@localhost\nSubject: %s\nMIME-Version: 1.0\n'
           'Content-Type: %s\n%s\n%s' % (subject, ctype, extra, body))
    return data_code(s, 'dave@example.org', ['alice@localhost'],
                     msg.replace('\n', '\r\n').encode())


def parsed(s, subject):
    for m in s.mails('alice'):
        if ('Subject: %s\n' % subject).encode() in m:
            return email.message_from_bytes(m, policy=email.policy.default)
    return None


def valid(msg):
    """No defects anywhere, and every multipart closed."""
    return msg is not None and all(not p.defects for p in msg.walk())


def text(part):
    return part.get_payload(decode=True).decode(part.get_content_charset() or 'us-ascii')


ALT = '''--alt1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hello in plain text, caf\u00e9.
--alt1
Content-Type: text/html; charset=utf-8

<p>Hello in HTML</p>
--alt1--
'''

NESTED = '''This is a multi-part message in MIME format.

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: quoted-printable

A line with an equals sign a=3Db and a soft=
 break.
--inner
Content-Type: text/html

<b>html</b>
--inner--

--outer
Content-Type: application/octet-stream; name="a.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgc=
--outer--
'''

B64TEXT = '''--m
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

QmFzZTY0IGJvZHkgdGV4dC4K
--m
Content-Type: text/plain

second part
--m--
'''

ATTFIRST = '''--m
Content-Type: image/png; name="x.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--m
Content-Type: text/plain

after the picture
--m--
'''

with Server(conf={'server': {'plugins': 'maildat'}}, accounts={'alice': 'pw'},
            files={'mail.dat': RULES}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    n = 0

    # multipart/alternative: inside the text/plain alternative
    t.is_(send(s, 'warn-me alt', 'multipart/alternative; boundary="alt1"', ALT), 250,
          'alternative: accepted')
    n += 1
    s.wait_mail('alice', n)
    m = parsed(s, 'warn-me alt')
    t.ok(valid(m), 'alternative: the stored copy is valid MIME')
    parts = list(m.iter_parts()) if m else []
    t.is_([p.get_content_type() for p in parts], ['text/plain', 'text/html'],
          'alternative: no part added or lost')
    t.ok(parts and text(parts[0]).startswith(WARNING + '\n'),
         'alternative: the warning heads the first text part')
    t.ok(parts and 'Hello in plain text, caf\u00e9.' in text(parts[0]),
         'alternative: the text follows it, intact')
    t.ok(len(parts) > 1 and WARNING not in text(parts[1]), 'alternative: the HTML part is untouched')

    # nested: mixed > alternative > text/plain quoted-printable
    t.is_(send(s, 'warn-me nested', 'multipart/mixed; boundary="outer"', NESTED), 250,
          'nested: accepted')
    n += 1
    s.wait_mail('alice', n)
    m = parsed(s, 'warn-me nested')
    t.ok(valid(m), 'nested: the stored copy is valid MIME')
    leaves = [p for p in m.walk() if not p.is_multipart()] if m else []
    t.is_([p.get_content_type() for p in leaves],
          ['text/plain', 'text/html', 'application/octet-stream'], 'nested: the same leaves')
    t.ok(leaves and text(leaves[0]).startswith(WARNING + '\n'),
         'nested: the warning heads the text/plain part of the inner alternative')
    t.ok(leaves and 'a=b and a soft break.' in text(leaves[0]),
         'nested: quoted-printable stays decodable (the = of the warning is =3D)')
    raw = [x for x in s.mails('alice') if b'warn-me nested' in x][0].decode()
    t.like(raw, r'rule=3Dmime-warn', 'nested: the warning is quoted-printable encoded')
    t.is_(leaves[2].get_payload(decode=True) if len(leaves) > 2 else None,
          bytes(range(8)), 'nested: the attachment is intact')

    # a base64 first text part: the warning gets a part of its own before it
    t.is_(send(s, 'warn-me b64', 'multipart/mixed; boundary="m"', B64TEXT), 250,
          'base64 first part: accepted')
    n += 1
    s.wait_mail('alice', n)
    m = parsed(s, 'warn-me b64')
    t.ok(valid(m), 'base64 first part: valid MIME')
    parts = list(m.iter_parts()) if m else []
    t.is_(len(parts), 3, 'base64 first part: one part added')
    t.ok(parts and text(parts[0]).startswith(WARNING),
         'base64 first part: the added first part is the warning')
    t.ok(len(parts) == 3 and text(parts[1]) == 'Base64 body text.\n'
         and text(parts[2]).startswith('second part'), 'base64 first part: the others intact')

    # an attachment first
    t.is_(send(s, 'warn-me att', 'multipart/mixed; boundary="m"', ATTFIRST), 250,
          'attachment first: accepted')
    n += 1
    s.wait_mail('alice', n)
    m = parsed(s, 'warn-me att')
    t.ok(valid(m), 'attachment first: valid MIME')
    parts = list(m.iter_parts()) if m else []
    t.is_([p.get_content_type() for p in parts], ['text/plain', 'image/png', 'text/plain'],
          'attachment first: the warning part goes before the attachment')
    t.ok(parts and text(parts[0]).startswith(WARNING), 'attachment first: it holds the warning')

    # a multipart without any part: nowhere to put it, stored unchanged
    empty = 'preamble only\n--m--\n'
    t.is_(send(s, 'warn-me empty', 'multipart/mixed; boundary="m"', empty), 250,
          'multipart without parts: accepted')
    n += 1
    s.wait_mail('alice', n)
    raw = [x for x in s.mails('alice') if b'warn-me empty' in x]
    t.ok(raw and raw[0].endswith(b'\n\npreamble only\n--m--\n') and WARNING.encode() not in raw[0],
         'multipart without parts: stored unchanged')
    t.ok(s.wait_log(r'rule="mime-warn": cannot insert the warning'), 'and logged')

    # ---- the backup digit with Folder: ----
    t.is_(send(s, 'backup-relative', 'text/plain', 'keep me\n'), 250,
          'backup with action 0: accepted')
    n += 1
    s.wait_mail('alice', n)
    rel = os.path.join(s.home, 'quarantine', 'maildat')
    files = sorted(os.listdir(rel)) if os.path.isdir(rel) else []
    t.is_(len(files), 2, 'relative Folder: is under HOME, with two files')
    qid = files[0] if files else ''
    t.is_(files, [qid, qid + '.env'], 'named QUEUEID and QUEUEID.env')
    t.like(qid, r'^[0-9A-F]{16}$', 'the name is a queue id')
    t.ok(s.wait_log(r'%s: plugin=maildat match rule="keep-relative"' % qid),
         'it is the queue id the match is logged under')
    if files:
        with open(os.path.join(rel, qid), 'rb') as f:
            copy = f.read()
        with open(os.path.join(rel, qid + '.env')) as f:
            env = f.read()
    else:
        copy, env = b'', ''
    t.ok(copy.startswith(b'Received: ') and b'\nSubject: backup-relative\n' in copy
         and copy.endswith(b'\n\nkeep me\n'), 'the copy is the message as received')
    t.like(env, r'(?m)^rule: keep-relative$', 'the envelope names the rule')
    t.like(env, r'(?m)^queue-id: %s$' % qid, 'the envelope names the queue id')
    t.like(env, r'(?m)^from: <dave@example\.org>$', 'the envelope has the sender')
    t.like(env, r'(?m)^to: <alice@localhost>$', 'the envelope has the recipient')
    t.like(env, r'(?m)^client: 127\.0\.0\.1$', 'the envelope has the client')

    t.is_(send(s, 'backup-absolute', 'text/plain', 'refuse me\n'), 550,
          'backup with action 1: refused')
    files = sorted(os.listdir(ABS)) if os.path.isdir(ABS) else []
    t.is_(len(files), 2, 'absolute Folder: two files there')
    qid = files[0] if files else ''
    t.is_(files, [qid, qid + '.env'], 'absolute Folder: QUEUEID and QUEUEID.env')
    if files:
        with open(os.path.join(ABS, qid), 'rb') as f:
            copy = f.read()
        with open(os.path.join(ABS, qid + '.env')) as f:
            env = f.read()
    else:
        copy, env = b'', ''
    t.ok(copy.endswith(b'\n\nrefuse me\n'), 'the refused message is kept')
    t.like(env, r'(?m)^level: 110$', 'its envelope has the level')
    t.ok(not os.path.exists(os.path.join(s.home, 'viruslog', qid)),
         'nothing in the default viruslog')

for root, dirs, fs in os.walk(bkdir, topdown=False):
    for f in fs:
        os.unlink(os.path.join(root, f))
    for d in dirs:
        os.rmdir(os.path.join(root, d))
os.rmdir(bkdir)
t.done()
