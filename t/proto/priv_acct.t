#!/usr/bin/env python3
# yubinctl account set writes config.def in a folder the server user owns:
# an account folder replaced by a link to a root folder outside HOME gets
# nothing written there (Issue 12 item 14).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from priv_lib import need_root, as_server, snapshot
need_root()
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP  # noqa: E402

t = TAP()
with Server(accounts={'alice': 'pw', 'bob': 'pw'}, tls=False, start=False) as s:
    outside = os.path.join(s.tmp, 'root-etc')
    os.mkdir(outside, 0o755)            # root's, like /etc/cron.d
    before = snapshot(outside)
    mb = os.path.join(s.home, 'mailbox')
    as_server('mv', os.path.join(mb, 'alice'), os.path.join(mb, 'alice.away'))
    as_server('ln', '-s', outside, os.path.join(mb, 'alice'))
    r = s.ctl('account', 'set', 'alice', 'forward_address=x@example.org', check=False)
    t.is_(r.returncode, 2, 'a linked account folder: account set exits 2')
    t.like(r.stderr, r'alice/\S+: Permission denied', 'saying why')
    t.is_(snapshot(outside), before, 'nothing is written in the root folder outside HOME')

    # config.def itself a link to a root-only file: not read, not replaced
    secret = os.path.join(outside, 'secret.def')
    with open(secret, 'w') as f:
        f.write('forward_address=root-secret@example.org\n')
    os.chmod(secret, 0o600)
    before = snapshot(outside)
    cdef = os.path.join(mb, 'bob', 'config.def')
    as_server('ln', '-s', secret, cdef)
    r = s.ctl('account', 'set', 'bob', 'send_max_during_a_day=5', check=False)
    t.is_(r.returncode, 2, 'a linked config.def: account set exits 2')
    t.ok(os.path.islink(cdef), 'the link is left as it was')
    t.is_(snapshot(outside), before, 'the root file it points to is unchanged')
    os.unlink(cdef)
    r = s.ctl('account', 'set', 'bob', 'send_max_during_a_day=5', check=False)
    t.is_(r.returncode, 0, 'a clean folder: account set works')
    t.is_(os.stat(cdef).st_uid, os.stat(os.path.join(mb, 'bob')).st_uid,
          'config.def belongs to the server user')
t.done()
