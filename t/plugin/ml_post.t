#!/usr/bin/env python3
# A post to a list reaches every member, local and remote, with the list's
# subject tag, its RFC 2369/2919 fields and Reply-To, the counter rising
# by one a post (a reply's old tag replaced, not stacked; a width wraps),
# copies in transactions of at most max_recipients, the envelope sender
# NAME-bounces@, and a copy in the archive with save_posts.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, wait_until

t = TAP()
ACC = {'alice': 'pw', 'bob': 'pw', 'boss': 'pw'}
REMOTE = ['m%d@remote.test' % i for i in range(8)]
with Sink() as sink:
    conf = {'server': {'plugins': 'relay quota ml'},
            'plugin ml': {'max_recipients': '3', 'munge_from': '0'},
            'queue': {'retry_interval': '1s'}}
    files = {'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % sink.port}
    with Server(accounts=ACC, conf=conf, files=files, start=False) as s:
        r = s.ctl('ml', 'create', 'news', 'secret', 'boss@localhost', check=False)
        t.is_(r.returncode, 0, 'list created') or t.diag(r.stderr)
        r = s.ctl('ml', 'add', 'news', 'alice@localhost', 'bob@localhost', *REMOTE,
                  check=False)
        t.is_(r.returncode, 0, 'members added') or t.diag(r.stderr)
        r = s.ctl('ml', 'set', 'news', 'mailing_list_to_kind=1', 'save_posts=1',
                  'count=11', 'mailing_list_subject_header=2', check=False)
        t.is_(r.returncode, 0, 'keys set') or t.diag(r.stderr)
        s.start()
        t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
        with s.smtp() as c:
            c.sendmail('x@example.org', ['news@localhost'],
                       b'From: X <x@example.org>\r\nTo: news@localhost\r\n'
                       b'Subject: hello\r\nX-Junk: 1\r\nList-Id: <other.example>\r\n'
                       b'\r\nfirst post\r\n')
        t.ok(s.wait_mail('alice', 1) and s.wait_mail('bob', 1), 'local members get it')
        t.ok(wait_until(lambda: sum(len(x['rcpts']) for x in sink.txns) >= 8),
             'remote members get it')
        m = s.mails('alice')[0].decode()
        t.like(m, r'(?m)^Subject: \[news0012\] hello$', 'tag with the counter above count=11')
        t.like(m, r'(?m)^List-Id: <news\.localhost>$', 'List-Id')
        t.like(m, r'(?m)^List-Post: <mailto:news@localhost>$', 'List-Post')
        t.like(m, r'(?m)^List-Unsubscribe: <mailto:news-request@localhost\?subject=leave>$',
               'List-Unsubscribe')
        t.like(m, r'(?m)^List-Help: <mailto:news-request@localhost\?subject=help>$', 'List-Help')
        t.like(m, r'(?m)^List-Subscribe: <mailto:news-request@localhost\?subject=join>$',
               'List-Subscribe')
        t.like(m, r'(?m)^Precedence: list$', 'Precedence')
        t.like(m, r'(?m)^Reply-To: news@localhost$', 'Reply-To the list')
        t.like(m, r'(?m)^To: news@localhost$', 'To: the list (to_kind 1)')
        t.like(m, r'(?m)^X-Mail-Count: 12$', 'X-Mail-Count')
        t.ok(not re.search(r'(?m)^X-Junk:', m), 'X- fields stripped')
        t.ok('other.example' not in m, 'an earlier List-Id removed')
        t.like(m, r'(?m)^Return-Path: <news-bounces@localhost>$', 'envelope sender NAME-bounces@')
        t.like(m, r'first post', 'body')
        t.ok(wait_until(lambda: len(sink.txns) >= 3), 'remote copies arrived')
        sizes = sorted(len(x['rcpts']) for x in sink.txns)
        t.is_(sizes, [2, 3, 3], '8 remote members in 3 transactions of at most 3')
        t.is_({x['mail'] for x in sink.txns}, {'news-bounces@localhost'}, 'sink: sender')
        t.like(s.log(), r'list news@localhost: post 12 \(\w+\) from <x@example\.org> '
               r'distributed to 10 members in 4 transactions', 'logged')
        arch = os.path.join(s.home, 'mailbox', 'news', 'archive', '000012')
        t.ok(os.path.exists(arch), 'archived as archive/000012')
        if os.path.exists(arch):
            t.is_(os.stat(arch).st_mode & 0o777, 0o600, 'archive file mode 0600')
            t.like(open(arch).read(), r'Subject: \[news0012\] hello', 'the sent form')
            t.is_(os.stat(os.path.dirname(arch)).st_mode & 0o777, 0o700, 'archive/ 0700')
        t.is_(s.mails('news'), [], 'nothing kept in the list\'s mailbox')
        t.like(s.ctl('ml', 'show', 'news').stdout, r'(?m)^count=12$', 'ml.def count: the last post')
        # a reply: the old tag replaced, not stacked
        with s.smtp() as c:
            c.sendmail('x@example.org', ['news@localhost'],
                       b'From: x@example.org\r\nSubject: Re: [news0012] hello\r\n\r\nreply\r\n')
        t.ok(s.wait_mail('alice', 2), 'second post')
        subs = sorted(re.search(r'(?m)^Subject: (.*)$', x.decode()).group(1)
                      for x in s.mails('alice'))
        t.is_(subs, ['Re: [news0013] hello', '[news0012] hello'], 'reply re-tagged, not stacked')
        # an encoded-word subject keeps its encoded word
        with s.smtp() as c:
            c.sendmail('x@example.org', ['news@localhost'],
                       b'From: x@example.org\r\nSubject: =?UTF-8?B?44GC?=\r\n\r\nx\r\n')
        t.ok(s.wait_mail('alice', 3), 'third post')
        t.ok(any(re.search(r'(?m)^Subject: \[news0014\] =\?UTF-8\?B\?44GC\?=$', x.decode())
                 for x in s.mails('alice')), 'tag outside the encoded word')
        # width wraps: subject_format with %02d at 10^2
        s.ctl('ml', 'set', 'news', 'subject_format=(news:%02d)', 'count=199')
        with s.smtp() as c:
            c.sendmail('x@example.org', ['news@localhost'],
                       b'From: x@example.org\r\nSubject: wrap\r\n\r\nx\r\n')
        t.ok(s.wait_mail('alice', 4), 'fourth post')
        t.ok(any(re.search(r'(?m)^Subject: \(news:00\) wrap$', x.decode())
                 for x in s.mails('alice')), 'post 200 with %02d is 00')
        # packing=even: at least split parts, as equal as they come, file order
        s.ctl('ml', 'set', 'news', 'packing=even', 'split=2', 'subject_format=')
        with s.smtp() as c:
            c.sendmail('x@example.org', ['news@localhost'],
                       b'From: x@example.org\r\nSubject: even\r\n\r\nx\r\n')
        t.ok(s.wait_log(r'post 201 \(\w+\) from <x@example\.org> distributed to 10 members '
                        r'in 4 transactions'), 'even: 10 members in 4 parts of at most 3')
        evens = lambda: [x for x in sink.txns if b'] even' in x['data']]
        t.ok(wait_until(lambda: sum(len(x['rcpts']) for x in evens()) >= 8),
             'even: remote copies arrived')
        t.is_(sorted(len(x['rcpts']) for x in evens()), [1, 2, 2, 3],
              'even: parts 3 3 2 2 (the first holds the two local members)')
        # a list name beyond ASCII: the tag is one encoded word
        s.ctl('ml', 'set', 'news', 'name=\u30cb\u30e5\u30fc\u30b9')
        with s.smtp() as c:
            c.sendmail('x@example.org', ['news@localhost'],
                       b'From: x@example.org\r\nSubject: kana\r\n\r\nx\r\n')
        t.ok(wait_until(lambda: any(b'kana' in x for x in s.mails('alice'))), 'kana post')
        import base64
        m = [x.decode() for x in s.mails('alice') if b'kana' in x][0]
        w = re.search(r'(?m)^Subject: =\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?= kana$', m)
        t.ok(w, 'Subject: =?UTF-8?B?...?= kana') or t.diag(m)
        if w:
            t.is_(base64.b64decode(w.group(1)).decode(), '[\u30cb\u30e5\u30fc\u30b90202]',
                  'the encoded tag')
        # a subject longer than a header line may be is folded
        long = ' '.join('word%03d' % i for i in range(150))
        with s.smtp() as c:
            c.sendmail('x@example.org', ['news@localhost'],
                       ('From: x@example.org\r\nSubject: %s\r\n\r\nlong\r\n' %
                        long.replace(' word050', '\r\n word050')).encode())
        t.ok(wait_until(lambda: any(b'word149' in x for x in s.mails('alice'))), 'long post')
        m = [x.decode() for x in s.mails('alice') if b'word149' in x][0]
        hdr = m.split('\n\n', 1)[0]
        t.ok(max(len(x) for x in hdr.split('\n')) <= 998, 'no header line past 998')
        sub = re.search(r'(?m)^Subject: (.*(?:\n[ \t].*)*)', hdr).group(1)
        t.like(re.sub(r'\n[ \t]+', ' ', sub), r'^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?= ' + long + '$',
               'unfolded: the tag, then the subject as written')
t.done()
