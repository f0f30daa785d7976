#!/usr/bin/env python3
# Who may post and what is never distributed: members only (public level
# 0) refuses a stranger with a notice; the manager-only level; a post
# carrying the list's own List-Id or X-ML-Name, Auto-Submitted mail and
# the null sender are not distributed and reported to the admin; the
# subject filter; post_password takes a member authenticated as
# themselves; the list's program refuses with a non-zero exit; silent=1
# sends no notice at all.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, send_authed, wait_until

t = TAP()
ACC = {'alice': 'pw', 'bob': 'pw', 'boss': 'pw', 'carol': 'pw'}
NOTE = r'news@localhost: your post was not distributed'
with Server(accounts=ACC, conf={'server': {'plugins': 'relay quota ml'},
                                          'plugin ml': {'munge_from': '0'},
                                          'queue': {'retry_interval': '1s'}}, start=False) as s:
    r = s.ctl('ml', 'create', 'news', 'secret', 'boss@localhost', check=False)
    t.is_(r.returncode, 0, 'list created') or t.diag(r.stderr)
    s.ctl('ml', 'add', 'news', 'alice@localhost', 'bob@localhost')
    s.ctl('ml', 'set', 'news', 'mailing_list_public_level=0', 'mailing_list_to_kind=1',
          'mailing_list_filter_string=BUY NOW, cheap')
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    nposts = [0]

    def post(sender, body, wait):
        with s.smtp() as c:
            c.sendmail(sender, ['news@localhost'], body)
        return s.wait_log(wait)

    def sub(n):
        return b'From: someone\r\nSubject: ' + n + b'\r\n\r\nbody\r\n'

    t.ok(post('carol@localhost', sub(b'hi'), r'post \w+ from <carol@localhost> not '
              r'distributed: public level 0: not a member'), 'a stranger is refused, logged')
    t.ok(s.wait_mail('carol', 1), 'and told')
    m = s.mails('carol')[0].decode()
    t.like(m, NOTE, 'the notice\'s subject')
    t.like(m, r'(?m)^From: news-request@localhost$', 'from NAME-request@')
    t.like(m, r'members only', 'the reason')
    t.ok(post('alice@localhost', sub(b'member'), r'post 1 \(\w+\) from <alice@localhost> '
              r'distributed to 2 members'), 'a member posts')
    t.ok(s.wait_mail('bob', 1), 'bob gets it')
    t.ok(s.wait_mail('alice', 1), 'the poster gets a copy too')

    # loops and automatic mail: reported to the admin
    t.ok(post('alice@localhost', b'List-Id: News <news.localhost>\r\n' + sub(b'loop'),
              r'from <alice@localhost> not distributed: it carries this list\'s List-Id'),
         'own List-Id: not distributed')
    t.ok(post('alice@localhost', b'X-ML-Name: news\r\n' + sub(b'loop2'),
              r'not distributed: it carries this list\'s X-ML-Name'), 'own X-ML-Name')
    t.ok(post('alice@localhost', b'Auto-Submitted: auto-replied\r\n' + sub(b'vacation'),
              r'not distributed: Auto-Submitted mail'), 'Auto-Submitted')
    t.ok(post('', sub(b'bounce'), r'from <> not distributed: null envelope sender'),
         'null sender')
    t.ok(post('alice@localhost', b'Auto-Submitted: no\r\n' + sub(b'human'),
              r'post 2 \(\w+\) from <alice@localhost> distributed'), 'Auto-Submitted: no is posted')
    t.ok(s.wait_mail('bob', 2), 'bob has two posts')
    t.ok(s.wait_mail('boss', 4), 'the admin has four reports')
    t.like(s.mails('boss')[0].decode(), r'news@localhost: a post was not distributed',
           'report subject')
    t.is_(len(s.mails('alice')), 2, 'loops were not sent to members')

    # the subject filter
    t.ok(post('alice@localhost', sub(b'please BUY NOW'), r'not distributed: subject filter'),
         'filtered subject')
    t.ok(s.wait_mail('alice', 3), 'the poster is told')
    t.ok(any(b'BUY NOW' in x and b'not distributed' in x for x in s.mails('alice')),
         'the notice names the string')

    # manager only
    s.ctl('ml', 'set', 'news', 'mailing_list_public_level=2', 'manager=carol@localhost')
    t.ok(post('alice@localhost', sub(b'm1'), r'not distributed: public level 2: not the manager'),
         'level 2: a member is refused')
    t.ok(post('carol@localhost', sub(b'm2'), r'post 3 \(\w+\) from <carol@localhost> distributed'),
         'level 2: the manager posts')

    # post_password: SMTP AUTH as a member themselves or as the list
    s.ctl('ml', 'set', 'news', 'mailing_list_public_level=1', 'post_password=pw2')
    t.ok(post('bob@localhost', sub(b'p1'), r'not distributed: post_password'),
         'post_password: no AUTH refused')
    send_authed(s, 'bob@localhost', ['news@localhost'], sub(b'p2'), user='bob')
    t.ok(s.wait_log(r'post 4 \(\w+\) from <bob@localhost> distributed'),
         'a member authenticated as themselves posts')
    send_authed(s, 'alice@localhost', ['news@localhost'], sub(b'p3'), user='bob')
    t.ok(s.wait_log(r'from <alice@localhost> not distributed: post_password'),
         'authenticated as another member: refused')

    # the list's processing program
    s.ctl('ml', 'set', 'news', 'post_password=', 'program=/bin/false')
    t.ok(post('bob@localhost', sub(b'prog'), r'not distributed: the list\'s program refused it'),
         'program exit 1: not distributed')
    s.ctl('ml', 'set', 'news', 'program=/nonexistent/prog')
    t.ok(post('bob@localhost', sub(b'prog-missing'), r'list news@localhost: post \w+: the '
              r'list\'s program did not run to its end; it stays queued'),
         'a program that cannot run: the post stays queued')
    s.ctl('ml', 'set', 'news', 'program=/bin/true')
    t.ok(post('bob@localhost', sub(b'prog2'), r'from <bob@localhost> distributed'),
         'program exit 0: distributed')
    t.ok(s.wait_log(r'post 6 \(\w+\) from <bob@localhost> distributed'),
         'the post kept queued goes out on a later try')

    # error_report: where reports of posts not distributed go
    s.ctl('ml', 'set', 'news', 'program=', 'error_report=carol@localhost')
    ncarol, nboss = len(s.mails('carol')), len(s.mails('boss'))
    t.ok(post('bob@localhost', b'Auto-Submitted: auto-generated\r\n' + sub(b'r1'),
              r'from <bob@localhost> not distributed: Auto-Submitted'), 'report to an address')
    t.ok(s.wait_mail('carol', ncarol + 1), 'error_report=ADDRESS gets it')
    s.ctl('ml', 'set', 'news', 'error_report=none')
    t.ok(post('bob@localhost', b'X-ML-Name: news\r\n' + sub(b'r2'),
              r'from <bob@localhost> not distributed: it carries this list\'s X-ML-Name'),
         'report to none')
    s.ctl('ml', 'set', 'news', 'error_report=sender')
    t.ok(post('bob@localhost', b'List-Id: <news.localhost>\r\n' + sub(b'r3'),
              r'from <bob@localhost> not distributed: it carries this list\'s List-Id'),
         'report to the sender')
    t.ok(wait_until(lambda: any(b'a post was not distributed' in x for x in s.mails('bob'))),
         'error_report=sender: the sender gets it')
    t.is_(len(s.mails('boss')), nboss, 'the admin got none of these')
    t.is_(len(s.mails('carol')), ncarol + 1, 'error_report=none: nobody')
    s.ctl('ml', 'set', 'news', 'error_report=')

    # the list's size limit
    s.ctl('ml', 'set', 'news', 'program=', 'max_post_size=2000')
    t.ok(post('bob@localhost', sub(b'big') + b'x' * 3000 + b'\r\n',
              r'from <bob@localhost> not distributed: too large'), 'over max_post_size: refused')
    t.ok(post('bob@localhost', sub(b'small'), r'post 7 \(\w+\) from <bob@localhost> distributed'),
         'under it: distributed')
    t.ok(wait_until(lambda: any(b'larger than the list takes (2000 bytes)' in x
                                for x in s.mails('bob'))), 'the poster is told the limit')

    # silent: no notice
    s.ctl('ml', 'set', 'news', 'program=', 'silent=1', 'mailing_list_public_level=0')
    before = len(s.mails('carol'))
    t.ok(post('carol@localhost', sub(b'quiet'), r'post \w+ from <carol@localhost> not '
              r'distributed: public level 0'), 'silent: refused')
    t.ok(post('bob@localhost', sub(b'after'), r'post 8 \(\w+\) from <bob@localhost> distributed'),
         'a later post goes through')
    t.ok(s.wait_mail('alice', 8 + 2), 'and arrives')
    t.is_(len(s.mails('carol')), before, 'silent: the stranger got no notice')
t.done()
