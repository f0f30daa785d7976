#!/usr/bin/env python3
# The maildat plugin creates its backup folders at load (in the master, as
# root) under HOME: a folder on the way that the server user replaced with
# a link to a root folder outside HOME gets nothing created or chowned
# there (Issue 12 item 14).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from priv_lib import need_root, as_server, snapshot
need_root()
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP  # noqa: E402

RULES = ('Virus:t\nSubject:zzz-never\nLevel:010\nFolder:viruslog/a/b\nVirusEnd:\n'
         'Virus:u\nSubject:zzz-never-2\nLevel:010\nFolder:viruslog/c/d\nVirusEnd:\n')
t = TAP()
with Server(conf={'server': {'plugins': 'maildat'}}, files={'mail.dat': RULES},
            tls=False, start=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    outside = os.path.join(s.tmp, 'root-etc')
    os.mkdir(outside, 0o755)            # root's, like /etc
    before = snapshot(outside)
    as_server('ln', '-s', outside, os.path.join(s.home, 'viruslog', 'a'))
    s.start()
    t.is_(snapshot(outside), before, 'no folder is created in the root folder behind the link')
    t.like(s.log(), r'backup folder \S+viruslog/a/b: Too many levels of symbolic links',
           'the link is refused and logged')
    d = os.path.join(s.home, 'viruslog', 'c', 'd')
    t.ok(os.path.isdir(d), 'a clean backup folder is created')
    t.is_(os.stat(d).st_uid, os.stat(os.path.join(s.home, 'viruslog')).st_uid,
          'by the server user')
t.done()
