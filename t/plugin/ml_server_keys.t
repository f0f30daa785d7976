#!/usr/bin/env python3
# The six [server] mailing_list_* keys are the defaults of every list
# (DESIGN §11): a list's config.def value overrides the server's, and its
# ml.def value overrides both.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until

t = TAP()
ACC = {'alice': 'pw', 'bob': 'pw'}
conf = {'server': {'plugins': 'relay quota ml', 'mailing_list_to_kind': '1',
                   'mailing_list_filter_string': 'buy now, casino',
                   'mailing_list_subject_header': '1'},
        'plugin ml': {'munge_from': '0'}}


def subject(m):
    x = re.search(r'(?m)^Subject: (.*?)\r?$', m)
    return x.group(1) if x else None


with Server(accounts=ACC, conf=conf, start=False) as s:
    for args in (('ml', 'create', 'news', 'secret', 'alice@localhost'),
                 ('ml', 'add', 'news', 'alice@localhost', 'bob@localhost')):
        r = s.ctl(*args, check=False)
        t.is_(r.returncode, 0, ' '.join(args[:2])) or t.diag(r.stderr)
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))

    def post(subj):
        with s.smtp() as c:
            c.sendmail('alice@localhost', ['news@localhost'],
                       ('From: alice@localhost\r\nTo: news@localhost\r\n'
                        'Subject: %s\r\n\r\nbody\r\n' % subj).encode())

    post('first')
    t.ok(s.wait_mail('bob', 1), 'first post distributed')
    m = s.mails('bob')[0].decode()
    t.like(m, r'(?m)^To: news@localhost\r?$', 'server mailing_list_to_kind=1: To: the list')
    t.is_(subject(m), '[news0001] first', 'server subject_header=1: tagged')

    post('cheap casino chips')
    t.ok(wait_until(lambda: 'not distributed' in s.log()), 'a filtered subject is refused')
    t.like(s.log(), r'list news@localhost: subject filter "casino"',
           'logged with the server filter string it matched')

    # the list's config.def over the server
    r = s.ctl('account', 'set', 'news', 'mailing_list_subject_header=0', check=False)
    t.is_(r.returncode, 0, 'config.def of the list set') or t.diag(r.stderr)
    post('second')
    t.ok(s.wait_mail('bob', 2), 'second post distributed')
    subs = sorted(subject(x.decode()) for x in s.mails('bob'))
    t.ok('second' in subs, 'config.def subject_header=0 wins over the server: no tag') \
        or t.diag(repr(subs))

    # ml.def over both
    r = s.ctl('ml', 'set', 'news', 'mailing_list_to_kind=0',
              'mailing_list_subject_header=1', check=False)
    t.is_(r.returncode, 0, 'ml.def keys set') or t.diag(r.stderr)
    post('third')
    t.ok(s.wait_mail('bob', 3), 'third post distributed')
    third = [x.decode() for x in s.mails('bob') if b'third' in x]
    t.is_(len(third), 1, 'one copy of the third post')
    if third:
        t.like(third[0], r'(?m)^To: bob@localhost\r?$', 'ml.def to_kind=0 wins: To: the member')
        t.like(subject(third[0]), r'^\[news\d+\] third$', 'ml.def subject_header=1 wins')
    t.is_(len(s.mails('bob')), 3, 'the filtered post never reached a member')
t.done()
