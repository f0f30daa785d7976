#!/usr/bin/env python3
# yubinctl account set: per-account config.def keys, checked by the same
# parser yubind uses; a bad key or value changes nothing.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP

t = TAP()
s = Server(conf={'server': {'plugins': 'relay quota forward'}}, accounts={'alice': 'pw'},
           start=False)
path = os.path.join(s.home, 'mailbox', 'alice', 'config.def')
r = s.ctl('account', 'set', 'alice', 'forward_address=bob@example.org',
          'send_max_during_a_day=5', check=False)
t.is_(r.returncode, 0, 'set two keys')
t.is_(open(path).read(), 'forward_address=bob@example.org\nsend_max_during_a_day=5\n',
      'config.def holds them')
r = s.ctl('account', 'set', 'alice', 'send_max_during_a_day=7', check=False)
t.is_(open(path).read(), 'forward_address=bob@example.org\nsend_max_during_a_day=7\n',
      'a key is replaced, not repeated')
r = s.ctl('account', 'set', 'alice', 'port=26', check=False)
t.is_(r.returncode, 1, 'a server-only key is refused')
t.like(r.stderr, r"config\.def:\d+: .*cannot be set per account", 'with file:line')
r = s.ctl('account', 'set', 'alice', 'send_max_during_a_day=lots', check=False)
t.is_(r.returncode, 1, 'a bad value is refused')
t.is_(open(path).read(), 'forward_address=bob@example.org\nsend_max_during_a_day=7\n',
      'and nothing changed')
r = s.ctl('account', 'set', 'alice', 'forward_address=', check=False)
t.is_(open(path).read(), 'send_max_during_a_day=7\n', 'an empty value removes the key')
r = s.ctl('account', 'set', 'nobody-here', 'send_max_during_a_day=5', check=False)
t.is_(r.returncode, 1, 'unknown account')
r = s.ctl('account', 'set', 'alice', 'novalue', check=False)
t.is_(r.returncode, 1, 'KEY=VALUE required')
r = s.ctl('account', 'set', '../x', 'send_max_during_a_day=5', check=False)
t.is_(r.returncode, 1, 'bad account name')
# keys indented or spaced around '=' are the same keys to the reader
with open(path, 'w') as f:
    f.write('  send_max_during_a_day = 3\n\t# a comment\n')
r = s.ctl('account', 'set', 'alice', 'send_max_during_a_day=9', check=False)
t.is_(r.returncode, 0, 'an indented key is replaced') or t.diag(r.stderr)
t.is_(open(path).read(), '\t# a comment\nsend_max_during_a_day=9\n',
      'the indented line gone, the comment kept')
r = s.ctl('account', 'set', 'alice', 'send_max_during_a_day=', check=False)
t.is_(open(path).read(), '\t# a comment\n', 'and removed by an empty value')
if os.geteuid() == 0:
    st = os.stat(path)
    t.ok(st.st_uid != 0, 'config.def belongs to the server user')
s.cleanup()
t.done()
