#!/usr/bin/env python3
# Delivery hooks run in the delivery agents (issue 12 item 15, DESIGN §8):
# a deliver hook that crashes costs the agent, never the queue manager,
# and after three crashes the recipient is held with the reason shown by
# yubinctl; a hook past server.hook_timeout ends its agent and defers the
# recipient; a program waited for (exec.def, wait = 1) that sleeps holds up
# neither other mailboxes nor remote delivery.
import os
import re
import signal
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from yubintest import Server, Sink, TAP, BUILD, send_authed, wait_until  # noqa: E402
from prog_lib import make_recorder, record, write_def  # noqa: E402

t = TAP()
PDIR = os.path.join(BUILD, 't', 'plugin')


def qmgr_pid(s):
    """The queue manager: the yubind-queue child of the master itself."""
    for p in s.children('queue'):
        try:
            with open('/proc/%d/stat' % p) as f:
                if int(f.read().rsplit(')', 1)[1].split()[1]) == s.proc.pid:
                    return p
        except (OSError, IndexError, ValueError):
            continue
    return None


def send(s, rcpts, head, subject):
    with s.smtp() as c:
        c.sendmail('sender@example.org', rcpts,
                   '%sSubject: %s\r\n\r\nbody\r\n' % (head, subject))
        return c


def qid_of(s, subject):
    """The queue id the log gives the message SUBJECT (testhooks records
    the deliver hook; the SMTP log line names the id)."""
    m = re.findall(r'([0-9A-F]{16}): .*subject=%s' % subject, s.log())
    return m[0] if m else None


ACC = {'alice': 'pw', 'bob': 'pw', 'carol': 'pw'}

# (a) crashes, (c) hook timeout
with Server(accounts=ACC, conf={'server': {'plugin_dir': PDIR, 'plugins': 'testhooks',
                                           'hook_timeout': '2s'},
                                'queue': {'retry_interval': '1'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-6000:]))
    q0 = wait_until(lambda: qmgr_pid(s))
    t.ok(q0, 'the queue manager runs')

    with s.smtp() as c:
        c.sendmail('sender@example.org', ['alice@localhost'],
                   'X-Test-Deliver: crash\r\nSubject: bad\r\n\r\nbody\r\n')
    bad = [l.split()[0] for l in s.ctl('queue', 'list').stdout.splitlines()]
    t.is_(len(bad), 1, 'the crashing message is queued')
    bad = bad[0] if bad else 'NONE'
    t.ok(s.wait_log(r'%s: local delivery agent \d+ killed by signal 11 \(Segmentation fault\) '
                    r'in plugin=testhooks hook=deliver' % bad),
         'the agent dies, logged with the plugin and hook')
    send(s, ['bob@localhost'], '', 'after')
    t.ok(s.wait_mail('bob', 1), 'mail for another mailbox sent after it is delivered')
    send(s, ['alice@localhost'], '', 'same')
    t.ok(s.wait_mail('alice', 1), 'and mail for the same mailbox too')
    t.ok(s.wait_log(r'%s: to=<alice@localhost> account=alice status=held' % bad),
         'after three crashes the recipient is held')
    show = s.ctl('queue', 'show', bad).stdout
    t.like(show, r'rcpt: <alice@localhost> account=alice state=held attempts=3 '
           r'error=451 4\.3\.0 delivery agent killed by signal 11 \(Segmentation fault\) '
           r'in plugin=testhooks hook=deliver; held after 3 crashes',
           'queue show: held, with the reason')
    t.like(s.ctl('queue', 'list').stdout, r'(?m)^%s .* held=1$' % bad, 'queue list: held=1')
    send(s, ['carol@localhost'], '', 'later')
    t.ok(s.wait_mail('carol', 1), 'mail keeps flowing')
    t.is_(len(re.findall(r'%s: local delivery agent \d+ killed' % bad, s.log())), 3,
          'a held recipient is not tried again')
    t.is_(qmgr_pid(s), q0, 'the queue manager never restarted')
    t.ok(not re.search(r'queue manager .*(killed|exited|restart)', s.log()),
         'the master saw no queue manager failure')

    r = s.ctl('queue', 'flush')
    t.like(r.stdout, r'released %s <alice@localhost>' % bad, 'queue flush releases it')
    t.ok(wait_until(lambda: len(re.findall(r'%s: local delivery agent \d+ killed' % bad,
                                           s.log())) >= 4),
         'and it is tried again')
    t.like(s.ctl('queue', 'show', bad).stdout, r'state=deferred attempts=4 ',
           'with its crash count started afresh')
    r = s.ctl('queue', 'delete', bad)
    t.like(r.stdout, r'deleted %s' % bad, 'queue delete removes a held message')
    t.ok(wait_until(lambda: bad not in s.ctl('queue', 'list').stdout), 'gone from the queue')

    # abort() in the hook: the same path
    with s.smtp() as c:
        c.sendmail('sender@example.org', ['bob@localhost'],
                   'X-Test-Deliver: abort\r\nSubject: abort\r\n\r\nbody\r\n')
    t.ok(s.wait_log(r'local delivery agent \d+ killed by signal 6 \(Aborted\) '
                    r'in plugin=testhooks hook=deliver'), 'abort(): the agent dies')
    ab = [l.split()[0] for l in s.ctl('queue', 'list').stdout.splitlines()]
    for q in ab:
        s.ctl('queue', 'delete', q)

    # (c) a deliver hook past hook_timeout: a temporary failure, retried
    with s.smtp() as c:
        c.sendmail('sender@example.org', ['bob@localhost'],
                   'X-Test-Deliver: hang\r\nSubject: hang\r\n\r\nbody\r\n')
    hung = [l.split()[0] for l in s.ctl('queue', 'list').stdout.splitlines()]
    t.is_(len(hung), 1, 'the hanging message is queued')
    hung = hung[0] if hung else 'NONE'
    t.ok(s.wait_log(r'%s: to=<bob@localhost> account=bob status=deferred \(451 4\.3\.0 '
                    r'delivery deferred \(plugin=testhooks hook=deliver timed out\)\)' % hung),
         'the timeout defers the recipient, naming the hook')
    t.ok(wait_until(lambda: re.search(r'state=deferred attempts=[2-9]',
                                      s.ctl('queue', 'show', hung).stdout), timeout=30),
         'and it is retried')
    t.like(s.ctl('queue', 'show', hung).stdout, r'error=451 4\.3\.0 delivery deferred '
           r'\(plugin=testhooks hook=deliver timed out\)', 'queue show gives the reason')
    t.ok('treated as DENYSOFT' not in s.log(),
         'the queue manager never carried on after abandoning a hook')
    send(s, ['carol@localhost'], '', 'meanwhile')
    t.ok(s.wait_mail('carol', 2), 'other mail is delivered meanwhile')
    t.is_(qmgr_pid(s), q0, 'the queue manager never restarted')
    s.ctl('queue', 'delete', hung)

# (b) a waited program that sleeps: other mailboxes and remote mail go on
with Sink() as sink:
    with Server(accounts={'ann': 'pw', 'bob': 'pw', 'alice': 'pw'},
                files={'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % sink.port},
                conf={'server': {'plugins': 'exec', 'hook_timeout': '120s'}},
                start=False) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-6000:]))
        rec, out = make_recorder(s)
        s.sections['plugin exec'] = {'path': os.path.dirname(rec) + ':/usr/bin:/bin',
                                     'timeout': '100s'}
        s.write_conf(s.sections)
        s.start()
        q0 = wait_until(lambda: qmgr_pid(s))
        write_def(s, 'ann', 'config.def', 'application_cooperation_wait_for_apl_end=1\n')
        write_def(s, 'ann', 'exec.def', 'bin=rec\nparam1=a1\nparam2=--wait-go\n')
        send(s, ['ann@localhost'], '', 'slow')
        t.ok(wait_until(lambda: os.path.exists(os.path.join(out, 'a1.started'))),
             "ann's program started and sleeps (waited for)")
        send(s, ['bob@localhost'], '', 'other')
        t.ok(s.wait_mail('bob', 1), "mail to another mailbox is delivered while it sleeps")
        send_authed(s, 'alice@localhost', ['x@remote.test'], b'Subject: out\r\n\r\nbody\r\n')
        t.ok(sink.wait(1, timeout=20), 'remote mail is delivered while it sleeps')
        send(s, ['ann@localhost'], '', 'second')
        t.ok(s.wait_mail('ann', 2), 'mail for the same mailbox is stored meanwhile too')
        t.ok(not os.path.exists(os.path.join(out, 'a1.json')), 'the program is still sleeping')
        t.is_(qmgr_pid(s), q0, 'the queue manager never restarted')

        # kill -9 of the queue manager while its agents wait: the restarted
        # one finishes both deliveries, exactly once
        t.like(s.ctl('queue', 'list').stdout, r'pending=1', 'both copies are not recorded yet')
        os.kill(q0, signal.SIGKILL)
        t.ok(s.wait_log(r'queue manager pid %d killed by signal 9' % q0), 'queue manager killed')
        t.ok(wait_until(lambda: qmgr_pid(s) not in (None, q0)), 'and restarted')
        t.ok(wait_until(lambda: s.ctl('queue', 'list').stdout == '', timeout=30),
             'the restarted queue manager records them')
        t.is_(len(re.findall(r'to=<ann@localhost> account=ann status=sent \(already stored\)',
                             s.log())), 2, 'as already stored')
        t.is_(len(s.mails('ann')), 2, 'exactly once')
        open(os.path.join(out, 'go'), 'w').close()
        r = record(out, 'a1')
        t.ok(r is not None, 'then the program ends')

t.done()
