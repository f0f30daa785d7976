#!/usr/bin/env python3
"""yubin-sendmail (DESIGN.md §5, SEEDS.md §17, issue 8): the three forms over
the local submission socket HOME/run/submit.sock, -mf with and without -del,
-sb in UTF-8 / ISO-2022-JP / Shift_JIS with an RFC 2047 subject, -onlyonce
with two concurrent runs, the sendmail(8) form with -t -i -f, --smtp over
TCP, and every exit code (sysexits.h) with its one stderr line."""

import email
import email.header
import email.policy
import os
import re
import socket
import stat
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from yubintest import Server, TAP, binary, wait_until  # noqa: E402

t = TAP()
SM = binary('yubin-sendmail')


def run(s, *args, input=None, env=None, conf=True):
    argv = [SM] + (['-c', s.conf_path] if conf else []) + list(args)
    e = dict(os.environ)
    e.pop('YUBIN_CONF', None)
    e.update(env or {})
    return subprocess.run(argv, input=input, capture_output=True, env=e, timeout=60)


def body_of(raw):
    m = email.message_from_bytes(raw, policy=email.policy.default)
    return m


def subject(m):
    return str(email.header.make_header(email.header.decode_header(m['Subject'])))


def newest(s, acct, before):
    """The message of ACCT that is not in BEFORE (a list of contents)."""
    assert wait_until(lambda: len(s.mails(acct)) > len(before))
    fresh = [m for m in s.mails(acct) if m not in before]
    return fresh[-1] if fresh else b''


def strip_received(raw):
    """The stored message without the trace lines of final delivery
    (Return-Path:, Delivered-To:) and the Received: header the server
    added; None when the trace lines are missing."""
    lines = raw.split(b'\n')
    if not (lines[0].startswith(b'Return-Path: <') and
            lines[1:2] and lines[1].startswith(b'Delivered-To: ')):
        return None
    lines = lines[2:]
    i = 1
    while i < len(lines) and lines[i][:1] in (b' ', b'\t'):
        i += 1
    return b'\n'.join(lines[i:])


with Server(accounts={'alice': 'pw', 'bob': 'pw', 'carol': 'pw', 'dave': 'pw'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    sock = os.path.join(s.home, 'run', 'submit.sock')
    st = os.stat(sock)
    t.ok(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666,
         'HOME/run/submit.sock is a socket, mode 0666')
    with open(os.path.join(s.home, 'run', 'ports')) as f:
        t.ok('submit' not in f.read() and 'local' not in open(
            os.path.join(s.home, 'run', 'ports')).read(), 'the ports file does not list it')

    # ---- -mf ---------------------------------------------------------------
    mail = (b'From: alice@localhost\nTo: bob@localhost\nSubject: mf test\n'
            b'Message-ID: <mf1@test>\n\nline one\n.leading dot\n\xe6\x97\xa5\xe6\x9c\xac\n')
    mf = os.path.join(s.tmp, 'a.eml')
    with open(mf, 'wb') as f:
        f.write(mail)
    r = run(s, 'alice@localhost', 'bob@localhost,carol@localhost', '-mf', mf)
    t.is_((r.returncode, r.stderr), (0, b''), '-mf to two recipients: exit 0, silent')
    t.ok(s.wait_mail('bob', 1) and s.wait_mail('carol', 1), 'both copies delivered')
    t.is_(strip_received(s.mails('bob')[0]), mail, '-mf sends the file unchanged (dot kept)')
    t.ok(os.path.exists(mf), 'without -del the file stays')
    t.ok(s.wait_log(r'uid=%d .*listener=local' % os.getuid()), 'the session logged the caller uid')
    t.ok(s.wait_log(r'accepted from=<alice@localhost>'), 'envelope sender is FROM')
    # a local submission without AUTH from a local account's address
    # counts as sent by that account (issue 13)
    # (the counter is written just after the 250: poll)
    t.ok(wait_until(lambda: re.search(r'(?m)^alice\s.* sent=1 ',
                                      s.ctl('mailbox', 'alice').stdout)),
         'the sent counter counts it for alice') or t.diag(s.ctl('mailbox', 'alice').stdout)
    t.like(s.ctl('mailbox', 'bob').stdout, r'(?m)^bob\s.* sent=0 ',
           'and for nobody else')

    r = run(s, 'alice@localhost', 'dave@localhost', '-mf', mf, '-del')
    t.is_(r.returncode, 0, '-mf -del: exit 0')
    t.ok(s.wait_mail('dave', 1), '-mf -del delivered')
    t.ok(not os.path.exists(mf), '-del removed the file after the 250')

    with open(mf, 'wb') as f:
        f.write(mail)
    r = run(s, 'alice@localhost', 'bob@localhost,nosuch@localhost', '-mf', mf, '-del')
    t.is_(r.returncode, 67, 'a refused recipient: exit 67 (EX_NOUSER)')
    t.like(r.stderr.decode(), r'^yubin-sendmail: server refused RCPT: 550 5\.1\.1 .*\n$',
           'one line on stderr says why')
    t.ok(os.path.exists(mf), 'and -del keeps the file')
    r = run(s, 'alice@localhost', 'bob@localhost', '-mf', os.path.join(s.tmp, 'nope.eml'))
    t.is_(r.returncode, 66, 'a missing mail file: exit 66 (EX_NOINPUT)')
    t.like(r.stderr.decode(), r'nope\.eml: No such file', 'names the file')
    empty = os.path.join(s.tmp, 'empty.eml')
    open(empty, 'w').close()
    r = run(s, 'alice@localhost', 'bob@localhost', '-mf', empty)
    t.is_(r.returncode, 65, 'an empty mail file: exit 65 (EX_DATAERR)')

    # remote recipient through the local channel: trusted like AUTH
    r = run(s, 'alice@localhost', 'someone@example.com', '-mf', mf)
    t.is_(r.returncode, 0, 'local channel may relay (queued for a remote address)')

    # ---- -sb ---------------------------------------------------------------
    def sb_case(name, data, want_cs, want_subj, want_body, acct):
        p = os.path.join(s.tmp, name)
        with open(p, 'wb') as f:
            f.write(data)
        before = s.mails(acct)
        r = run(s, 'alice@localhost', acct + '@localhost', '-sb', p)
        t.is_(r.returncode, 0, '-sb %s: exit 0' % name)
        t.ok(s.wait_mail(acct, len(before) + 1), '-sb %s delivered' % name)
        raw = newest(s, acct, before)
        m = body_of(raw)
        t.is_(m.get_content_charset(), want_cs, '-sb %s: charset %s' % (name, want_cs))
        t.is_(subject(m), want_subj, '-sb %s: subject decodes' % name)
        t.is_(m.get_content().replace('\r\n', '\n'), want_body, '-sb %s: body decodes' % name)
        t.ok(m['Date'] and re.match(r'^<[^<>@\s]+@localhost>$', m['Message-ID'] or ''),
             '-sb %s: Date and Message-ID added' % name)
        t.ok(all(b < 0x80 for b in raw.split(b'\n\n', 1)[0]), '-sb %s: header is 7-bit' % name)
        return m

    m = sb_case('ascii.sab', b'Job finished\nAll done.\nbye\n', 'us-ascii', 'Job finished',
                'All done.\nbye\n', 'bob')
    t.is_(m['Subject'], 'Job finished', 'an ASCII subject is not encoded')
    t.is_(m['To'], 'bob@localhost', 'To: is the recipient')
    jp_subj = '休暇中です'
    jp_body = 'ただいま休暇中です。\n来週戻ります。\n'
    sb_case('utf8.sab', (jp_subj + '\n' + jp_body).encode(), 'utf-8', jp_subj, jp_body, 'bob')
    sb_case('jis.sab', (jp_subj + '\n' + jp_body).encode('iso-2022-jp'), 'iso-2022-jp',
            jp_subj, jp_body, 'bob')
    sb_case('sjis.sab', (jp_subj + '\r\n' + jp_body.replace('\n', '\r\n')).encode('shift_jis'),
            'shift_jis', jp_subj, jp_body, 'bob')
    long_subj = 'あ' * 60
    sb_case('long.sab', (long_subj + '\nx\n').encode(), 'utf-8', long_subj, 'x\n', 'bob')
    bad = os.path.join(s.tmp, 'bad.sab')
    with open(bad, 'wb') as f:
        f.write(b'subject\n\xff\xfe\xfd\x80\x80\n')
    r = run(s, 'alice@localhost', 'bob@localhost', '-sb', bad)
    t.is_(r.returncode, 65, '-sb with bytes of no known charset: exit 65')
    r = run(s, 'alice@localhost', 'bob@localhost', '-sb', os.path.join(s.tmp, 'none.sab'))
    t.is_(r.returncode, 66, '-sb missing file: exit 66')

    # ---- -onlyonce, two at once --------------------------------------------
    sab = os.path.join(s.tmp, 'ascii.sab')
    rec = os.path.join(s.tmp, 'onlyonce.csv')
    n0 = len(s.mails('carol'))
    procs = [subprocess.Popen([SM, '-c', s.conf_path, 'alice@localhost', 'carol@localhost',
                               '-sb', sab, '-onlyonce', rec],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    codes = [p.wait(60) for p in procs]
    t.is_(codes, [0, 0], '-onlyonce: both concurrent runs exit 0')
    t.ok(s.wait_mail('carol', n0 + 1), 'one reply delivered')
    t.ok(s.wait_log(r'queue.*to=<carol@localhost>.*status=sent'), 'delivery logged')
    with open(rec) as f:
        t.is_(f.read(), 'alice@localhost,carol@localhost\n', 'the record holds the pair once')
    r = run(s, 'alice@localhost', 'carol@localhost,dave@localhost', '-sb', sab, '-onlyonce', rec)
    t.is_(r.returncode, 0, '-onlyonce with a new pair: exit 0')
    t.ok(s.wait_mail('dave', 2), 'the new recipient got it')
    with open(rec) as f:
        t.is_(f.read(), 'alice@localhost,carol@localhost\nalice@localhost,dave@localhost\n',
              'only the new pair was added')
    t.is_(len(s.mails('carol')), n0 + 1, 'the known pair was skipped: still one copy')
    r = run(s, 'alice@localhost', 'carol@localhost', '-sb', sab, '-onlyonce',
            os.path.join(s.tmp, 'no-dir', 'x.csv'))
    t.is_(r.returncode, 73, '-onlyonce file that cannot be made: exit 73')

    # ---- the sendmail(8) form ----------------------------------------------
    msg = (b'To: "Bob B." <bob@localhost>, carol@localhost (Carol)\n'
           b'Cc: team: dave@localhost;\nBcc: alice@localhost\nSubject: cron\n\nout\n.\nafter dot\n')
    n = {a: s.mails(a) for a in ('alice', 'bob', 'carol', 'dave')}
    r = run(s, '-t', '-i', '-f', 'cron@localhost', input=msg)
    t.is_(r.returncode, 0, '-t -i -f: exit 0')
    t.ok(all(s.wait_mail(a, len(n[a]) + 1) for a in n), '-t took To, Cc (group) and Bcc')
    got = newest(s, 'alice', n['alice'])
    t.ok(b'Bcc:' not in got, 'Bcc removed')
    t.ok(b'\nafter dot\n' in got, '-i: a lone dot does not end the message')
    m = body_of(got)
    t.ok(m['Date'] and m['Message-ID'] and m['From'] == 'cron@localhost',
         'Date, Message-ID and From added')
    t.ok(s.wait_log(r'accepted from=<cron@localhost>'), '-f sets the envelope sender')

    nb = s.mails('bob')
    r = run(s, 'bob@localhost', input=b'Subject: dots\n\nbefore\n.\nafter\n')
    t.is_(r.returncode, 0, 'TO on the command line, stdin message: exit 0')
    got = newest(s, 'bob', nb)
    t.ok(b'before\n' in got and b'after' not in got, 'without -i a lone dot ends the input')
    t.ok(re.search(rb'\nFrom: \S+@localhost\n', got), 'From: defaults to the caller at the domain')

    nb = s.mails('bob')
    r = run(s, '-oi', '-fbob@localhost', 'bob@localhost', input=b'no header here\n')
    t.is_(r.returncode, 0, 'a message without a header: exit 0')
    t.ok(newest(s, 'bob', nb).endswith(b'\n\nno header here\n'), 'the text became the body')

    r = run(s, '-t', input=b'Subject: nobody\n\nx\n')
    t.is_(r.returncode, 64, '-t without recipients: exit 64')
    r = run(s, input=b'x\n')
    t.is_(r.returncode, 64, 'no recipients at all: exit 64')
    t.like(r.stderr.decode(), r'^yubin-sendmail: no recipients', 'and says so')
    r = run(s, '-X', 'bob@localhost', input=b'x\n')
    t.is_(r.returncode, 64, 'unknown option: exit 64')
    r = run(s, '--at', 'tomorrow', 'bob@localhost', input=b'x\n')
    t.is_(r.returncode, 64, '--at with a bad time: exit 64')
    t.like(r.stderr.decode(), r'expected \+N\[s\|m\|h\|d\] or an RFC 3339', 'with a clear message')
    r = run(s, '--at', '+2h', 'alice@localhost', 'dave@localhost', '-mf', mf)
    t.is_(r.returncode, 0, '--at +2h: exit 0')
    t.ok(wait_until(lambda: re.search(r'release=\d{4}-', s.ctl('queue', 'list').stdout)),
         '--at +2h: held in the queue with its release time')
    r = run(s, '--at', '2001-01-01T00:00:00+09:00', '-f', 'alice@localhost', 'carol@localhost',
            input=b'Subject: at-past\n\nx\n')
    t.is_(r.returncode, 0, '--at a past RFC 3339 time: exit 0')
    t.ok(wait_until(lambda: any(b'Subject: at-past' in m for m in s.mails('carol'))),
         'and it is delivered now')
    r = run(s, '--at', '+30d', 'bob@localhost', input=b'x\n')
    t.is_(r.returncode, 69, '--at past queue.max_hold: refused by the server, exit 69')
    r = run(s, 'bad address', 'bob@localhost', '-mf', mf)
    t.is_(r.returncode, 64, 'a bad FROM: exit 64')
    r = run(s, 'alice@localhost', 'bob@localhost', '-mf')
    t.is_(r.returncode, 64, '-mf without a file: exit 64')
    r = run(s, 'alice@localhost', 'bob@localhost', '-sb', sab, '-del')
    t.is_(r.returncode, 64, '-del with -sb: exit 64')

    # ---- configuration from $YUBIN_CONF ----------------------------------
    nb = len(s.mails('bob'))
    r = run(s, 'bob@localhost', input=b'Subject: env\n\nx\n', conf=False,
            env={'YUBIN_CONF': s.conf_path})
    t.is_(r.returncode, 0, '$YUBIN_CONF finds the configuration')
    t.ok(s.wait_mail('bob', nb + 1), 'delivered')
    r = run(s, 'bob@localhost', input=b'x\n', conf=False,
            env={'YUBIN_CONF': os.path.join(s.tmp, 'missing.conf')})
    t.is_(r.returncode, 78, 'an unreadable configuration: exit 78 (EX_CONFIG)')

    # ---- --smtp over TCP ---------------------------------------------------
    nb = len(s.mails('bob'))
    r = run(s, '--smtp', '127.0.0.1:%d' % s.port('smtp'), '-f', 'x@example.org',
            'bob@localhost', input=b'Subject: tcp\n\nx\n')
    t.is_(r.returncode, 0, '--smtp HOST:PORT: exit 0')
    t.ok(s.wait_mail('bob', nb + 1), 'delivered over TCP')
    r = run(s, '--smtp', '127.0.0.1:%d' % s.port('smtp'), '-f', 'x@example.org',
            'x@example.com', input=b'Subject: tcp\n\nx\n')
    t.is_(r.returncode, 69, '--smtp: relay refused (no trust over TCP): exit 69')

    # a fake server for 4xx and 5xx at the end of DATA
    def fake(replies):
        ls = socket.socket()
        ls.bind(('127.0.0.1', 0))
        ls.listen(1)

        def serve():
            try:
                talk()
            except OSError:     # the client may hang up first
                pass

        def talk():
            c, _ = ls.accept()
            f = c.makefile('rwb')
            f.write(b'220 fake\r\n')
            f.flush()
            in_data = False
            while True:
                line = f.readline()
                if not line:
                    break
                if in_data:
                    if line == b'.\r\n':
                        in_data = False
                        f.write(replies['end'] + b'\r\n')
                        f.flush()
                    continue
                v = line[:4].upper()
                if v == b'DATA':
                    in_data = True
                    f.write(b'354 go\r\n')
                elif v == b'QUIT':
                    f.write(b'221 bye\r\n')
                    f.flush()
                    break
                else:
                    f.write(replies.get(v, b'250 ok') + b'\r\n')
                f.flush()
            c.close()
            ls.close()
        th = threading.Thread(target=serve, daemon=True)
        th.start()
        return ls.getsockname()[1], th

    for end, code, what in ((b'451 4.3.0 try later', 75, '4xx after the data: exit 75'),
                            (b'554 5.6.0 content refused', 65, '5xx after the data: exit 65')):
        port, th = fake({'end': end})
        mf2 = os.path.join(s.tmp, 'keep.eml')
        with open(mf2, 'wb') as f:
            f.write(mail)
        r = run(s, '--smtp', '127.0.0.1:%d' % port, 'a@x', 'b@y', '-mf', mf2, '-del')
        t.is_(r.returncode, code, what)
        t.ok(os.path.exists(mf2), '-del kept the file (%d)' % code)
        th.join(10)
    port, th = fake({'end': b'250 ok'})
    r = run(s, '--smtp', '127.0.0.1:%d' % port, '--at', '+1h', 'a@x', 'b@y', '-mf', mf2)
    t.is_(r.returncode, 69, '--at to a server without FUTURERELEASE: exit 69')
    t.like(r.stderr.decode(), r'does not offer FUTURERELEASE', 'and says so')
    th.join(10)
    port, th = fake({'end': b'250 ok', b'MAIL': b'421 4.7.0 closing'})
    r = run(s, '--smtp', '127.0.0.1:%d' % port, 'a@x', 'b@y', '-mf', mail and mf2)
    t.is_(r.returncode, 75, '421 to MAIL: exit 75')
    th.join(10)

    # ---- no server ---------------------------------------------------------
    s.stop()
    t.ok(not os.path.exists(sock), 'the socket is removed at stop')
    r = run(s, 'alice@localhost', 'bob@localhost', '-mf', mf2)
    t.is_(r.returncode, 69, 'server not running: exit 69 (EX_UNAVAILABLE)')
    t.like(r.stderr.decode(), r'^yubin-sendmail: cannot reach yubind at .*submit\.sock',
           'and says where it looked')

t.done()
