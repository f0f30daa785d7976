#!/usr/bin/env python3
"""SMTP receive basics (RFC 5321): greeting, EHLO/HELO advertisement, mail to
one and to three local recipients stored byte-exact (LF line ends, the
Received: header on top, dot-unstuffed), the queue id in the 250 reply and
the header, header.dat templates, HELO sanitising (no header injection),
role mailboxes, null sender, SMTPUTF8, a large message."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import (Server, TAP, Session, conf, expect, message, lf,  # noqa: E402
                      received_split, trace_split, queued_id, count_accepted,
                      find_mail)

t = TAP()
ACCOUNTS = {'alice': 'pw-alice', 'bob': ('pw-bob', ['--apop']), 'carol': 'pw-carol'}

with Server(conf=conf({'server': {'admin_address': 'carol@localhost'}}),
            accounts=ACCOUNTS) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    # 1. greeting and EHLO
    c = Session(s)
    t.is_(c.greeting, (220, '220 mx.test.invalid ESMTP yubin'), 'greeting')
    code, text = c.ehlo()
    lines = text.split('\n')
    t.is_(code, 250, 'EHLO 250')
    t.is_(lines[0], '250-mx.test.invalid', 'EHLO first line is the host name')
    kw = [l[4:] for l in lines[1:]]
    for want in ('PIPELINING', 'SIZE 52428800', '8BITMIME', 'ENHANCEDSTATUSCODES',
                 'SMTPUTF8', 'STARTTLS', 'AUTH PLAIN LOGIN'):
        t.ok(want in kw, 'EHLO advertises %s' % want)
    t.ok(all(l.startswith('250-') for l in lines[:-1]) and lines[-1].startswith('250 '),
         'EHLO continuation lines well formed')
    expect(t, c.cmd('NOOP'), 250, '2.0.0', 'NOOP')
    expect(t, c.cmd('NOOP with an argument'), 250, '2.0.0', 'NOOP ignores its argument')
    r = c.cmd('HELP')
    expect(t, r, 214, '2.0.0', 'HELP')
    t.ok('VRFY' not in str(r) and 'EXPN' not in str(r) and 'STARTTLS' in str(r),
         'HELP lists neither VRFY nor EXPN while they are off; STARTTLS before TLS')
    expect(t, c.cmd('RSET'), 250, '2.0.0', 'RSET')
    expect(t, c.cmd('QUIT'), 221, '2.0.0', 'QUIT')
    t.ok(c.closed(), 'connection closed after QUIT')

    # 2. one recipient, byte-exact
    body = (b'From: <sender@example.org>\r\nTo: <alice@localhost>\r\n'
            b'Subject: one\r\n\r\nline one\r\n.starts with a dot\r\n..two dots\r\n'
            b'\r\nlast line\r\n')
    stuffed = body.replace(b'\r\n.', b'\r\n..')
    c = Session(s)
    c.ehlo()
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0', 'MAIL')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 250, '2.1.5', 'RCPT local user')
    expect(t, c.cmd('DATA'), 354, '2.0.0', 'DATA 354',
           text=r'End data with <CR><LF>\.<CR><LF>')
    r = c.data(stuffed)
    expect(t, r, 250, '2.0.0', 'message queued', text=r'Ok: queued as [0-9A-F]{16}$')
    qid = queued_id(r)
    c.cmd('QUIT')
    t.ok(s.wait_mail('alice', 1), 'delivered to alice')
    m = s.mails('alice')
    t.is_(len(m), 1, 'alice has one message')
    t.ok((m[0] if m else b'').startswith(
        b'Return-Path: <sender@example.org>\nDelivered-To: alice@localhost\n'
        b'Received: '),
         'stored copy begins with Return-Path, Delivered-To, then Received')
    hdr, rest = received_split(m[0] if m else b'')
    t.is_(rest, lf(body), 'stored byte-exact with LF line ends, dot-unstuffed')
    t.like((hdr or b'').decode(),
           r'^Received: from client\.example \(\[127\.0\.0\.1\]\)\n'
           r'\tby mx\.test\.invalid \(yubin\) with ESMTPA? id ' + (qid or 'X') + r'\n'
           r'\tfor <alice@localhost>; (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} '
           r'(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} '
           r'\d\d:\d\d:\d\d [+-]\d{4}\n$',
           'Received header on top, with the queue id of the 250 reply')
    t.ok(s.wait_log(r'%s: accepted from=<sender@example\.org> size=\d+ nrcpt=1 '
                    r'client=127\.0\.0\.1 kind=receive sid=[0-9a-f]{6}' % qid),
         'accepted log line')

    # 3. three recipients in one transaction, through smtplib
    body3 = message('three', 'to three\r\n')
    with s.smtp() as sm:
        sm.ehlo('multi.example')
        code, _ = sm.mail('sender@example.org')
        t.is_(code, 250, 'smtplib MAIL')
        for who in ('alice', 'bob', 'carol'):
            code, _ = sm.rcpt('%s@localhost' % who)
            t.is_(code, 250, 'smtplib RCPT %s' % who)
        code, text = sm.data(body3)
        t.is_(code, 250, 'smtplib DATA to three')
        qid3 = queued_id((code, text.decode()))
    for who, n in (('alice', 2), ('bob', 1), ('carol', 1)):
        t.ok(s.wait_mail(who, n), '%s received the message for three' % who)
    copies = [find_mail(s, who, b'Subject: three') for who in ('alice', 'bob', 'carol')]
    traces = [trace_split(x or b'') for x in copies]
    t.is_([x[:2] for x in traces],
          [(b'<sender@example.org>', b'%s@localhost' % w) for w in (b'alice', b'bob', b'carol')],
          'each copy has the sender\'s Return-Path and its own Delivered-To')
    t.ok(traces[0][2] == traces[1][2] == traces[2][2] and traces[0][2],
         'below the trace lines, three identical copies')
    hdr, rest = received_split(copies[1])
    t.is_(rest, lf(body3), 'body of the three-recipient message byte-exact')
    t.like((hdr or b'').decode(),
           r'^Received: from multi\.example \(\[127\.0\.0\.1\]\)\n'
           r'\tby mx\.test\.invalid \(yubin\) with ESMTP id ' + (qid3 or 'X') + r';\n'
           r'\t\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\n$',
           'several recipients: no "for" clause')

    # 4. HELO (not EHLO): protocol SMTP; duplicates collapse
    c = Session(s)
    expect(t, c.cmd('HELO plain.example'), 250, None, 'HELO', text=r'^250 mx\.test\.invalid$')
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0', 'MAIL after HELO')
    expect(t, c.cmd('RCPT TO:<bob@localhost>'), 250, '2.1.5', 'RCPT bob')
    expect(t, c.cmd('RCPT TO:<BOB@LOCALHOST>'), 250, '2.1.5', 'RCPT bob again (any case)')
    expect(t, c.cmd('DATA'), 354, '2.0.0', 'DATA')
    expect(t, c.data(message('helo')), 250, '2.0.0', 'queued')
    c.cmd('QUIT')
    t.ok(s.wait_mail('bob', 2), 'bob received it')
    t.is_(len(s.mails('bob')), 2, 'a duplicate recipient gets one copy')
    hdr, _ = received_split(find_mail(s, 'bob', b'Subject: helo'))
    t.like((hdr or b'').decode(), r' with SMTP id ', 'HELO session: "with SMTP"')

    # 5. HELO with a bare CR and control bytes cannot inject a header
    c = Session(s)
    c.send(b'EHLO evil.example\rX-Injected: yes\x01\r\n')
    expect(t, c.reply(), 250, None, 'EHLO with a bare CR accepted')
    c.cmd('MAIL FROM:<sender@example.org>')
    c.cmd('RCPT TO:<carol@localhost>')
    c.cmd('DATA')
    expect(t, c.data(message('inject')), 250, '2.0.0', 'queued')
    c.cmd('QUIT')
    t.ok(s.wait_mail('carol', 2), 'carol received it')
    inj = find_mail(s, 'carol', b'Subject: inject')
    hdr, rest = received_split(inj)
    t.ok(hdr is not None and b'\r' not in hdr and b'\x01' not in hdr, 'no CR or control byte in the header')
    t.ok(not re.search(rb'^X-Injected', inj, re.M), 'no injected header line')
    t.like((hdr or b'').decode(), r'^Received: from evil\.example\?X-Injected:\?yes\? ',
           'HELO shown with unsafe bytes as "?"')

    # 6. role mailboxes go to the admin address; bare <postmaster> is local
    c = Session(s)
    c.ehlo()
    c.cmd('MAIL FROM:<sender@example.org>')
    expect(t, c.cmd('RCPT TO:<postmaster>'), 250, '2.1.5', 'RCPT TO:<postmaster> without domain')
    expect(t, c.cmd('RCPT TO:<abuse@localhost>'), 250, '2.1.5', 'RCPT abuse')
    c.cmd('DATA')
    expect(t, c.data(message('role')), 250, '2.0.0', 'queued')
    c.cmd('QUIT')
    t.ok(s.wait_mail('carol', 3), 'postmaster and abuse reach carol (admin_address)')

    # 7. null sender, SMTPUTF8, 8BITMIME
    c = Session(s)
    c.ehlo()
    expect(t, c.cmd('MAIL FROM:<>'), 250, '2.1.0', 'null sender allowed')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 250, '2.1.5', 'RCPT')
    c.cmd('DATA')
    expect(t, c.data(message('bounce', sender='')), 250, '2.0.0', 'bounce queued')
    utf8_from = 'taro@\u4f8b\u3048.jp'
    c.send(('MAIL FROM:<%s> SMTPUTF8 BODY=8BITMIME\r\n' % utf8_from).encode())
    expect(t, c.reply(), 250, '2.1.0', 'UTF-8 sender with SMTPUTF8')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 250, '2.1.5', 'RCPT')
    c.cmd('DATA')
    utf8_body = 'Subject: =?UTF-8?B?5L6L?=\r\n\r\n\u65e5\u672c\u8a9e\r\n'.encode()
    expect(t, c.data(utf8_body), 250, '2.0.0', '8-bit message queued')
    c.cmd('QUIT')
    t.ok(s.wait_mail('alice', 4), 'both reached alice')
    bounce = find_mail(s, 'alice', b'Subject: bounce') or b''
    t.is_(trace_split(bounce)[:2], (b'<>', b'alice@localhost'),
          'null sender: Return-Path: <>')
    t.ok(any(received_split(x)[1] == lf(utf8_body) for x in s.mails('alice')),
         '8-bit body stored unchanged')

    # 8. a large message (several reads, long lines up to 64 KiB)
    big = b''.join(b'%06d ' % i + b'x' * (i % 997) + b'\r\n' for i in range(3000))
    big += b'y' * 65536 + b'\r\n'
    with s.smtp() as sm:
        sm.sendmail('sender@example.org', ['bob@localhost'], b'Subject: big\r\n\r\n' + big)
    t.ok(s.wait_mail('bob', 3), 'large message delivered')
    t.ok(any(received_split(x)[1] == lf(b'Subject: big\r\n\r\n' + big) for x in s.mails('bob')),
         'large message byte-exact')
    t.is_(count_accepted(s), 8, 'eight messages accepted in all')

# header.dat: the E-Post template
TPL = ('# yubin test template\n'
       'Received: from %HELO% (%CLIENT_NAME% [%CLIENT_IP%])\r\n'
       '\tby %HOSTNAME% (test) with %PROTOCOL% id %ID%\n'
       '\tfor <%RCPT%>; %DATE%\n'
       '\n'
       'X-Test: %UNKNOWN% 100%\n')
with Server(conf=conf(), accounts=ACCOUNTS, files={'header.dat': TPL}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    c = Session(s)
    c.ehlo('tpl.example')
    c.cmd('MAIL FROM:<sender@example.org>')
    c.cmd('RCPT TO:<alice@localhost>')
    c.cmd('DATA')
    r = c.data(message('tpl'))
    qid = queued_id(r)
    c.cmd('MAIL FROM:<sender@example.org>')
    c.cmd('RCPT TO:<alice@localhost>')
    c.cmd('RCPT TO:<bob@localhost>')
    c.cmd('DATA')
    r2 = c.data(message('tpl2'))
    qid2 = queued_id(r2)
    c.cmd('QUIT')
    t.ok(s.wait_mail('alice', 2) and s.wait_mail('bob', 1), 'template messages delivered')
    got = sorted(s.mails('alice'), key=lambda m: b'tpl2' in m)
    t.like(trace_split(got[0])[2].decode(),
           r'^Received: from tpl\.example \(127\.0\.0\.1 \[127\.0\.0\.1\]\)\n'
           r'\tby mx\.test\.invalid \(test\) with ESMTP id ' + (qid or 'X') + r'\n'
           r'\tfor <alice@localhost>; \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\n'
           r'X-Test: %UNKNOWN% 100%\nFrom: ',
           'header.dat expanded (comment and empty lines skipped, unknown tokens kept)')
    t.like(trace_split(got[1])[2].decode() if len(got) > 1 else '',
           r'^Received: from tpl\.example \(127\.0\.0\.1 \[127\.0\.0\.1\]\)\n'
           r'\tby mx\.test\.invalid \(test\) with ESMTP id ' + (qid2 or 'X') + r'\n'
           r'\t; \w{3}, \d{1,2} \w{3} \d{4} ',
           'several recipients: "for <%RCPT%>" dropped')

t.done()
