#!/usr/bin/env python3
# maildat plugin: load-time errors, the SEEDS.md §19 examples, matching
# (fields, AND, #blank, RFC 2047, base64 bodies) and the action digits.
import base64
import os
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, binary, wait_until

t = TAP()

EXAMPLES = '''Virus:URIBL multi.surbl.org
RBL:multi.surbl.org
Level:300
Warning:
----- warning -----
"URIBL multi.surbl.org"
-----
WarningEnd:
Tag:[SPAM !!]
VirusEnd:

Virus:Add Header "X-SPAM:TRUE"
Level:400
Subject:test
Tag:X-SPAM:TRUE
VirusEnd:

Virus:Mail Forward by "X-SPAM:TRUE"
Level:500
Forward:xxx@test-sample.jp
Unique-Header:X-SPAM:TRUE
VirusEnd:

Virus:Add Subject Header "[SPAM]" AND Mail Forward
Level:600
Subject:test
Tag:[SPAM]
Forward:xxxx@test-sample.jp
VirusEnd:

Virus:Add Header "X-SPAM:TRUE" AND Mail Forward
Level:700
Subject:test
Tag:X-SPAM:TRUE
Forward:xxxx@test-sample.jp
VirusEnd:
'''


def conf(extra=None):
    c = {'server': {'plugins': 'maildat'}, 'plugin maildat': {}}
    for k, v in (extra or {}).items():
        c.setdefault(k, {}).update(v)
    return c


def check(text, extra=None):
    s = Server(conf=conf(extra), files={'mail.dat': text}, start=False)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'],
                       capture_output=True, text=True)
    s.cleanup()
    return r


r = check(EXAMPLES)
t.is_(r.returncode, 0, 'the five SEEDS.md examples load')

ERRORS = [
    ('Virus:a\nSubject:x\nLevel:100\n', r'mail\.dat:1: rule \'a\' has no VirusEnd:'),
    ('Virus:a\nVirus:b\nSubject:x\nLevel:100\nVirusEnd:\n',
     r"mail\.dat:2: Virus: inside rule 'a' \(line 1\) without VirusEnd:"),
    ('Virus:a\nSubjekt:x\nLevel:100\nVirusEnd:\n', r"mail\.dat:2: unknown field 'Subjekt'"),
    ('Virus:a\nSubject:x\nLevel:800\nVirusEnd:\n',
     r"mail\.dat:3: Level must be three digits ABC \(A 0-7, B 0-1, C 0-1\), not '800'"),
    ('Virus:a\nSubject:x\nLevel:10\nVirusEnd:\n', r"mail\.dat:3: Level must be three digits"),
    ('Virus:a\nSubject:x\nLevel:100\nBody:\n1\n2\n3\n4\n5\n6\nBodyEnd:\nVirusEnd:\n',
     r'mail\.dat:10: Body: block over 5 lines'),
    ('Virus:a\nSubject:x\nLevel:100\nBody:\n1\nVirusEnd:\n', r'mail\.dat:4: Body: block without BodyEnd:'),
    ('Virus:a\nSubject:x\nLevel:200\nWarning:\n1\n2\n3\n4\n5\n6\nWarningEnd:\nVirusEnd:\n',
     r'mail\.dat:10: Warning: block over 5 lines'),
    ('Virus:a\nSubject:x\nLevel:300\nVirusEnd:\n', r"mail\.dat:1: rule 'a': Level 300 needs Tag:"),
    ('Virus:a\nSubject:x\nLevel:400\nTag:nocolon\nVirusEnd:\n',
     r"mail\.dat:1: rule 'a': Tag: for Level 4xx must be NAME:VALUE"),
    ('Virus:a\nSubject:x\nLevel:500\nVirusEnd:\n', r"mail\.dat:1: rule 'a': Level 500 needs Forward:"),
    ('Virus:a\nSubject:x\nLevel:110\nFolder:held/../../etc\nVirusEnd:\n',
     r"mail\.dat:4: Folder: 'held/\.\./\.\./etc' must be a path of at most 1024 bytes "
     r"without a '\.\.' component"),
    ('Virus:a\nSubject:x\nLevel:110\nFolder:..\nVirusEnd:\n',
     r"mail\.dat:4: Folder: '\.\.' must be a path"),
    ('Virus:a\nSubject:x\nLevel:500\nForward:nobody\nVirusEnd:\n',
     r"mail\.dat:4: Forward: 'nobody' is not an address"),
    ('Virus:a\nSubject:/x(/\nLevel:100\nVirusEnd:\n',
     r"mail\.dat:2: bad regex /x\(/: missing closing parenthesis at offset 2"),
    ('Subject:x\n', r"mail\.dat:1: 'Subject:x' outside a Virus: rule"),
]
for text, pat in ERRORS:
    r = check(text)
    t.is_(r.returncode, 1, 'error exits 1: ' + pat[:40])
    t.like(r.stderr, pat, 'error text: ' + pat[:50])
r = check(''.join(e[0] for e in ERRORS[:3]))
t.ok(r.stderr.count('mail.dat:') >= 3, 'every error of a file is reported')

RULES = '''# test rules
Virus:refuse
Subject:refuse-me
Level:100
VirusEnd:

Virus:and
Subject:both
From:carol@
Level:100
VirusEnd:

Virus:blank
Subject:#blank
Level:400
Tag:X-Blank:yes
VirusEnd:

Virus:tag
Subject:tag-me
Level:300
Tag:[SPAM]
VirusEnd:

Virus:header
Subject:hdr-me
Level:400
Tag:X-SPAM:TRUE
VirusEnd:

Virus:forward
Subject:fwd-me
Level:500
Forward:bob@localhost
VirusEnd:

Virus:jp
Subject:迷惑
Level:400
Tag:X-JP:1
VirusEnd:

Virus:body
Body:
secret phrase
BodyEnd:
Level:400
Tag:X-Body:1
VirusEnd:

Virus:warn
Subject:warn-me
Level:200
Warning:
*** WARNING ***
WarningEnd:
VirusEnd:

Virus:regex
X-Mailer:/^Evil\\s+Mailer \\d+$/i
Level:410
Tag:X-Re:1
VirusEnd:

Virus:register
Subject:block-me
Level:101
VirusEnd:
'''

with Server(conf=conf(), accounts={'alice': 'pw', 'bob': 'pw'},
            files={'mail.dat': RULES}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))

    def send(subject, body='hello\n', frm='dave@example.org', extra='', source=None):
        c = s.smtp(source=source)
        hdr = 'From: %s\nTo: alice@localhost\n%s' % (frm, extra)
        if subject is not None:
            hdr += 'Subject: %s\n' % subject
        msg = hdr + '\n' + body
        try:
            c.sendmail(frm, ['alice@localhost'], msg.replace('\n', '\r\n').encode())
            return 250
        except Exception as e:
            return getattr(e, 'smtp_code', None) or getattr(e, 'recipients', {}) and 550
        finally:
            try:
                c.quit()
            except Exception:
                pass

    import smtplib

    def code(subject, **kw):
        try:
            return send(subject, **kw)
        except smtplib.SMTPDataError as e:
            return e.smtp_code

    t.is_(code('please refuse-me now'), 550, 'action 1 refuses at DATA')
    t.is_(code('both here'), 250, 'AND: one field alone does not match')
    t.is_(code('both here', frm='carol@example.org'), 550, 'AND: both fields match')
    # 'both here' above was stored: the count starts at 1
    t.is_(code('tag-me'), 250, 'tag rule passes')
    s.wait_mail('alice', 2)
    t.is_(code('hdr-me'), 250, 'header rule passes')
    s.wait_mail('alice', 3)
    t.is_(code(None), 250, '#blank subject passes')
    s.wait_mail('alice', 4)
    enc = '=?UTF-8?B?' + base64.b64encode('これは迷惑です'.encode()).decode() + '?='
    t.is_(code(enc), 250, 'encoded subject')
    s.wait_mail('alice', 5)
    body = base64.b64encode(b'the secret phrase is here\n').decode() + '\n'
    t.is_(code('b64', body=body, extra='MIME-Version: 1.0\nContent-Type: text/plain\n'
               'Content-Transfer-Encoding: base64\n'), 250, 'base64 body')
    s.wait_mail('alice', 6)
    t.is_(code('warn-me'), 250, 'warning rule passes')
    s.wait_mail('alice', 7)
    t.is_(code('x', extra='X-Mailer: evil   MAILER 42\n'), 250, 'regex rule passes')
    s.wait_mail('alice', 8)
    mails = s.mails('alice')
    alltext = '\n----\n'.join(m if isinstance(m, str) else m.decode('utf-8', 'replace') for m in mails)
    t.like(alltext, r'Subject: \[SPAM\] tag-me', 'action 3 tags the Subject')
    t.like(alltext, r'X-SPAM: TRUE', 'action 4 adds the header')
    t.like(alltext, r'X-Blank: yes', '#blank matches a missing Subject')
    t.like(alltext, r'X-JP: 1', 'RFC 2047 UTF-8 B subject is decoded')
    t.like(alltext, r'X-Body: 1', 'base64 body is decoded')
    t.like(alltext, r"\n\n\*\*\* WARNING \*\*\*\n\nhello", 'action 2 puts the warning at the head of the body')
    t.like(alltext, r'X-Re: 1', 'regex token with flags')
    bk = os.listdir(os.path.join(s.home, 'viruslog'))
    t.ok(any(f.endswith('.env') for f in bk) and len(bk) >= 2, 'backup digit: copy and envelope in viruslog')
    t.is_(code('fwd-me'), 250, 'forward rule passes')
    s.wait_mail('bob', 1)
    t.ok(not any('fwd-me' in (m if isinstance(m, str) else m.decode('utf-8', 'replace')) for m in s.mails('alice')), 'action 5: the original recipient gets nothing')
    t.is_(code('block-me', source='127.0.0.7'), 550, 'register rule refuses')
    try:
        c = s.smtp(source='127.0.0.7')
        c.quit()
        refused = False
    except smtplib.SMTPException:
        refused = True
    except OSError:
        refused = True
    t.ok(refused, 'after registration the client is refused at connect')
    r = s.ctl('block', 'list')
    t.like(r.stdout, r'127\.0\.0\.7', 'yubinctl block list shows it')
    s.ctl('block', 'del', '127.0.0.7')

t.done()
