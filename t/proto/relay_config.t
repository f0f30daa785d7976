#!/usr/bin/env python3
"""Loading effect.dat: `yubind -t` reports every bad line as
"PATH:LINE: message" and exits 1 (TAB, extra spaces, unknown actions and
keywords, bad IPv4 patterns, CIDR prefixes and IPv6 addresses, rules after
`only`, over-long lines, control bytes, too many rules, a file too big); a
broken file stops start-up; [plugin relay] file = PATH (relative to
CONFDIR or absolute, must exist); SIGHUP loads a changed file, and a
broken one on reload keeps the running rules."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from relay_lib import (TAP, Server, relay_conf, relay_server, yubind_t, reload,  # noqa: E402
                       matrix, connect_reply, check, DENIED,
                       TABLE_I, TABLE_II, TABLE_IV)

t = TAP()


def write(s, text, name='effect.dat', mode='w'):
    path = os.path.join(s.etc, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)
    return path


def check_t(s, text, want, name, mode='w', fname='effect.dat'):
    """yubind -t with effect.dat = TEXT: exit 1 and exactly the lines WANT
    ([(line, message)]; line None = "PATH: message"), or exit 0 when WANT
    is empty."""
    path = write(s, text, fname, mode)
    rc, out, err = yubind_t(s)
    lines = [('%s:%d: %s' % (path, n, m)) if n else ('%s: %s' % (path, m))
             for n, m in want]
    if want:
        t.is_(rc, 1, '-t %s: exit 1' % name)
        t.is_(err.splitlines(), lines, '-t %s: the errors' % name)
    else:
        t.is_(rc, 0, '-t %s: exit 0' % name)
        t.like(out, r'configuration ok', '-t %s: configuration ok' % name)
        t.is_(err, '', '-t %s: nothing on stderr' % name)


s = Server(conf=relay_conf(), tls=False, start=False)
try:
    # a good file, every form
    check_t(s, '# rules\n\n#\n127.0.0.1\n10.*.*.*\n1.*.3.*\n*.*.*.*\n0.0.0.0 TRUE\n'
            '192.168.1.0/28 false\n192.168.1.7/28 default\n::1 norelay\n'
            '2001:db8::/32 norelay,0\n::/0 norelay,2\nabc.co.jp\nabc@abc.co.jp false\n'
            '#blank false\n#<> false\n#number false\n#nodomain false\n#host false\n'
            'Sub-Domain_1.example.\n"q"@example.jp norelay\n0.0.0.0 only\n# end\n\n',
            [], 'every form')
    check_t(s, '', [], 'an empty file')
    check_t(s, '127.0.0.1\r\n127.0.0.2 false\r\n', [], 'CRLF line ends')
    check_t(s, '127.0.0.1', [], 'no final newline')

    # every bad line, one message each, in order
    U = ("unknown action '%s' (expected true, false, default, norelay, norelay,0, "
         "norelay,2 or only)")
    CIDR = "bad CIDR block '%s' (an IPv4 address/0-32 or an IPv6 address/0-128)"
    IP4 = "bad IPv4 pattern '%s' (four octets, each 0-255 or '*')"
    bad = [
        ('# comment', None),
        ('127.0.0.1\tfalse', 'TAB is not allowed (separate pattern and action with one space)'),
        ('127.0.0.1  false', 'more than one space (write PATTERN or PATTERN ACTION, one '
                             'space between)'),
        (' 127.0.0.1', 'space at the start of the line'),
        ('127.0.0.1 ', 'space at the end of the line'),
        ('127.0.0.1 maybe', U % 'maybe'),
        ('127.0.0.1 norelay,1', U % 'norelay,1'),
        ('127.0.0.1 norelay, 2', 'more than one space (write PATTERN or PATTERN ACTION, '
                                 'one space between)'),
        ('10.0.0.0/33', CIDR % '10.0.0.0/33'),
        ('::/129', CIDR % '::/129'),
        ('10.0.0.0/', CIDR % '10.0.0.0/'),
        ('10.*.0.0/16', CIDR % '10.*.0.0/16'),
        ('10.0.0.256', IP4 % '10.0.0.256'),
        ('10.*.*', IP4 % '10.*.*'),
        ('10.1*.0.0', IP4 % '10.1*.0.0'),
        ('10.0.0.01', IP4 % '10.0.0.01'),
        ('1.2.3.4.5', IP4 % '1.2.3.4.5'),
        ('*.example.com', "bad pattern '*.example.com' ('*' stands only for a whole "
                          "IPv4 octet)"),
        ('#comment', "unknown keyword '#comment' (expected #blank, #<>, #number, #nodomain "
                     "or #host; a comment is '#' and a space)"),
        ('#\tcomment', 'TAB is not allowed (separate pattern and action with one space)'),
        ('2001:db8::g', "bad IPv6 address '2001:db8::g'"),
        ('@example.com', "bad mail address '@example.com'"),
        ('a@b@', "bad mail address 'a@b@'"),
        ('x..y', "bad pattern 'x..y' (expected an IP address, CIDR block, domain, mail "
                 "address or #keyword)"),
        ('-', None),
        ('a\x01b', 'control character in line'),
        ('a\x00b', 'NUL byte in line'),
        ('x' * 1025, 'line longer than 1024 bytes'),
        ('10.0.0.9 only', None),
        ('', None),
        ('# a comment after only is fine', None),
        ('10.0.0.2', "rule after the 'only' rule of line %d ('only' must be the last "
                     "rule)"),
        ('abc.co.jp false', "rule after the 'only' rule of line %d ('only' must be the "
                            "last rule)"),
        ('10.0.0.3 falsch', U % 'falsch'),
        ('0.0.0.0 only', "rule after the 'only' rule of line %d ('only' must be the last "
                         "rule)"),
    ]
    only = [i + 1 for i, (line, _) in enumerate(bad) if line == '10.0.0.9 only'][0]
    want = [(i + 1, m % only if 'only' in m and '%d' in m else m)
            for i, (line, m) in enumerate(bad) if m]
    check_t(s, '\n'.join(line for line, _ in bad) + '\n', want, 'every bad line',
            mode='w')
    # a single '-' is a domain pattern of one label; a comment is '#' and a
    # space, so '#<TAB>...' is a line with a TAB
    check_t(s, 'a 10.0.0.1 only\n', [(1, 'more than one space (write PATTERN or PATTERN '
                                         'ACTION, one space between)')], 'three words')
    # only, then only
    check_t(s, '10.0.0.1 only\n10.0.0.2 only\n',
            [(2, "rule after the 'only' rule of line 1 ('only' must be the last rule)")],
            'two only lines')

    # the shipped etc/effect.dat: comments only, and each example in it
    # (a "# RULE" line after "# EXAMPLES") is a valid rule
    shipped = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'etc', 'effect.dat')).read()
    check_t(s, shipped, [], 'etc/effect.dat as shipped')
    examples = [m.group(1) for m in re.finditer(r'(?m)^# (\S+(?: \S+)?)$',
                                               shipped.split('# EXAMPLES', 1)[1])
                if not m.group(1).endswith(':')]
    t.is_(len(examples), 19, 'etc/effect.dat: 19 example lines')
    for ex in examples:
        check_t(s, ex + '\n', [], 'example %r' % ex)

    # limits: 10000 rules, 1 MiB
    check_t(s, '127.0.0.1\n' * 10000, [], '10000 rules')
    check_t(s, '127.0.0.1\n' * 10001 + 'bad\tline\n',
            [(10001, 'more than 10000 rules'),
             (10002, 'TAB is not allowed (separate pattern and action with one space)')],
            '10001 rules')
    check_t(s, '# ' + 'x' * 1022 + '\n', [], 'a comment of 1024 bytes')
    check_t(s, '# ' + 'x' * 1023 + '\n', [(1, 'line longer than 1024 bytes')],
            'a comment of 1025 bytes')
    check_t(s, '# ' + 'x' * 1022 + '\r\n', [], 'a comment of 1024 bytes and CRLF')
    big = ('# ' + 'x' * 1000 + '\n') * 1100
    check_t(s, big[:1024 * 1024], [], 'exactly 1 MiB')
    check_t(s, big[:1024 * 1024] + '\n', [(None, 'larger than 1048576 bytes')], '1 MiB + 1')
    check_t(s, 'x' * 1024 + '\n', [(1, "bad pattern '%s' (expected an IP address, CIDR "
                                       "block, domain, mail address or #keyword)" %
                                    ('x' * 1024))], 'a line of 1024 bytes')

    # [plugin relay] file = PATH
    os.unlink(os.path.join(s.etc, 'effect.dat'))
    rc, out, err = yubind_t(s)
    t.is_((rc, err), (0, ''), '-t: a missing default effect.dat is no error')
    s.sections['plugin relay'] = {'file': 'rules/relay.dat'}
    s.write_conf(s.sections)
    rc, out, err = yubind_t(s)
    t.is_((rc, err.strip()), (1, '%s/rules/relay.dat: cannot open: No such file or directory'
                              % s.etc), '-t: a missing configured file is an error')
    check_t(s, '10.0.0.1 only\n10.0.0.2\n',
            [(2, "rule after the 'only' rule of line 1 ('only' must be the last rule)")],
            'file = rules/relay.dat (relative to CONFDIR)', fname='rules/relay.dat')
    absolute = os.path.join(s.tmp, 'abs.dat')
    with open(absolute, 'w') as f:
        f.write('10.0.0.1\tfalse\n')
    s.sections['plugin relay'] = {'file': absolute}
    s.write_conf(s.sections)
    rc, out, err = yubind_t(s)
    t.is_((rc, err.splitlines()), (1, ['%s:1: TAB is not allowed (separate pattern and '
                                       'action with one space)' % absolute]),
          '-t: file = an absolute path')
    del s.sections['plugin relay']
    s.write_conf(s.sections)

    # a broken file stops start-up, exit 1, the error in the log
    path = write(s, '127.0.0.1\n127.0.0.2 only\n127.0.0.3\n')
    try:
        s.start()
        started = True
    except RuntimeError:
        started = False
    t.ok(not started, 'start-up with a rule after only fails')
    t.is_(s.proc.returncode, 1, 'yubind exits 1')
    t.like(s.log(), r"%s:3: rule after the 'only' rule of line 2 \('only' must be the "
           r"last rule\)" % path.replace('.', r'\.'), 'the error is in the log')
finally:
    s.cleanup()

# reload: a changed file is used; a broken one keeps the running rules
with relay_server(files={'effect.dat': '127.0.2.* norelay\n'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-6000:]))
    matrix(t, s, 'started with norelay', TABLE_IV, '127.0.2.5')
    t.ok(reload(s, '127.0.2.*\n'), 'reload with 127.0.2.* (true)')
    matrix(t, s, 'after reload: true', TABLE_II, '127.0.2.5')
    t.ok(reload(s, '127.0.2.* false\n127.0.2.* maybe\n127.0.3.*\tfalse\n', ok=False),
         'reload with a broken file fails')
    p = os.path.join(s.etc, 'effect.dat').replace('.', r'\.')
    t.ok(s.wait_log(r"reload: %s:2: unknown action 'maybe'" % p) and
         s.wait_log(r'reload: %s:3: TAB is not allowed' % p), 'every error logged')
    matrix(t, s, 'the running rules stay', TABLE_II, '127.0.2.5')
    matrix(t, s, 'the running rules stay (other)', TABLE_I, '127.0.3.5')
    t.ok(reload(s, '127.0.2.* false\n'), 'reload with the file fixed')
    g, closed = connect_reply(s, '127.0.2.5')
    check(t, g, DENIED, 'the new rules apply: refused at connect')
    t.ok(reload(s, conf={'plugin relay': {'file': 'missing.dat'}}, ok=False),
         'reload naming a missing file fails')
    g, closed = connect_reply(s, '127.0.2.5')
    check(t, g, DENIED, 'and keeps the running rules')

t.done()
