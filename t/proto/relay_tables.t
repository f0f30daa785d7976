#!/usr/bin/env python3
"""The effect.dat tables I-V of SEEDS.md §9.3, every cell: for each action
a one-line file "127.0.2.* ACTION" (the seed's "192.168.0.* ACTION" on
loopback), a matching client (127.0.2.5) and a non-matching one
(127.0.3.5), each unauthenticated and authenticated; the same for IPv6
(::1) and for sender patterns; an empty and a missing file (Table I).

Rows: envelope sender alice@local.test (account), nobody@local.test (local
domain, no account), x@ext.example (external); columns: bob@local.test,
ghost@local.test, y@remote.example.  yes = 250 2.1.5, no = 554 5.7.1, the
recipient without account always 550 5.1.1."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from relay_lib import (TAP, relay_server, matrix, reload,  # noqa: E402
                       connect_reply, check, count, wait_until, ipv6_loopback, DENIED,
                       TABLE_I, TABLE_I_AUTH, TABLE_II, TABLE_IV, TABLE_IV_AUTH,
                       TABLE_IV2, TABLE_V_OTHER)

t = TAP()
MATCH, OTHER = '127.0.2.5', '127.0.3.5'

V6 = ipv6_loopback()

with relay_server({'smtp': {'listen': '127.0.0.1, ::1' if V6 else '127.0.0.1'}},
                  files={'effect.dat': ''}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-6000:]))

    # Table I: an empty file
    matrix(t, s, 'I empty file', TABLE_I)
    matrix(t, s, 'I empty file, auth', TABLE_I_AUTH, user='alice')

    # one line per action; (matching unauth, matching auth) tables, None =
    # refused at connect; non-matching clients get (TABLE_I, TABLE_I_AUTH)
    # except under "only"
    cases = [
        ('127.0.2.*', TABLE_II, TABLE_II, TABLE_I, TABLE_I_AUTH),
        ('127.0.2.* true', TABLE_II, TABLE_II, TABLE_I, TABLE_I_AUTH),
        ('127.0.2.* false', None, None, TABLE_I, TABLE_I_AUTH),
        ('127.0.2.* default', TABLE_I, TABLE_I_AUTH, TABLE_I, TABLE_I_AUTH),
        ('127.0.2.* norelay', TABLE_IV, TABLE_IV_AUTH, TABLE_I, TABLE_I_AUTH),
        ('127.0.2.* norelay,0', TABLE_IV, TABLE_IV, TABLE_I, TABLE_I_AUTH),
        ('127.0.2.* norelay,2', TABLE_IV2, TABLE_IV2, TABLE_I, TABLE_I_AUTH),
        ('127.0.2.* only', TABLE_I, TABLE_I_AUTH, TABLE_V_OTHER, TABLE_V_OTHER),
    ]
    for line, m_un, m_auth, o_un, o_auth in cases:
        t.ok(reload(s, line + '\n'), 'reload: %s' % line)
        if m_un is None:
            g, closed = connect_reply(s, MATCH)
            check(t, g, DENIED, '%s: matching client refused at connect' % line)
            t.ok(closed, '%s: and the connection closed' % line)
            t.ok(s.wait_log(r'plugin=relay relay refused connect rule=effect.dat:1 '
                            r'client=127\.0\.2\.5'), '%s: refusal logged with its rule' % line)
        else:
            matrix(t, s, '%s match' % line, m_un, MATCH)
            matrix(t, s, '%s match, auth' % line, m_auth, MATCH, 'alice')
        matrix(t, s, '%s other' % line, o_un, OTHER)
        matrix(t, s, '%s other, auth' % line, o_auth, OTHER, 'alice')

    # a denied relay is logged with the line that decided it
    t.ok(s.wait_log(r'plugin=relay relay denied rule=effect.dat:1 client=127\.0\.3\.5 '
                    r'from=<alice@local\.test> to=<bob@local\.test>'),
         'only: refusal of a non-matching client logged with the only line')

    # IPv6 clients: exact, CIDR, and the IPv4 client not matching
    if not V6:
        t.ok(True, '# skip no IPv6 loopback here')
    for line, m_un, m_auth, o_un, o_auth in [] if not V6 else [
        ('::1 norelay', TABLE_IV, TABLE_IV_AUTH, TABLE_I, TABLE_I_AUTH),
        ('::1/128 norelay,0', TABLE_IV, TABLE_IV, TABLE_I, TABLE_I_AUTH),
        ('::/127', TABLE_II, TABLE_II, TABLE_I, TABLE_I_AUTH),
        ('0:0::1 norelay,2', TABLE_IV2, TABLE_IV2, TABLE_I, TABLE_I_AUTH),
        ('::/0 only', TABLE_I, TABLE_I_AUTH, TABLE_V_OTHER, TABLE_V_OTHER),
    ]:
        t.ok(reload(s, line + '\n'), 'reload: %s' % line)
        matrix(t, s, '%s ::1' % line, m_un, '::1')
        matrix(t, s, '%s ::1, auth' % line, m_auth, '::1', 'alice')
        matrix(t, s, '%s 127.0.0.1' % line, o_un, '127.0.0.1')
        matrix(t, s, '%s 127.0.0.1, auth' % line, o_auth, '127.0.0.1', 'alice')
    if V6:
        t.ok(reload(s, '2001:db8::/32 false\n::1 false\n'), 'reload: ::1 false')
        g, closed = connect_reply(s, '::1')
        check(t, g, DENIED, '::1 false: refused at connect')
        t.ok(closed, '::1 false: closed')
        matrix(t, s, '::1 false: IPv4 client', TABLE_I, '127.0.0.1')

    # sender patterns: the rows whose sender matches take the action's row
    for line, un, auth in [
        ('local.test', 'YNY YNY YNN', 'YNY YNY YNY'),
        ('local.test true', 'YNY YNY YNN', 'YNY YNY YNY'),
        ('local.test norelay', 'YNN NNN YNN', 'YNY NNN YNY'),
        ('LOCAL.Test norelay,0', 'YNN NNN YNN', 'YNN NNN YNY'),
        ('nobody@local.test norelay,2', 'YNN YNN YNN', 'YNY YNN YNY'),
        ('ext.example default', TABLE_I, TABLE_I_AUTH),
        ('ext.example', 'YNN NNN YNY', 'YNY NNY YNY'),
        ('X@Ext.Example false', 'YNN NNN F', 'YNY NNY F'),
        ('alice@local.test only', 'YNN NNN YNN', 'YNY NNN YNN'),
        ('x@ext.example only', 'NNN NNN YNN', 'NNN NNN YNY'),
    ]:
        t.ok(reload(s, line + '\n'), 'reload: %s' % line)
        matrix(t, s, 'sender rule %s' % line, un, OTHER)
        matrix(t, s, 'sender rule %s, auth' % line, auth, OTHER, 'alice')

    # a missing default effect.dat is Table I
    before = set(s.children('smtp'))
    os.unlink(os.path.join(s.etc, 'effect.dat'))
    n = count(s, r'reloaded configuration, generation')
    s.signal(__import__('signal').SIGHUP)
    t.ok(wait_until(lambda: count(s, r'reloaded configuration, generation') > n) and
         wait_until(lambda: not (set(s.children('smtp')) & before)),
         'reload without effect.dat')
    matrix(t, s, 'I no file', TABLE_I, MATCH)
    matrix(t, s, 'I no file, auth', TABLE_I_AUTH, MATCH, 'alice')

t.done()
