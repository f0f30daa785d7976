#!/usr/bin/env python3
"""A plugin author's path end to end: `make install` puts hook.h, hook.sym
and yubin-plugin.pc in place; examples/plugin/example.c is built out of
the source tree with nothing but those installed files (pkg-config), and
a real yubind loads it from its own plugin_dir: the plugin's rcpt hook
refuses its one address with its own reply, logs it, and lets the rest
through."""

import os
import shutil
import smtplib
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from prog_lib import Server, TAP, BUILD  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
t = TAP()
tmp = tempfile.mkdtemp(prefix='yubin-inst-')
dest = os.path.join(tmp, 'dest')
out = os.path.join(tmp, 'plugins')
os.mkdir(out)
try:
    r = subprocess.run(['make', '-s', '-C', ROOT, 'B=' + BUILD, 'install',
                        'DESTDIR=' + dest, 'PREFIX=/usr/local'],
                       capture_output=True, text=True)
    t.ok(r.returncode == 0, 'make install DESTDIR=... PREFIX=/usr/local')
    if r.returncode:
        t.diag(r.stdout[-2000:] + r.stderr[-2000:])
    pc = os.path.join(dest, 'usr/local/lib/pkgconfig')
    t.ok(os.path.isfile(os.path.join(dest, 'usr/local/include/yubin/hook.h')) and
         os.path.isfile(os.path.join(dest, 'usr/local/include/yubin/hook.sym')) and
         os.path.isfile(os.path.join(pc, 'yubin-plugin.pc')),
         'hook.h, hook.sym and yubin-plugin.pc are installed')
    env = dict(os.environ, PKG_CONFIG_PATH=pc)
    pkg = ['pkg-config', '--define-variable=prefix=' + os.path.join(dest, 'usr/local')]
    cflags = subprocess.run(pkg + ['--cflags', 'yubin-plugin'], env=env,
                            capture_output=True, text=True).stdout.split()
    libs = subprocess.run(pkg + ['--libs', 'yubin-plugin'], env=env,
                          capture_output=True, text=True).stdout.split()
    pdir = subprocess.run(pkg + ['--variable=plugindir', 'yubin-plugin'], env=env,
                          capture_output=True, text=True).stdout.strip()
    t.ok('-shared' in libs and '-fPIC' in libs and pdir == '/usr/local/lib/yubin/plugins',
         'pkg-config gives the link flags and the plugin folder')
    # a copy out of the tree, so nothing but the installed files is found
    src = os.path.join(tmp, 'example.c')
    shutil.copy(os.path.join(ROOT, 'examples/plugin/example.c'), src)
    so = os.path.join(out, 'example.so')
    r = subprocess.run([os.environ.get('CC', 'cc'), '-Wall', '-Wextra', '-Werror'] +
                       cflags + libs + ['-o', so, src], cwd=tmp,
                       capture_output=True, text=True)
    t.ok(r.returncode == 0 and os.path.isfile(so), 'example.so builds out of tree')
    if r.returncode:
        t.diag(r.stderr[-2000:])

    with Server(accounts={'alice': 'pw', 'bob': 'pw'},
                conf={'server': {'plugins': 'example', 'plugin_dir': out},
                      'plugin example': {'refuse': 'bob@localhost'}}) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
        c = smtplib.SMTP('127.0.0.1', s.port('smtp'), timeout=20)
        c.ehlo('client.test')
        c.mail('x@example.org')
        t.is_(c.rcpt('alice@localhost')[0], 250, 'another recipient is accepted')
        code, text = c.rcpt('bob@localhost')
        t.is_((code, text), (550, b'5.7.1 example: this address takes no mail'),
              'the refused one gets the plugin\'s own reply')
        c.quit()
        t.ok(s.wait_log(r'plugin=example refused rcpt=<bob@localhost>'),
             'and the plugin\'s log line')
finally:
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
