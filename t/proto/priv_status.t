#!/usr/bin/env python3
# The scoreboard HOME/run/status (F134): root makes it afresh through the
# checked HOME/run descriptor, O_EXCL|O_NOFOLLOW, so a link the server user
# planted under that name never makes root write or size a file outside
# HOME; the board is root's own, mode 0600, and the server user can neither
# read nor replace what yubinctl status trusts.
import os
import stat
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from priv_lib import need_root, as_server, root_folder, canary, snapshot  # noqa: E402
need_root()
from yubintest import Server, TAP  # noqa: E402

t = TAP()
s = Server(tls=False, start=False)
run = os.path.join(s.home, 'run')
outside = root_folder(s.tmp, 'outside')
can = canary(outside)
before = snapshot(outside)
os.makedirs(run, exist_ok=True)
as_server('ln', '-sf', can, os.path.join(run, 'status'))
s.start()
try:
    t.is_(snapshot(outside), before, 'the root file the link named is unchanged')
    st = os.lstat(os.path.join(run, 'status'))
    t.is_((stat.S_ISREG(st.st_mode), st.st_uid, stat.S_IMODE(st.st_mode)), (True, 0, 0o600),
          'run/status is a regular file of root, mode 0600')
    r = as_server('cat', os.path.join(run, 'status'), check=False)
    t.ok(r.returncode != 0, 'the server user cannot read it')
    r = s.ctl('status', '--workers', check=False)
    t.is_(r.returncode, 0, 'status reads it') or t.diag(r.stderr)
    t.like(r.stdout, r'(?m)^worker \d+ smtp idle - \d+s$', 'and lists the workers')
    # the server user replaces the name (it owns HOME/run): yubinctl
    # refuses the file, the master keeps its own map
    board = os.path.join(run, 'status')
    as_server('rm', '-f', board)
    as_server('sh', '-c', 'printf junk > "$1"', 'sh', board)
    r = s.ctl('status', check=False)
    t.is_(r.returncode, 2, 'a board the server user made: exit 2')
    t.like(r.stderr, r'run/status: .*not trusted', 'not trusted')
    with s.smtp() as c:
        t.is_(c.noop()[0], 250, 'the server still serves')
finally:
    s.cleanup()
t.done()
