#!/usr/bin/env python3
# maildat plugin: what the rules see once decoded: RFC 2047 subjects in
# ISO-2022-JP, Shift_JIS, EUC-JP and UTF-8 (B and Q), quoted-printable and
# base64 bodies in those charsets, and bad input: 10 000 header lines, a
# header field of over 1 MB, a line just under the core's 1 000 000-octet
# DATA limit, a regex that runs into PCRE2's match limit, broken MIME.
# Nothing crashes; what cannot match simply does not.
import base64
import os
import quopri
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, data_code

t = TAP()

RULES = '''Virus:jp subject
Subject:迷惑メール
Level:400
Tag:X-JP-Subject:hit
VirusEnd:

Virus:jp body
Body:
特別価格でご提供
BodyEnd:
Level:400
Tag:X-JP-Body:hit
VirusEnd:

Virus:ascii body split by a soft break
Body:
secret phrase
second line here
BodyEnd:
Level:400
Tag:X-Body:hit
VirusEnd:

Virus:long header
Unique-Header:X-Long:needle-at-the-end
Level:400
Tag:X-Long-Hit:yes
VirusEnd:

Virus:last of many
Unique-Header:X-Last:final-needle
Level:400
Tag:X-Many-Hit:yes
VirusEnd:

Virus:runaway regex
Unique-Header:X-Runaway:/^(a|aa)+$/
Level:100
VirusEnd:
'''

SUBJ = 'これは迷惑メールです'
BODY = '本日限り特別価格でご提供します'


def enc_word(text, charset, how):
    raw = text.encode(charset)
    label = {'shift_jis': 'Shift_JIS', 'iso2022_jp': 'ISO-2022-JP', 'euc_jp': 'EUC-JP',
             'utf-8': 'UTF-8'}[charset]
    if how == 'B':
        return '=?%s?B?%s?=' % (label, base64.b64encode(raw).decode())
    q = ''.join(chr(b) if (0x30 <= b <= 0x39 or 0x41 <= b <= 0x5a or 0x61 <= b <= 0x7a)
                else '=%02X' % b for b in raw)
    return '=?%s?Q?%s?=' % (label, q)


case = [0]


def send(s, headers, body=b'hello\r\n'):
    """Send with an X-Case header; returns (code, stored message text or None)."""
    case[0] += 1
    cid = 'case-%d' % case[0]
    if isinstance(body, str):
        body = body.encode()
    msg = ('From: dave@example.org\r\nTo: alice@localhost\r\nX-Case: %s\r\n' % cid).encode() \
        + headers.encode() + b'\r\n' + body
    code = data_code(s, 'dave@example.org', ['alice@localhost'], msg)
    if code != 250:
        return code, None
    from yubintest import wait_until
    got = wait_until(lambda: [m for m in s.mails('alice') if ('X-Case: ' + cid).encode() in m])
    return code, got[0].decode('utf-8', 'replace') if got else None


with Server(conf={'server': {'plugins': 'maildat'}}, accounts={'alice': 'pw'},
            files={'mail.dat': RULES}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))

    for cs in ('iso2022_jp', 'shift_jis', 'euc_jp', 'utf-8'):
        for how in ('B', 'Q'):
            code, m = send(s, 'Subject: %s\r\n' % enc_word(SUBJ, cs, how))
            t.ok(m and 'X-JP-Subject: hit' in m, 'subject %s %s decoded and matched' % (cs, how))
    # two encoded words split mid-text, whitespace between them dropped
    w1 = enc_word('これは迷惑', 'iso2022_jp', 'B')
    w2 = enc_word('メールです', 'shift_jis', 'B')
    code, m = send(s, 'Subject: %s\r\n %s\r\n' % (w1, w2))
    t.ok(m and 'X-JP-Subject: hit' in m, 'a folded subject of two encoded words in two charsets')
    code, m = send(s, 'Subject: =?ISO-2022-JP?B?broken!!?=\r\n')
    t.is_(code, 250, 'broken base64 in an encoded word: accepted')
    t.ok(m and 'X-JP-Subject' not in m, 'and no match')
    code, m = send(s, 'Subject: =?X-UNKNOWN-CS?B?%s?=\r\n'
                   % base64.b64encode(SUBJ.encode('utf-8')).decode())
    t.is_(code, 250, 'an unknown charset: accepted')
    code, m = send(s, 'Subject: plain 迷惑メール in raw UTF-8\r\n')
    t.ok(m and 'X-JP-Subject: hit' in m, 'raw 8-bit UTF-8 subject matches')

    # quoted-printable bodies
    qp = quopri.encodestring(('前置き ' + BODY + '\n').encode('utf-8')).decode()
    code, m = send(s, 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n'
                   'Content-Transfer-Encoding: quoted-printable\r\n', qp.replace('\n', '\r\n'))
    t.ok(m and 'X-JP-Body: hit' in m, 'quoted-printable UTF-8 body decoded')
    qp = quopri.encodestring(BODY.encode('shift_jis')).decode()
    code, m = send(s, 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset="Shift_JIS"\r\n'
                   'Content-Transfer-Encoding: quoted-printable\r\n', qp.replace('\n', '\r\n'))
    t.ok(m and 'X-JP-Body: hit' in m, 'quoted-printable Shift_JIS body decoded')
    code, m = send(s, 'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n'
                   'Content-Transfer-Encoding: quoted-printable\r\n',
                   'the secr=\r\net phrase=3D\r\nsecond line=20here\r\n')
    t.ok(m and 'X-Body: hit' in m, 'quoted-printable soft line breaks and =XX escapes')
    b64 = base64.encodebytes(BODY.encode('iso2022_jp')).decode()
    body = ('--b1\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n'
            '--b1\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n'
            'Content-Transfer-Encoding: base64\r\n\r\n' + b64.replace('\n', '\r\n') +
            '--b1--\r\n')
    code, m = send(s, 'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; '
                   'boundary="b1"\r\n', body)
    t.ok(m and 'X-JP-Body: hit' in m, 'base64 ISO-2022-JP part of a multipart decoded')
    code, m = send(s, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="zz"\r\n',
                   '--zz\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\n' * 40 +
                   'Content-Transfer-Encoding: base64\r\n\r\n!!!!====\r\n')
    t.is_(code, 250, 'broken, self-nesting MIME: accepted, no crash')

    # 10 000 header lines; the rule on the last one still matches
    many = ''.join('X-Filler-%d: value %d\r\n' % (i, i) for i in range(10000))
    code, m = send(s, many + 'X-Last: the final-needle\r\n')
    t.is_(code, 250, '10 000 header lines: accepted')
    t.ok(m and 'X-Many-Hit: yes' in m, '10 000 header lines: a rule on the field after them matches')

    # a header field of over 1 MB (folded), the token at its end
    fold = ''.join(' ' + 'a' * 998 + '\r\n' for _ in range(1100))
    code, m = send(s, 'X-Long: start\r\n' + fold + ' needle-at-the-end\r\n')
    t.is_(code, 250, 'a 1.1 MB folded header field: accepted')
    t.ok(m and 'X-Long-Hit: yes' in m, 'the token at its end is found (headers are read fully)')
    # one physical header line just under the core's DATA line limit
    code, m = send(s, 'X-Long: ' + 'b' * 999000 + '\r\n')
    t.is_(code, 250, 'a 999 000-octet header line: accepted')
    t.ok(m and 'X-Long-Hit' not in m, 'and the rule simply does not match')
    code, m = send(s, 'X-Huge: ' + 'c' * (1024 * 1024) + '\r\n')
    t.ok(code in (250, 554), 'a 1 MiB header line: answered (%d), no crash' % code)

    # PCRE2 match limit: an exponential regex gives up, the rule does not match
    code, m = send(s, 'X-Runaway: ' + 'a' * 40 + 'b\r\n')
    t.is_(code, 250, 'a runaway regex does not refuse (match limit: no match)')
    t.ok(s.wait_log(r'regex gave error -?\d+ \(match or depth limit\?\): no match'),
         'the limit is logged')
    t.ok(not [l for l in s.log().splitlines() if 'signal' in l and 'smtp' in l],
         'no SMTP worker died of a signal')
    code, m = send(s, 'Subject: still alive\r\n')
    t.is_(code, 250, 'the server still accepts mail')

t.done()
