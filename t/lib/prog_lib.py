"""prog_lib - helpers for the exec/forward/autoreply tests (t/plugin/*.t; here in t/lib with the other helpers).

The recorder is a small Python program the tests hand to exec.def: it
writes its argv, environment, working directory, standard input and the
content of any argument that names a readable file into OUT/TAG.json
(TAG = its first argument), so a test checks exactly what the program
got.  yubind's queue manager runs as the server user (nobody when the
tests run as root), so everything it writes lives in world-writable
folders under the Server's tmp dir.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from yubintest import Server, TAP, BUILD, binary, wait_until  # noqa: E402,F401

RECORDER = r'''#!/usr/bin/env python3
import json, os, sys, time
OUT = %(out)r
tag = sys.argv[1] if len(sys.argv) > 1 else 'noarg'
rec = {'argv': sys.argv, 'env': dict(os.environ), 'cwd': os.getcwd(), 'pid': os.getpid()}
try:
    rec['stdin'] = sys.stdin.buffer.read().decode('utf-8', 'replace')
except Exception as e:
    rec['stdin'] = 'ERROR %%r' %% e
files = {}
for a in sys.argv[2:]:
    if a.startswith('/') and os.path.isfile(a):
        with open(a, 'rb') as f:
            files[a] = f.read().decode('utf-8', 'replace')
rec['files'] = files
mode = os.environ.get('YUBIN_TO', '')
# behaviour switches, by argument
if '--exit3' in sys.argv:
    rec['exit'] = 3
if '--ignore-term' in sys.argv:
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if '--hang' in sys.argv:
    with open(os.path.join(OUT, tag + '.pid'), 'w') as f:
        f.write(str(os.getpid()))
    while True:
        time.sleep(3600)
if '--wait-go' in sys.argv:
    open(os.path.join(OUT, tag + '.started'), 'w').close()
    deadline = time.time() + 60
    while not os.path.exists(os.path.join(OUT, 'go')) and time.time() < deadline:
        time.sleep(0.02)
    rec['saw'] = sorted(os.listdir(OUT))
if '--look' in sys.argv:
    rec['saw'] = sorted(os.listdir(OUT))
if '--say' in sys.argv:
    print('hello from the program')
    print('second line with \x1b escape', file=sys.stderr)
# a name of its own: two runs with one tag (a mailbox's two messages)
# never write into one file
tmp = os.path.join(OUT, '.%%s.%%d.tmp' %% (tag, os.getpid()))
with open(tmp, 'w') as f:
    json.dump(rec, f)
os.rename(tmp, os.path.join(OUT, tag + '.json'))
sys.exit(rec.get('exit', 0))
'''


def make_recorder(s, subdir='bin', name='rec'):
    """Write the recorder into S.tmp/SUBDIR/NAME; returns (path, outdir)."""
    out = os.path.join(s.tmp, 'out')
    os.makedirs(out, exist_ok=True)
    os.chmod(out, 0o777)
    d = os.path.join(s.tmp, subdir)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    p = os.path.join(d, name)
    with open(p, 'w') as f:
        f.write(RECORDER % {'out': out})
    os.chmod(p, 0o755)
    return p, out


def record(out, tag, timeout=20):
    """The recorder's record TAG (a dict), waiting for it; None if absent."""
    p = os.path.join(out, tag + '.json')
    if not wait_until(lambda: os.path.exists(p), timeout=timeout):
        return None
    with open(p) as f:
        return json.load(f)


def acct_dir(s, account):
    return os.path.join(s.home, 'mailbox', account)


def write_def(s, account, name, text, mode=0o644):
    p = os.path.join(acct_dir(s, account), name)
    if os.path.lexists(p):
        os.unlink(p)
    with open(p, 'w') as f:
        f.write(text)
    os.chmod(p, mode)
    return p


def send(s, sender, rcpts, data):
    if isinstance(data, str):
        data = data.encode()
    with s.smtp() as c:
        c.sendmail(sender, rcpts, data)


def gone(path, timeout=20):
    return wait_until(lambda: not os.path.exists(path), timeout=timeout)
