#!/usr/bin/env python3
# yh_txn_slot (issue 14 item 4): a plugin's per-transaction memory is zero
# at each new transaction -- after RSET, after a message, at a new MAIL --
# and kept across the hooks of one transaction.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, BUILD  # noqa: E402

t = TAP()
PDIR = os.path.join(BUILD, 't', 'plugin')
conf = {'server': {'plugin_dir': PDIR, 'plugins': 'txnslot'}}

with Server(accounts={'alice': 'pw'}, conf=conf) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    with s.smtp() as c:
        c.ehlo('client.test')
        c.mail('bob@example.org')
        c.rcpt('alice@localhost')
        c.rset()
        c.mail('bob@example.org')
        c.rcpt('alice@localhost')
        c.rcpt('alice@localhost')
        t.is_(c.data(b'Subject: one\r\n\r\nhello\r\n')[0], 250, 'a message')
        c.mail('bob@example.org')
        c.rcpt('alice@localhost')
        c.rset()
    t.ok(s.wait_log(r'txnslot: rcpt saw 1\n(.*\n)*.*txnslot: mail saw 0\n(.*\n)*'
                    r'.*txnslot: rcpt saw 1\n(.*\n)*.*txnslot: rcpt saw 2\n'
                    r'(.*\n)*.*txnslot: data saw 3\n(.*\n)*.*txnslot: mail saw 0'),
         'the slot lives through one transaction')
    seen = re.findall(r'txnslot: (\w+) (saw \d+|no slot)', s.log())
    t.is_(seen, [('mail', 'saw 0'), ('rcpt', 'saw 1'),
                 ('mail', 'saw 0'), ('rcpt', 'saw 1'), ('rcpt', 'saw 2'),
                 ('data', 'saw 3'),
                 ('mail', 'saw 0'), ('rcpt', 'saw 1')],
          'and is zero at each new transaction (RSET, after DATA)')
t.done()
