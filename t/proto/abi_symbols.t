#!/usr/bin/env python3
# yubind exports the plugin ABI and nothing else: the dynamic symbols it
# defines are exactly those of hooks/yubin/hook.sym, and every function
# hooks/yubin/hook.h declares is listed there.  A new ABI function that is
# not added to hook.sym, or a core function leaking into the dynamic
# table, fails here.
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get('YUBIN_BUILD', os.path.join(ROOT, 'build'))

n = 0


def ok(cond, name, diag=None):
    global n
    n += 1
    print('%sok %d - %s' % ('' if cond else 'not ', n, name))
    if not cond and diag:
        for line in diag.splitlines():
            print('# ' + line)


def listed():
    text = open(os.path.join(ROOT, 'hooks/yubin/hook.sym')).read()
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    return set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)\s*;', text))


def declared():
    text = open(os.path.join(ROOT, 'hooks/yubin/hook.h')).read()
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    return set(re.findall(r'\b(yh_[a-z0-9_]+)\s*\(', text))


def exported():
    out = subprocess.run(['nm', '-D', '--defined-only',
                          os.path.join(BUILD, 'yubind')],
                         check=True, capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 3 and f[1] in 'TtWwDdBbRrVviu':
            names.add(f[2].split('@')[0])
    return names


sym = listed()
hdr = declared()
exp = exported()


def project():
    """Global names the project's own objects define."""
    objs = [os.path.join(BUILD, 'daemon/yubind.o'),
            os.path.join(BUILD, 'libyubind.a'), os.path.join(BUILD, 'libyubin.a')]
    out = subprocess.run(['nm', '-g', '--defined-only'] + objs,
                         check=True, capture_output=True, text=True).stdout
    return {f[2] for f in (l.split() for l in out.splitlines()) if len(f) == 3}


# Beyond hook.sym, only what the C runtime (and, in a sanitizer build, its
# interceptors) puts in an executable's table may appear; no name the
# project itself defines.
extra = (exp - sym) & project()
print('1..4')
ok(len(sym) > 0 and len(hdr) > 0, 'hook.sym and hook.h parsed (%d, %d)'
   % (len(sym), len(hdr)))
ok(hdr <= sym, 'every function hook.h declares is in hook.sym',
   'missing from hook.sym: ' + ' '.join(sorted(hdr - sym)))
ok(sym <= exp, 'yubind exports every symbol of hook.sym',
   'not exported: ' + ' '.join(sorted(sym - exp)))
ok(not extra, 'yubind exports nothing beyond hook.sym',
   'also exported: ' + ' '.join(sorted(extra)[:40]) +
   (' ... (%d in all)' % len(extra) if len(extra) > 40 else ''))
sys.exit(0)
