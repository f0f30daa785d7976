#!/usr/bin/env python3
# The log lines of a message, compared with golden files (STYLE.md rule 20),
# so that a change to the log format shows up as a diff:
#   t/golden/log_local.txt   one message taken over SMTP for a local
#                            account and delivered to its Maildir;
#   t/golden/log_bounce.txt  one message submitted with AUTH for a remote
#                            recipient whose server answers 550, and the
#                            report that goes back to the sender.
#
# The lines kept are the message's: those of the SMTP session that took it
# (its sid) and those of its queue id and of every queue id one of them
# names (the report).  Processes log concurrently, so lines are grouped by
# process name (yubind/smtp first, then yubind/queue, then the others by
# name), and within the queue manager and the others by queue id in the
# order the ids were found; each process's own order is kept.
#
# What changes from run to run is masked, and only that: the time stamp
# reads <TIME>, the process id <PID>, the queue ids <QID1>, <QID2>... in
# the order found, the session id sid=<SID>, client and relay ports
# <PORT>, and delay=<DELAY>.  A header.dat without a date makes the
# Received: header, and so size=, the same length on every day of the
# month; the client says EHLO client.test whatever the machine's name.
#
# After a deliberate change of the format, rewrite the files with
#   YUBIN_GOLDEN_UPDATE=1 YUBIN_BUILD=$PWD/build prove t/proto/log_golden.t
# (from the project root), read the diff, and commit them.
import difflib
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, TOP, send_authed, wait_until

t = TAP()
GOLDEN = os.path.join(TOP, 't', 'golden')
UPDATE = os.environ.get('YUBIN_GOLDEN_UPDATE') == '1'
HEADER = 'Received: from %HELO% ([%CLIENT_IP%])\n\tby %HOSTNAME% (yubin) with %PROTOCOL% id %ID%\n'
BODY = b'Subject: golden\r\nMessage-ID: <golden@client.test>\r\n\r\nbody\r\n'

LINE = re.compile(r'^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+) '
                  r'(?P<proc>[\w/.-]+)\[(?P<pid>\d+)\]: (?P<id>\S+): (?P<msg>.*)$')
QID = re.compile(r'\b[0-9A-F]{16}\b')
MASKS = [
    (re.compile(r'\bsid=[0-9a-f]+'), 'sid=<SID>'),
    (re.compile(r'\bport=\d+'), 'port=<PORT>'),
    (re.compile(r'\]:\d+'), ']:<PORT>'),
    (re.compile(r'\bdelay=\S+'), 'delay=<DELAY>'),
]


def message_lines(log):
    """The masked lines of the one accepted message in LOG, in a stable order."""
    lines = [m.groupdict() for m in map(LINE.match, log.splitlines()) if m]
    acc = [l for l in lines if l['msg'].startswith('accepted ')]
    if len(acc) != 1:
        return None
    sid = re.search(r'\bsid=(\S+)', acc[0]['msg']).group(1)
    qids = [acc[0]['id']]
    grew = True
    while grew:                 # the ids the message's lines name
        grew = False
        for l in lines:
            if l['id'] in qids:
                for q in QID.findall(l['msg']):
                    if q not in qids:
                        qids.append(q)
                        grew = True
    keep = [l for l in lines if l['id'] in qids or
            (l['id'] == 'NOQUEUE' and l['msg'].endswith(' sid=' + sid))]
    procs = sorted({l['proc'] for l in keep},
                   key=lambda p: ({'yubind/smtp': 0, 'yubind/queue': 1}.get(p, 2), p))

    def order(l):
        rank = procs.index(l['proc'])
        return (rank, 0 if rank == 0 or l['id'] not in qids else qids.index(l['id']))

    out = []
    for l in sorted(keep, key=order):
        text = '<TIME> %s[<PID>]: %s: %s' % (l['proc'], l['id'], l['msg'])
        for q in qids:
            text = text.replace(q, '<QID%d>' % (qids.index(q) + 1))
        for rx, with_ in MASKS:
            text = rx.sub(with_, text)
        out.append(text + '\n')
    return ''.join(out)


def golden(name, got):
    path = os.path.join(GOLDEN, name)
    if got is None:
        t.ok(False, '%s: exactly one accepted message in the log' % name)
        return
    if UPDATE:
        with open(path, 'w') as f:
            f.write(got)
        t.ok(True, '%s: rewritten' % name)
        return
    try:
        with open(path) as f:
            want = f.read()
    except OSError as e:
        t.ok(False, '%s: %s (YUBIN_GOLDEN_UPDATE=1 makes it)' % (name, e))
        return
    if not t.ok(got == want, '%s: the log lines are the golden ones' % name):
        t.diag(''.join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            'golden/' + name, 'got')))


def count(s, pattern):
    return len(re.findall(pattern, s.log(), re.M))


# 1. accepted over SMTP and delivered to a local account
with Server(accounts={'alice': 'pw'}, tls=False, files={'header.dat': HEADER}) as s:
    with s.smtp() as c:
        c.ehlo('client.test')
        c.sendmail('x@example.org', ['alice@localhost'], BODY)
    t.ok(s.wait_mail('alice', 1), 'local: delivered')
    t.ok(wait_until(lambda: count(s, r': removed$') == 1 and
                    count(s, r': disconnect ') == 1), 'local: out of the queue, session over')
    golden('log_local.txt', message_lines(s.log()))

# 2. a remote recipient refused 550: bounced, the report delivered locally
GW = 'remote.test,127.0.0.1,%d,tls=none\n'
with Sink(rcpt=(550, '5.1.1 <nobody@remote.test>: no such user')) as sink:
    with Server(accounts={'alice': 'pw'}, tls=False,
                files={'header.dat': HEADER, 'gateway.dat': GW % sink.port}) as s:
        send_authed(s, 'alice@localhost', ['nobody@remote.test'], BODY)
        t.ok(s.wait_mail('alice', 1), 'bounce: the report reached the sender')
        t.ok(wait_until(lambda: count(s, r': removed$') == 2 and
                        count(s, r': disconnect ') == 1),
             'bounce: message and report out of the queue, session over')
        golden('log_bounce.txt', message_lines(s.log()))

t.done()
