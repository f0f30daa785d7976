#!/usr/bin/env python3
# The list's program (ml.def program=) may rewrite a post before it is
# distributed (F090, SEEDS §16.5): it gets the post on standard input and
# the path of a private copy as its last argument; what it leaves in that
# file is what the members receive, whether it writes the file in place or
# puts a new file there.  Leaving it empty refuses the post; the copy never
# stays behind in the list's folder.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until

t = TAP()
ACC = {'alice': 'pw', 'bob': 'pw', 'boss': 'pw'}
CONF = {'server': {'plugins': 'relay quota ml'}, 'plugin ml': {'munge_from': '0'}}
PROGS = {
    # in place: the same file, rewritten
    'inplace.sh': '#!/bin/sh\nf="$1"\nsed -e "s/secret-word/[redacted]/" "$f" > "$f.n" '
                  '&& cat "$f.n" > "$f" && rm -f "$f.n"\n',
    # a new file renamed over the copy, with a footer
    'footer.sh': '#!/bin/sh\nf="$1"\n{ cat "$f"; printf "%s\\n" "-- " "footer of the list"; } '
                 '> "$f.n" && mv "$f.n" "$f"\n',
    # nothing left: the post is refused
    'empty.sh': '#!/bin/sh\n: > "$1"\n',
}

with Server(accounts=ACC, conf=CONF, start=False) as s:
    for name, text in PROGS.items():
        path = os.path.join(s.home, name)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, 0o755)
    r = s.ctl('ml', 'create', 'news', 'secret', 'boss@localhost', check=False)
    t.is_(r.returncode, 0, 'list created') or t.diag(r.stderr)
    s.ctl('ml', 'add', 'news', 'alice@localhost', 'bob@localhost')
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    listdir = os.path.join(s.home, 'mailbox', 'news')

    def post(prog, subj, n):
        s.ctl('ml', 'set', 'news', 'program=' + os.path.join(s.home, prog))
        with s.smtp() as c:
            c.sendmail('alice@localhost', ['news@localhost'],
                       ('From: alice@localhost\r\nTo: news@localhost\r\nSubject: %s\r\n'
                        '\r\nthe secret-word is here\r\n' % subj).encode())
        return s.wait_mail('bob', n)

    t.ok(post('inplace.sh', 'one', 1), 'post one distributed')
    m = s.mails('bob')[0].decode()
    t.like(m, r'the \[redacted\] is here', 'rewritten in place: members get the new text')
    t.ok('secret-word' not in m, 'the old text is gone')
    t.like(s.log(), r'post \w+ rewritten by the list\'s program', 'the rewrite is logged')

    t.ok(post('footer.sh', 'two', 2), 'post two distributed')
    m = [x.decode() for x in s.mails('bob') if b'two' in x][0]
    t.like(m, r'footer of the list', 'a new file put in its place: members get it')
    t.like(m, r'(?m)^Subject: \[news\d+\] two', 'the list still tags the rewritten post')

    s.ctl('ml', 'set', 'news', 'program=' + os.path.join(s.home, 'empty.sh'))
    with s.smtp() as c:
        c.sendmail('alice@localhost', ['news@localhost'],
                   b'From: alice@localhost\r\nSubject: three\r\n\r\nbody\r\n')
    t.ok(s.wait_log(r'not distributed: the list\'s program refused it'),
         'an emptied file refuses the post')
    t.ok(not any(b'three' in x for x in s.mails('bob')), 'nobody got post three')
    t.is_(sorted(n for n in os.listdir(listdir) if n.startswith('.post-')), [],
          'no copy left in the list\'s folder')
t.done()
