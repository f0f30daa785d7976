#!/usr/bin/env python3
"""SMTP and TLS: STARTTLS (RFC 3207) with smtplib, the state reset it
implies, the STARTTLS command-injection defence (CVE-2011-0411: plaintext
pipelined after STARTTLS is discarded), implicit TLS on the smtps port
(RFC 8314) with AUTH required, and a server without TLS."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import (Server, TAP, Session, conf, expect, message, lf,  # noqa: E402
                      received_split, client_tls_context, find_mail, b64)

t = TAP()

with Server(conf=conf(), accounts={'alice': 'pw-alice', 'bob': 'pw-bob'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    # STARTTLS with smtplib, then a message
    body = message('over tls')
    with s.smtp() as sm:
        sm.ehlo('tls.example')
        t.ok(sm.has_extn('starttls'), 'STARTTLS advertised in clear')
        code, text = sm.starttls(context=client_tls_context())
        t.is_((code, text), (220, b'2.0.0 Ready to start TLS'), 'STARTTLS 220 2.0.0')
        sm.ehlo('tls.example')
        t.ok(not sm.has_extn('starttls'), 'STARTTLS not advertised inside TLS')
        t.ok(sm.has_extn('auth'), 'AUTH advertised inside TLS')
        code, _ = sm.docmd('STARTTLS')
        t.is_(code, 503, 'STARTTLS inside TLS: 503')
        sm.sendmail('sender@example.org', ['alice@localhost'], body)
    t.ok(s.wait_mail('alice', 1), 'message over TLS delivered')
    hdr, rest = received_split(s.mails('alice')[0] if s.mails('alice') else b'')
    t.is_(rest, lf(body), 'byte-exact')
    t.like((hdr or b'').decode(), r'\n\t\(using TLSv1\.[23] with cipher [A-Z0-9_-]+\)\n'
           r'\tby mx\.test\.invalid \(yubin\) with ESMTPS id ',
           'Received header says ESMTPS and the cipher')
    t.ok(s.wait_log(r'NOQUEUE: starttls TLSv1\.[23] '), 'STARTTLS logged')

    # STARTTLS forgets EHLO and the transaction
    c = Session(s)
    c.ehlo()
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0', 'MAIL before STARTTLS')
    expect(t, c.starttls(), 220, '2.0.0', 'STARTTLS')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 503, '5.5.1',
           'transaction forgotten after STARTTLS')
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 503, '5.5.1',
           'EHLO forgotten after STARTTLS')
    code, text = c.ehlo()
    t.is_(code, 250, 'EHLO again inside TLS')
    expect(t, c.cmd('STARTTLS'), 503, '5.5.1', 'STARTTLS twice')
    c.cmd('QUIT')

    # injection: commands pipelined after STARTTLS in the same packet
    c = Session(s)
    c.ehlo()
    c.send(b'STARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<alice@localhost>\r\n')
    expect(t, c.reply(), 220, '2.0.0', 'STARTTLS with injected commands behind it')
    t.is_(c.buf, b'', 'nothing but the 220 came in clear')
    c.sock = client_tls_context().wrap_socket(c.sock)
    code, text = c.ehlo()
    t.ok(code == 250 and text.startswith('250-mx.test.invalid'),
         'first reply inside TLS answers our EHLO, not an injected command')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 503, '5.5.1',
           'the injected MAIL was not executed')
    expect(t, c.cmd('NOOP'), 250, '2.0.0', 'no stray replies queued')
    c.cmd('QUIT')
    t.ok(s.wait_log(r'discarded \d+ bytes pipelined after STARTTLS'), 'discard logged')

    # implicit TLS (smtps): AUTH required before MAIL
    with s.smtp('smtps') as sm:
        sm.ehlo('implicit.example')
        t.ok(not sm.has_extn('starttls'), 'smtps: no STARTTLS')
        t.ok('PLAIN' in sm.esmtp_features.get('auth', ''), 'smtps: AUTH PLAIN offered')
        code, text = sm.mail('sender@example.org')
        t.is_((code, text), (530, b'5.7.0 Authentication required'), 'smtps: MAIL before AUTH')
        code, _ = sm.docmd('AUTH', 'PLAIN ' + b64('\0alice\0pw-alice'))
        t.is_(code, 235, 'smtps: AUTH PLAIN')
        sm.sendmail('alice@localhost', ['bob@localhost', 'friend@remote.example'],
                    message('implicit', to='bob@localhost'))
    t.ok(s.wait_mail('bob', 1), 'smtps message delivered')
    hdr, _ = received_split(find_mail(s, 'bob', b'Subject: implicit'))
    t.like((hdr or b'').decode(), r' with ESMTPSA id ', 'Received: ESMTPSA')

    # smtps with a client that does not speak TLS: no greeting in clear
    raw = s.connect('smtps', timeout=10)
    raw.sendall(b'EHLO plain.example\r\n')
    try:
        data = raw.recv(100)
    except OSError:
        data = b''
    t.ok(not data.startswith(b'220'), 'smtps never talks SMTP in clear')
    raw.close()

with Server(conf=conf(), accounts={'alice': 'pw-alice'}, tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    c = Session(s)
    code, text = c.ehlo()
    t.ok(code == 250 and 'STARTTLS' not in text, 'no TLS: STARTTLS not advertised')
    expect(t, c.cmd('STARTTLS'), 454, '4.7.0', 'no TLS: STARTTLS 454')
    expect(t, c.cmd('NOOP'), 250, '2.0.0', 'session goes on in clear')
    c.cmd('QUIT')

t.done()
