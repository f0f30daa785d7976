#!/usr/bin/env python3
# Queue control (DESIGN §5): yubinctl queue hold / release / delete with
# several ids, queue list --json.  Held mail (a remote recipient routed to a
# loopback sink and a local mailbox) is kept and never tried while other
# mail goes; it does not expire while held, nor does the time held count
# after its release (test clock); released mail arrives.  Unknown ids are
# reported one line each, the others still done.  JSON checked with
# json.loads, senders with quotes, backslashes and UTF-8 included.
import json
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, send_authed, wait_until

t = TAP()
ACC = {'alice': 'pw', 'bob': 'pw'}


def body(subject):
    return ('Subject: %s\r\nFrom: alice@localhost\r\n\r\nbody of %s\r\n' %
            (subject, subject)).encode()


state = {'ok': False, 'x_tries': 0}


def rcpt(addr):
    if addr.startswith('x@'):
        state['x_tries'] += 1
        if not state['ok']:
            return (451, '4.3.0 "later" please')
    return (250, '2.1.5 ok')


def jlist(s):
    """queue list --json: every line one object."""
    r = s.ctl('queue', 'list', '--json')
    return [json.loads(line) for line in r.stdout.splitlines()]


def by_rcpt(s, addr):
    for m in jlist(s):
        if any(rc['address'] == addr for rc in m['recipients']):
            return m
    return None


def bob_has(s, subject):
    return any(('Subject: %s\n' % subject).encode() in m for m in s.mails('bob'))


def ctl_fail(s, *args):
    return s.ctl(*args, check=False)


with Sink(rcpt=rcpt) as sink:
    gw = {'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % sink.port}
    with Server(accounts=ACC, files=gw,
                conf={'queue': {'retry_interval': '1h'},
                      'smtp': {'resend_timeout': '10m'}}) as s:
        # 1. two messages wait (delivery suspended), one is put on hold
        s.ctl('suspend')
        send_authed(s, 'alice@localhost', ['x@remote.test', 'bob@localhost'], body('one'))
        send_authed(s, 'alice@localhost', ['y@remote.test', 'bob@localhost'], body('two'))
        m1, m2 = by_rcpt(s, 'x@remote.test'), by_rcpt(s, 'y@remote.test')
        t.ok(m1 is not None and m2 is not None, 'both messages listed as JSON')
        id1, id2 = m1['queue_id'], m2['queue_id']
        r = s.ctl('queue', 'hold', id1)
        t.is_(r.stdout, 'held %s\n' % id1, 'queue hold says so')
        r = s.ctl('queue', 'hold', id1)
        t.is_(r.stdout, '%s: held already\n' % id1, 'a second hold changes nothing')
        lines = {l.split()[0]: l for l in s.ctl('queue', 'list').stdout.splitlines()}
        t.like(lines.get(id1), r' hold=admin$', 'queue list shows the hold')
        t.ok(id2 in lines and 'hold=' not in lines[id2], 'and only on the held message')
        t.like(s.ctl('queue', 'show', id1).stdout,
               r'\nhold: admin since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n', 'queue show: the hold')
        m1 = by_rcpt(s, 'x@remote.test')
        t.ok(m1['hold'] is True and m1['hold_reason'] == 'admin', 'JSON: hold and its reason')
        t.ok(by_rcpt(s, 'y@remote.test')['hold'] is False and
             by_rcpt(s, 'y@remote.test')['hold_reason'] is None, 'JSON: not held: false, null')
        t.is_(m1['sender'], 'alice@localhost', 'JSON: sender')
        t.ok(isinstance(m1['arrival_time'], int) and isinstance(m1['message_size'], int) and
             m1['message_size'] > 0, 'JSON: arrival time and size are numbers')
        t.is_(sorted((rc['address'], rc['state'], rc['attempts'], rc['next_try'], rc['delay_reason'])
                     for rc in m1['recipients']),
              [('bob@localhost', 'pending', 0, 0, None), ('x@remote.test', 'pending', 0, 0, None)],
              'JSON: recipients with state, attempts, next try, delay reason')

        # 2. delivery goes on: the other message is delivered, the held one not
        s.ctl('resume')
        t.ok(sink.wait(1), 'the other message reaches the sink')
        t.ok(wait_until(lambda: bob_has(s, 'two')), 'and the local mailbox')
        s.ctl('queue', 'flush')
        send_authed(s, 'alice@localhost', ['bob@localhost'], body('three'))
        t.ok(wait_until(lambda: bob_has(s, 'three')), 'a later message is delivered too')
        t.is_(state['x_tries'], 0, 'the held message was never tried remotely')
        t.ok(not bob_has(s, 'one'), 'nor locally')
        t.is_([m['queue_id'] for m in jlist(s)], [id1], 'it alone stays in the queue')

        # 3. past its maximal age while held: not bounced, not tried
        s.stop()
        s.env['YUBIN_TEST_CLOCK_OFFSET'] = '7200'
        s.start()
        t.ok(s.wait_log(r'queue manager started'), 'restarted two hours later (test clock)')
        s.ctl('queue', 'flush')
        send_authed(s, 'alice@localhost', ['bob@localhost'], body('four'))
        t.ok(wait_until(lambda: bob_has(s, 'four')), 'other mail is delivered')
        t.is_(state['x_tries'], 0, 'the held message is still not tried')
        t.is_(s.mails('alice'), [], 'and not bounced for its age')
        t.ok(not re.search(r'status=bounced', s.log()), 'nothing bounced')
        # 'four' is in the mailbox a moment before its entry is removed
        wait_until(lambda: len(jlist(s)) == 1)
        t.is_([(m['queue_id'], m['hold']) for m in jlist(s)], [(id1, True)],
              'still queued, and queue flush left it on hold')

        # 4. release: due now; the time held does not count towards its age
        r = s.ctl('queue', 'release', id1)
        t.is_(r.stdout, 'released %s\n' % id1, 'queue release says so')
        t.ok(wait_until(lambda: bob_has(s, 'one')), 'released: the local copy arrives')
        t.ok(s.wait_log(r'to=<x@remote\.test> .*status=deferred'),
             'the remote copy is tried: 451 defers it')
        t.is_(s.mails('alice'), [], 'not bounced: the two hours held do not count')
        m1 = by_rcpt(s, 'x@remote.test')
        t.ok(m1 is not None and m1['hold'] is False and m1['hold_reason'] is None,
             'JSON: no longer held')
        x = [rc for rc in m1['recipients'] if rc['address'] == 'x@remote.test'][0] if m1 else {}
        t.ok(x.get('state') == 'deferred' and x.get('attempts') == 1 and x.get('next_try', 0) > 0,
             'JSON: deferred, one attempt, next try set')
        t.like(x.get('delay_reason'), r'^451 4\.3\.0 "later" please', 'JSON: delay reason with quotes')
        t.like(x.get('relay'), r'127\.0\.0\.1', 'JSON: the relay')
        r = s.ctl('queue', 'release', id1)
        t.is_(r.stdout, '%s: not held\n' % id1, 'release of mail not held says so')
        state['ok'] = True
        r = s.ctl('queue', 'flush')
        arrived = lambda: state['x_tries'] >= 2 and len(sink.delivered()) == 2
        if not wait_until(arrived, timeout=15):
            # seen twice in full CI runs, never alone: say what was
            # queued, then flush once more
            t.diag('not delivered 15 s after a flush (%r): tries %d, '
                   'delivered %d\n%s\n%s' % (
                       r.stderr, state['x_tries'], len(sink.delivered()),
                       s.ctl('queue', 'list', '--json').stdout, s.log()[-4000:]))
            s.ctl('queue', 'flush')
        t.ok(wait_until(arrived), 'the released message reaches the sink')
        t.ok(wait_until(lambda: jlist(s) == []), 'queue empty')

        # 5. several ids, unknown ones among them; hostile senders in JSON
        s.ctl('suspend')
        with s.smtp() as c:
            c.ehlo('client.test')
            c.user, c.password = 'alice', 'pw'
            c.auth('PLAIN', c.auth_plain)
            c.command_encoding = 'utf-8'
            t.is_(c.docmd('MAIL FROM:<"we\\"ird\\\\x"@example.org>')[0], 250,
                  'a quoted sender with quote and backslash')
            c.rcpt('bob@localhost')
            t.is_(c.data(body('five'))[0], 250, 'queued')
            t.is_(c.docmd('MAIL FROM:<j\u00f6rg@example.org> SMTPUTF8')[0], 250,
                  'a UTF-8 sender')
            c.rcpt('bob@localhost')
            t.is_(c.data(body('six'))[0], 250, 'queued')
        raw = s.ctl('queue', 'list', '--json').stdout
        t.ok(all(0x20 <= ord(ch) or ch == '\n' for ch in raw), 'JSON: no raw control characters')
        msgs = [json.loads(line) for line in raw.splitlines()]
        senders = sorted(m['sender'] for m in msgs)
        t.is_(senders, ['"we\\"ird\\\\x"@example.org', 'j\u00f6rg@example.org'],
              'JSON: senders read back exactly')
        ids = [m['queue_id'] for m in msgs]
        r = ctl_fail(s, 'queue', 'hold', ids[0], 'FFFFFFFFFFFFFFFF', ids[1], '../x')
        t.is_(r.returncode, 1, 'hold with unknown ids: exit 1')
        t.is_(r.stdout, 'held %s\nheld %s\n' % (ids[0], ids[1]), 'the known ones held')
        t.is_(r.stderr, 'yubinctl: no such queue entry: FFFFFFFFFFFFFFFF\n'
                        'yubinctl: no such queue entry: ../x\n', 'one line per unknown id')
        t.ok(all(m['hold'] for m in jlist(s)), 'both held')
        r = ctl_fail(s, 'queue', 'release', 'nosuch', ids[0], ids[1])
        t.is_((r.returncode, r.stdout, r.stderr),
              (1, 'released %s\nreleased %s\n' % (ids[0], ids[1]),
               'yubinctl: no such queue entry: nosuch\n'), 'release: the same')
        r = ctl_fail(s, 'queue', 'delete', ids[0], 'NOSUCH', ids[1])
        t.is_((r.returncode, r.stdout, r.stderr),
              (1, 'deleted %s\ndeleted %s\n' % (ids[0], ids[1]),
               'yubinctl: no such queue entry: NOSUCH\n'), 'delete: the same')
        t.is_(jlist(s), [], 'both deleted')
        t.ok(not [n for n in s.queue_files() if n in ids], 'and their queue files')
        s.ctl('resume')
        send_authed(s, 'alice@localhost', ['bob@localhost'], body('seven'))
        t.ok(wait_until(lambda: bob_has(s, 'seven')), 'delivery goes on')
        t.ok(not bob_has(s, 'five') and not bob_has(s, 'six'), 'deleted mail never delivered')

        # 6. bad usage
        for args, err in ((('queue', 'hold'), 'usage: queue hold ID...'),
                          (('queue', 'release'), 'usage: queue release ID...'),
                          (('queue', 'delete'), 'usage: queue delete ID...'),
                          (('queue', 'show'), 'usage: queue list'),
                          (('queue', 'list', 'extra'), 'usage: queue list'),
                          (('queue', 'list', '--xml'), 'usage: queue list'),
                          (('queue',), 'usage: queue list'),
                          (('queue', 'show', 'FFFFFFFFFFFFFFFF'), 'no such queue entry: FFFFFFFFFFFFFFFF'),
                          (('queue', 'delete', 'FFFFFFFFFFFFFFFF'), 'no such queue entry: FFFFFFFFFFFFFFFF')):
            r = ctl_fail(s, *args)
            t.ok(r.returncode == 1 and r.stderr.startswith('yubinctl: ' + err) and
                 r.stderr.count('\n') == 1, '%s: exit 1, one line' % ' '.join(args))
            if r.returncode != 1:
                t.diag(r.stderr)

t.done()
