#!/usr/bin/env python3
# server.accounts_per_domain_max (F013): yubinctl refuses the account past
# the limit (account add, ml create, account import: all or nothing), the
# postmaster account never counts, per-domain mode counts each domain on
# its own, and `yubinctl status` shows "accounts DOMAIN: n/max".
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP  # noqa: E402

t = TAP()

# shared mode (Wiz98): every account serves every domain, one count
s = Server(conf={'server': {'accounts_per_domain_max': '2'}}, start=False)
r = s.ctl('status', check=False)
t.like(r.stdout, r'(?m)^accounts: 0/2$', 'status: postmaster is not counted')
for name in ('alice', 'bob'):
    r = s.ctl('account', 'add', name, 'pw', check=False)
    t.is_(r.returncode, 0, 'account %s within the limit' % name) or t.diag(r.stderr)
r = s.ctl('account', 'add', 'carol', 'pw', check=False)
t.is_(r.returncode, 1, 'the third account is refused')
t.like(r.stderr, r'the server would have 3 accounts: server\.accounts_per_domain_max is 2',
       'saying the count and the limit')
r = s.ctl('account', 'list', check=False)
t.ok('carol' not in r.stdout, 'and carol was not stored')
t.ok(not os.path.exists(os.path.join(s.home, 'mailbox', 'carol')), 'nor her folder made')
r = s.ctl('ml', 'create', 'news', 'pw', check=False)
t.is_(r.returncode, 1, 'a list account counts too')
r = s.ctl('status', check=False)
t.like(r.stdout, r'(?m)^accounts: 2/2$', 'status: 2/2')
r = s.ctl('account', 'del', 'bob', check=False)
t.is_(r.returncode, 0, 'del bob')
r = s.ctl('account', 'add', 'carol', 'pw', check=False)
t.is_(r.returncode, 0, 'room again after a delete')
imp = os.path.join(s.tmp, 'import.txt')
with open(imp, 'w') as f:
    f.write('dave\tpw1\t\t\t\t0\t0\t0\n')
r = s.ctl('account', 'import', imp, check=False)
t.is_(r.returncode, 1, 'an import past the limit is refused')
t.like(r.stderr, r'the server would have 3 accounts.*\n.*nothing imported', 'as a whole, saying why')
t.ok('dave' not in s.ctl('account', 'list').stdout, 'dave not stored')
s.cleanup()

# per-domain mode (E-Post): each domain has its own count
s = Server(conf={'server': {'accounts_per_domain_max': '1', 'domain_mailboxes': '1',
                            'alias': 'example.net'}}, start=False)
r = s.ctl('account', 'add', 'alice', 'pw', check=False)
t.is_(r.returncode, 0, 'alice (localhost)') or t.diag(r.stderr)
r = s.ctl('account', 'add', 'alice@example.net', 'pw', check=False)
t.is_(r.returncode, 0, 'alice@example.net: another domain, its own count') or t.diag(r.stderr)
r = s.ctl('account', 'add', 'bob@example.net', 'pw', check=False)
t.is_(r.returncode, 1, 'bob@example.net over example.net\'s limit')
t.like(r.stderr, r'domain example\.net would have 2 accounts', 'named in the message')
r = s.ctl('account', 'add', 'bob', 'pw', check=False)
t.like(r.stderr, r'domain localhost would have 2 accounts', 'server.domain by its name')
r = s.ctl('status', check=False)
t.like(r.stdout, r'(?m)^accounts localhost: 1/1$', 'status per domain: localhost')
t.like(r.stdout, r'(?m)^accounts example\.net: 1/1$', 'and example.net')
s.cleanup()

# no limit by default
s = Server(start=False)
for i in range(3):
    s.ctl('account', 'add', 'u%d' % i, 'pw')
r = s.ctl('status', check=False)
t.like(r.stdout, r'(?m)^accounts: 3$', 'no limit: the count alone')
s.cleanup()
t.done()
