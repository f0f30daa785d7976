#!/usr/bin/env python3
"""quota plugin, mailbox capacity (issue 5; SEEDS.md §2.3, §2.4, §21).

mailbox_capacity_mail_count and mailbox_capacity_mail_size, server-wide, per
account in config.def and per account record (yubinctl account add
--quota-count/--quota-size), with config.def beating the record and the
record beating the server value:
  - RCPT to a full mailbox gets 452 4.2.2, so does a declared SIZE= that
    would overflow it (bytes + SIZE > limit; exactly filling it is fine);
  - a delivery that would overflow the mailbox is not stored: refused with
    552 5.2.2, or left in the queue (452 4.2.2) with quota_full_tempfail=1,
    and delivered once there is room; the size it is checked with is the
    POP3 (CRLF) size, exactly;
  - the usage (yubinctl mailbox NAME) is exact after deliveries and after
    POP3 deletions, which make room again; `yubinctl mailbox --recount`
    repairs it after files were added and removed by hand;
  - every refusal is logged with the account, the usage and the limit;
  - a bad quota_full_tempfail stops yubind -t."""

import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import Server, TAP, Session, expect, queued_id, binary  # noqa: E402
from pop3_lib import put  # noqa: E402

t = TAP()
PW = 'Quota-Pw-1'


def conf(*extra):
    """The quota plugin on, failed AUTH fast, EXTRA sections merged in."""
    out = {'server': {'plugins': 'quota'}, 'smtp': {'auth_fail_delay': '0', 'auth_penalty_base': '0'}}
    for e in extra:
        for sec, kv in e.items():
            out.setdefault(sec, {}).update(kv)
    return out


def write_def(s, name, text):
    """HOME/mailbox/NAME/config.def = TEXT, replaced atomically (the server
    reads it at every decision)."""
    path = os.path.join(s.home, 'mailbox', name, 'config.def')
    with open(path + '.new', 'w') as f:
        f.write(text)
    os.chmod(path + '.new', 0o644)
    os.rename(path + '.new', path)


def pop3_size(data):
    """The size POP3 gives stored DATA: LF -> CRLF, a last line terminated."""
    size = len(data) + len(re.findall(rb'(?<!\r)\n', data))
    if data and not data.endswith(b'\n'):
        size += 2
    return size


def disk(s, name):
    """(messages, POP3 bytes) actually in NAME's Maildir."""
    mails = s.mails(name)
    return (len(mails), sum(pop3_size(m) for m in mails))


def usage(s, name=None, recount=False):
    """(mails, bytes) of `yubinctl mailbox [--recount] NAME`."""
    args = ['mailbox'] + (['--recount'] if recount else []) + [name]
    out = s.ctl(*args).stdout
    m = re.search(r'^%s\s+mails=(\d+) bytes=(\d+) ' % re.escape(name), out, re.M)
    return (int(m.group(1)), int(m.group(2))) if m else out


def pop_stat(s, name):
    p = s.pop3()
    p.user(name)
    p.pass_(PW)
    r = p.stat()
    p.quit()
    return r


def pop_dele(s, name, n):
    """DELE message N of NAME, then QUIT (the deletion takes effect)."""
    p = s.pop3()
    p.user(name)
    p.pass_(PW)
    p.dele(n)
    p.quit()


def body(lines, width=70, tag='x'):
    return ''.join('%s %s\r\n' % (tag, 'y' * width) for _ in range(lines))


def msg(subject, text='hello\r\n'):
    return ('From: <x@example.org>\r\nSubject: %s\r\n\r\n%s' % (subject, text)).encode()


def rcpt_only(s, rcpt, size=None):
    """MAIL (with SIZE= when given) and RCPT; returns the RCPT reply."""
    c = Session(s)
    c.ehlo()
    c.cmd('MAIL FROM:<x@example.org>' + (' SIZE=%d' % size if size is not None else ''))
    r = c.cmd('RCPT TO:<%s>' % rcpt)
    c.cmd('QUIT')
    c.close()
    return r


def send(s, rcpt, data, size=None):
    """A whole transaction; returns (RCPT reply, end-of-DATA reply or None)."""
    c = Session(s)
    c.ehlo()
    c.cmd('MAIL FROM:<x@example.org>' + (' SIZE=%d' % size if size is not None else ''))
    r = c.cmd('RCPT TO:<%s>' % rcpt)
    end = None
    if r[0] == 250:
        c.cmd('DATA')
        end = c.data(data)
    c.cmd('QUIT')
    c.close()
    return r, end


def deliver(s, rcpt, data, name):
    """Send DATA to RCPT and wait until the queue manager is done with it;
    returns the queue id."""
    r, end = send(s, rcpt, data)
    qid = queued_id(end) if end else None
    t.ok(qid is not None, '%s: accepted' % name)
    if qid:
        t.ok(s.wait_log(r'%s: removed' % qid), '%s: queue manager done' % name)
    return qid


def full_reply(r, rcpt, name):
    expect(t, r, 452, '4.2.2', name, text=r'^452 4\.2\.2 <%s>: mailbox full$' % re.escape(rcpt))


# ---------------------------------------------------------------------------
# Count limits: server value 2; bob config.def 1; carol record 3; dave record
# 1 but config.def 3; erin config.def 0 (no limit, though the server says 2).
ACCOUNTS = {'alice': PW, 'bob': PW, 'carol': (PW, ['--quota-count', '3']),
            'dave': (PW, ['--quota-count', '1']), 'erin': PW, 'kate': PW}
with Server(conf=conf({'server': {'mailbox_capacity_mail_count': '2'}}),
            accounts=ACCOUNTS, tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-5000:]))
    write_def(s, 'bob', 'mailbox_capacity_mail_count=1\n')
    write_def(s, 'dave', 'mailbox_capacity_mail_count=3\n')
    write_def(s, 'erin', 'mailbox_capacity_mail_count=0\n')

    for i in range(2):
        deliver(s, 'alice@localhost', msg('a%d' % i, body(3)), 'alice #%d' % (i + 1))
    t.is_(len(s.mails('alice')), 2, 'alice holds 2 messages')
    full_reply(rcpt_only(s, 'alice@localhost'), 'alice@localhost',
               'server limit 2: third RCPT gets 452 4.2.2')
    t.ok(s.wait_log(r'NOQUEUE: plugin=quota reject rcpt account=alice reason=mailbox_full '
                    r'mails=2/2 bytes=\d+/none'), 'refusal logged with usage and limit')
    t.is_(usage(s, 'alice'), disk(s, 'alice'), 'usage = what is on disk (POP3 bytes)')
    st = pop_stat(s, 'alice')
    t.is_(usage(s, 'alice'), st, 'usage = POP3 STAT')
    expect(t, rcpt_only(s, 'nobody-here@localhost'), 550, '5.1.1',
           'unknown local user: still the core\'s 550')
    expect(t, rcpt_only(s, 'bob@localhost'), 250, '2.1.5', 'an empty mailbox takes mail')

    deliver(s, 'bob@localhost', msg('b0'), 'bob #1')
    full_reply(rcpt_only(s, 'bob@localhost'), 'bob@localhost',
               'config.def count 1 beats the server\'s 2')

    for i in range(3):
        deliver(s, 'carol@localhost', msg('c%d' % i), 'carol #%d' % (i + 1))
    t.is_(len(s.mails('carol')), 3, 'record --quota-count 3 beats the server\'s 2')
    full_reply(rcpt_only(s, 'carol@localhost'), 'carol@localhost', 'carol: fourth refused')

    for i in range(3):
        deliver(s, 'dave@localhost', msg('d%d' % i), 'dave #%d' % (i + 1))
    t.is_(len(s.mails('dave')), 3, 'config.def 3 beats the record\'s 1')
    full_reply(rcpt_only(s, 'dave@localhost'), 'dave@localhost', 'dave: fourth refused')

    for i in range(3):
        deliver(s, 'erin@localhost', msg('e%d' % i), 'erin #%d' % (i + 1))
    t.is_(len(s.mails('erin')), 3, 'config.def 0 = no limit')
    expect(t, rcpt_only(s, 'erin@localhost'), 250, '2.1.5', 'erin: still accepted')

    # a burst accepted before any of it is delivered: the queue manager is
    # held (SIGSTOP) while three messages are queued, so it delivers them
    # together; the third would overflow and is not stored
    qm = s.children('queue')
    t.is_(len(qm), 1, 'one queue manager')
    qids = []
    os.kill(qm[0], signal.SIGSTOP)
    try:
        for i in range(3):
            r, end = send(s, 'kate@localhost', msg('k%d' % i))
            expect(t, r, 250, '2.1.5', 'burst #%d: RCPT accepted (mailbox empty)' % (i + 1))
            qids.append(queued_id(end))
    finally:
        os.kill(qm[0], signal.SIGCONT)
    t.ok(all(qids), 'burst: all three queued')
    t.ok(all(s.wait_log(r'%s: removed' % q) for q in qids if q), 'burst: all handled')
    t.is_(len(s.mails('kate')), 2, 'burst: two stored, the limit')
    refused = [q for q in qids if q and re.search(
        r'%s: to=<kate@localhost> account=kate status=refused \(552 5\.2\.2 mailbox full\)' % q,
        s.log())]
    t.is_(len(refused), 1, 'burst: one copy refused with 552 5.2.2')
    t.is_(usage(s, 'kate'), disk(s, 'kate'), 'burst: usage = disk')
    full_reply(rcpt_only(s, 'kate@localhost'), 'kate@localhost', 'burst: now full')

    # a POP3 deletion makes room, and the usage follows it exactly
    before = usage(s, 'alice')
    pop_dele(s, 'alice', 1)
    after = usage(s, 'alice')
    t.is_(after, disk(s, 'alice'), 'after DELE+QUIT: usage = disk')
    t.is_(after[0], before[0] - 1, 'one message fewer')
    t.ok(0 < after[1] < before[1], 'fewer bytes')
    t.like(s.ctl('mailbox', 'alice').stdout, r'received=2 deleted=1\b', 'monitor counters')
    expect(t, rcpt_only(s, 'alice@localhost'), 250, '2.1.5', 'room again: RCPT accepted')
    deliver(s, 'alice@localhost', msg('a2'), 'alice #3 after the deletion')
    full_reply(rcpt_only(s, 'alice@localhost'), 'alice@localhost', 'full again')

    # files added and removed by hand: --recount repairs the usage
    md = s.maildir('alice')
    for sub in ('new', 'cur'):
        for n in os.listdir(os.path.join(md, sub)):
            os.unlink(os.path.join(md, sub, n))
    t.is_(usage(s, 'alice')[0], 2, 'files removed by hand: usage is stale')
    full_reply(rcpt_only(s, 'alice@localhost'), 'alice@localhost',
               'stale usage still says full')
    t.is_(usage(s, 'alice', recount=True), (0, 0), '--recount: empty')
    expect(t, rcpt_only(s, 'alice@localhost'), 250, '2.1.5', 'after recount: accepted')
    hand = [b'Subject: by hand\n\nline one\nline two\n',
            b'Subject: crlf by hand\r\n\r\nbody\r\nno final newline']
    put(s, 'alice', '1700000001.hand1.test', hand[0])
    put(s, 'alice', '1700000002.hand2.test:2,S', hand[1], sub='cur')
    t.is_(usage(s, 'alice'), (0, 0), 'files added by hand: usage is stale')
    want = (2, pop3_size(hand[0]) + pop3_size(hand[1]))
    t.is_(usage(s, 'alice', recount=True), want, '--recount NAME counts them (POP3 bytes)')
    t.is_(usage(s, 'alice'), want, 'and keeps the new numbers')
    t.is_(pop_stat(s, 'alice'), want, 'POP3 STAT agrees')
    full_reply(rcpt_only(s, 'alice@localhost'), 'alice@localhost', 'after recount: full')
    os.unlink(os.path.join(s.maildir('bob'), 'new', os.listdir(
        os.path.join(s.maildir('bob'), 'new'))[0]))
    out = s.ctl('mailbox', '--recount').stdout
    t.like(out, r'(?m)^bob\s+mails=0 bytes=0 ', '--recount without NAME: every account')
    t.like(out, r'(?m)^carol\s+mails=3 bytes=%d ' % disk(s, 'carol')[1], 'carol unchanged')
    expect(t, rcpt_only(s, 'bob@localhost'), 250, '2.1.5', 'bob: room after recount')

# ---------------------------------------------------------------------------
# Size limits: server 4000 bytes; grace record 1000; henry config.def.
ACCOUNTS = {'frank': PW, 'grace': (PW, ['--quota-size', '1000']), 'henry': PW}
with Server(conf=conf({'server': {'mailbox_capacity_mail_size': '4000'}}),
            accounts=ACCOUNTS, tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-5000:]))

    deliver(s, 'frank@localhost', msg('f0', body(20)), 'frank #1 (about 1.5 kB)')
    u = usage(s, 'frank')
    t.is_(u, disk(s, 'frank'), 'frank: usage = disk')
    t.ok(1400 < u[1] < 2000, 'frank: about 1.5 kB stored')
    free = 4000 - u[1]
    full_reply(rcpt_only(s, 'frank@localhost', size=free + 1), 'frank@localhost',
               'declared SIZE one byte over the room left: 452 4.2.2')
    t.ok(s.wait_log(r'plugin=quota reject rcpt account=frank reason=size_over_quota '
                    r'mails=1/none bytes=%d/4000 size=%d' % (u[1], free + 1)),
         'SIZE refusal logged with usage, limit and size')
    expect(t, rcpt_only(s, 'frank@localhost', size=free), 250, '2.1.5',
           'declared SIZE exactly filling the mailbox: accepted')
    expect(t, rcpt_only(s, 'frank@localhost'), 250, '2.1.5', 'no SIZE: accepted')

    # undeclared and too big: accepted by SMTP, refused at delivery, not stored
    r, end = send(s, 'frank@localhost', msg('f1', body(40)))
    expect(t, r, 250, '2.1.5', 'undeclared big message: RCPT accepted')
    qid = queued_id(end)
    t.ok(qid, 'undeclared big message: queued')
    t.ok(s.wait_log(r'%s: plugin=quota refuse delivery account=frank reason=mailbox_full '
                    r'mails=1/none bytes=%d/4000 size=\d+' % (qid, u[1])),
         'the plugin logs why it is not stored')
    t.ok(s.wait_log(r'%s: to=<frank@localhost> account=frank status=refused '
                    r'\(552 5\.2\.2 mailbox full\)' % qid), 'recipient refused with 552 5.2.2')
    t.ok(s.wait_log(r'%s: removed' % qid), 'nothing left in the queue')
    t.is_(len(s.mails('frank')), 1, 'not stored')
    t.is_(usage(s, 'frank'), u, 'usage unchanged')
    t.ok(qid not in s.ctl('queue', 'list').stdout, 'queue list does not show it')

    # the record's --quota-size beats the server value
    r, end = send(s, 'grace@localhost', msg('g0', body(20)))
    expect(t, r, 250, '2.1.5', 'grace (1000 bytes): empty mailbox, RCPT accepted')
    qid = queued_id(end)
    t.ok(qid and s.wait_log(r'%s: to=<grace@localhost> account=grace status=refused '
                            r'\(552 5\.2\.2 mailbox full\)' % qid),
         'grace: 1.5 kB refused at delivery (record 1000 < server 4000)')
    full_reply(rcpt_only(s, 'grace@localhost', size=1001), 'grace@localhost',
               'grace: SIZE=1001 refused')
    deliver(s, 'grace@localhost', msg('g1'), 'grace: a small one')
    t.is_(len(s.mails('grace')), 1, 'grace: the small one is stored')

    # exact RCPT boundary through config.def, read at each decision
    deliver(s, 'henry@localhost', msg('h0', body(5)), 'henry #1')
    uh = usage(s, 'henry')
    t.is_(uh, disk(s, 'henry'), 'henry: usage = disk')
    write_def(s, 'henry', 'mailbox_capacity_mail_size=%d\n' % uh[1])
    full_reply(rcpt_only(s, 'henry@localhost'), 'henry@localhost',
               'bytes = limit: full (config.def limit)')
    write_def(s, 'henry', 'mailbox_capacity_mail_size=%d\n' % (uh[1] + 1))
    expect(t, rcpt_only(s, 'henry@localhost'), 250, '2.1.5', 'one byte of room: not full')
    full_reply(rcpt_only(s, 'henry@localhost', size=2), 'henry@localhost',
               'one byte of room, SIZE=2: refused')
    expect(t, rcpt_only(s, 'henry@localhost', size=1), 250, '2.1.5',
           'one byte of room, SIZE=1: accepted')

# ---------------------------------------------------------------------------
# quota_full_tempfail = 1: the copy stays queued until there is room; the
# size it is checked with is the exact POP3 size.
with Server(conf=conf({'plugin quota': {'quota_full_tempfail': '1'},
                       'queue': {'retry_interval': '1'}}),
            accounts={'ivy': PW}, tls=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-5000:]))
    deliver(s, 'ivy@localhost', msg('i0'), 'ivy #1')
    u = usage(s, 'ivy')
    write_def(s, 'ivy', 'mailbox_capacity_mail_size=%d\n' % (u[1] + 1))
    r, end = send(s, 'ivy@localhost', msg('i1', body(30)))
    expect(t, r, 250, '2.1.5', 'ivy: one byte of room, RCPT accepted')
    qid = queued_id(end)
    t.ok(qid, 'ivy: queued')
    t.ok(s.wait_log(r'%s: plugin=quota defer delivery account=ivy reason=mailbox_full '
                    r'mails=1/none bytes=%d/%d size=\d+' % (qid, u[1], u[1] + 1)),
         'the plugin logs the deferral')
    t.ok(s.wait_log(r'%s: to=<ivy@localhost> account=ivy status=deferred '
                    r'\(452 4\.2\.2 mailbox full\)' % qid), 'deferred with 452 4.2.2')
    t.like(s.ctl('queue', 'list').stdout, r'(?m)^%s .* pending=1' % qid,
           'queue list shows it pending')
    t.is_(len(s.mails('ivy')), 1, 'not stored yet')

    # the stored copy is the queue file below the two trace lines
    with open(os.path.join(s.home, 'queue', qid), 'rb') as f:
        want = pop3_size(b'Return-Path: <x@example.org>\nDelivered-To: ivy@localhost\n'
                         + f.read())
    # LF size fits, CRLF size is one byte too many: still deferred
    limit = u[1] + want - 1
    write_def(s, 'ivy', 'mailbox_capacity_mail_size=%d\n' % limit)
    t.ok(s.wait_log(r'%s: plugin=quota defer delivery account=ivy reason=mailbox_full '
                    r'mails=1/none bytes=%d/%d size=%d' % (qid, u[1], limit, want)),
         'checked with the exact POP3 size: one byte short is still deferred')
    write_def(s, 'ivy', 'mailbox_capacity_mail_size=%d\n' % (limit + 1))
    t.ok(s.wait_mail('ivy', 2), 'exactly enough room: delivered on a retry')
    t.ok(s.wait_log(r'%s: removed' % qid), 'and gone from the queue')
    t.is_(usage(s, 'ivy'), (2, limit + 1), 'usage = the limit, exactly')
    t.is_(disk(s, 'ivy'), (2, limit + 1), 'disk agrees')
    full_reply(rcpt_only(s, 'ivy@localhost'), 'ivy@localhost', 'now full: 452 4.2.2')

# ---------------------------------------------------------------------------
# A bad setting stops the configuration check.
s = Server(conf=conf({'plugin quota': {'quota_full_tempfail': 'maybe'}}), tls=False,
           start=False)
try:
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], env=s.env,
                       capture_output=True, text=True)
    t.is_(r.returncode, 1, 'quota_full_tempfail=maybe: yubind -t exits 1')
    t.like(r.stdout + r.stderr, r'quota_full_tempfail', 'and names the key')
finally:
    s.cleanup()

t.done()
