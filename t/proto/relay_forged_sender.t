#!/usr/bin/env python3
"""A forged local sender does not open the relay (issue 12 item 2).

By default (DESIGN §10) an unauthenticated client never relays on the
strength of the envelope sender alone: MAIL FROM:<alice@local.test> (an
existing account), <postmaster@local.test> or <abuse@local.test> to a
remote recipient gets 554 5.7.1 at RCPT, DATA finds no recipient and
nothing is queued.  AUTH still relays.  [plugin relay] trust_local_sender
= 1 restores the seed's literal Table I: then the forged alice relays,
and a warning is logged at start and at every reload; postmaster and
abuse still do not relay, in any spelling."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from relay_lib import (TAP, relay_server, matrix, reload, session, check,  # noqa: E402
                       count, DENIED, YES, TABLE_I, TABLE_I_AUTH, TABLE_I_SEED,
                       R_EXT, R_ACCT, PW)

t = TAP()
OK_MAIL = (250, '2.1.0')
NO_RCPT = (554, '5.5.1')       # DATA without an accepted recipient
WARNING = r'plugin=relay relay: trust_local_sender = 1: an unauthenticated client'
ROLES = ('postmaster@local.test', 'abuse@local.test', 'PostMaster@local.test',
         'ABUSE@Local.Test', '"postmaster"@local.test', 'abuse@alias.test')


def attempt(t, s, sender, want, name, user=None):
    """One session: MAIL FROM:<SENDER>, RCPT TO:<R_EXT> (WANT), then DATA:
    refused when the recipient was, else the message is accepted."""
    c = session(s, user=user)
    check(t, c.cmd('MAIL FROM:<%s>' % sender), OK_MAIL, '%s: MAIL' % name)
    check(t, c.cmd('RCPT TO:<%s>' % R_EXT), want, '%s: RCPT TO:<%s>' % (name, R_EXT))
    r = c.cmd('DATA')
    if want == YES:
        check(t, r, (354, '2.0.0'), '%s: DATA' % name)
        c.send(b'Subject: relay\r\n\r\nbody\r\n.\r\n')
        check(t, c.reply(), (250, '2.0.0'), '%s: accepted' % name)
    else:
        check(t, r, NO_RCPT, '%s: DATA without a recipient' % name)
    c.quit()


def accepted(s):
    return count(s, r': accepted from=')


# postmaster is an account (abuse resolves to it): both are senders of
# the "acct" class, the ones Table I would let relay
with relay_server({'server': {'alias': 'alias.test'}}, files={'effect.dat': ''},
                  accounts=dict(PW, postmaster='Pm-pw-3')) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-6000:]))
    t.ok(count(s, WARNING) == 0, 'default: no trust_local_sender warning')

    # ---- the default: no sender address unlocks relay ----------------------
    n = accepted(s)
    attempt(t, s, 'alice@local.test', DENIED, 'forged alice')
    t.ok(s.wait_log(r'plugin=relay relay denied rule=default client=127\.0\.0\.1 '
                    r'from=<alice@local\.test> to=<y@remote\.example> '
                    r'reason=a local sender alone does not unlock relay'),
         'forged alice: the refusal says why')
    for sender in ROLES:
        attempt(t, s, sender, DENIED, 'forged %s' % sender)
    t.ok(s.wait_log(r'relay denied rule=default client=127\.0\.0\.1 '
                    r'from=<abuse@local\.test> to=<y@remote\.example> '
                    r'reason=postmaster and abuse never unlock relay'),
         'forged abuse: the refusal says why')
    t.is_(accepted(s) - n, 0, 'default: nothing accepted')
    t.is_(s.queue_files(), [], 'default: nothing queued')
    # mail to local accounts is untouched; AUTH relays
    check(t, session(s).cmd('MAIL FROM:<alice@local.test>'), OK_MAIL, 'MAIL again')
    c = session(s)
    c.cmd('MAIL FROM:<alice@local.test>')
    check(t, c.cmd('RCPT TO:<%s>' % R_ACCT), YES, 'forged alice -> bob: local delivery')
    c.quit()
    attempt(t, s, 'alice@local.test', YES, 'AUTH alice as alice', user='alice')
    attempt(t, s, 'postmaster@local.test', YES, 'AUTH alice as postmaster',
            user='alice')
    matrix(t, s, 'default Table I', TABLE_I)
    matrix(t, s, 'default Table I, auth', TABLE_I_AUTH, user='alice')

    # ---- trust_local_sender = 1: the seed's Table I, with a warning ---------
    t.ok(reload(s, conf={'plugin relay': {'trust_local_sender': '1'}}),
         'reload: trust_local_sender = 1')
    t.ok(s.wait_log(WARNING), 'reload: the warning is logged')
    n = accepted(s)
    attempt(t, s, 'alice@local.test', YES, 'trust_local_sender: forged alice')
    t.is_(accepted(s) - n, 1, 'trust_local_sender: alice accepted')
    for sender in ROLES:
        attempt(t, s, sender, DENIED, 'trust_local_sender: forged %s' % sender)
    t.ok(s.wait_log(r'plugin=relay relay denied rule=default client=127\.0\.0\.1 '
                    r'from=<postmaster@local\.test> to=<y@remote\.example> '
                    r'reason=postmaster and abuse never unlock relay'),
         'trust_local_sender: the postmaster refusal says why')
    t.is_(accepted(s) - n, 1, 'trust_local_sender: no role sender accepted')
    matrix(t, s, 'trust_local_sender Table I', TABLE_I_SEED)
    matrix(t, s, 'trust_local_sender Table I, auth', TABLE_I_AUTH, user='alice')
    nwarn = count(s, WARNING)
    t.ok(reload(s, ''), 'reload again')
    t.ok(count(s, WARNING) > nwarn, 'every reload warns again')

    # ---- back to 0 ----------------------------------------------------------
    t.ok(reload(s, conf={'plugin relay': {'trust_local_sender': '0'}}),
         'reload: trust_local_sender = 0')
    attempt(t, s, 'alice@local.test', DENIED, 'trust_local_sender = 0: forged alice')

    # ---- a bad value fails the reload ---------------------------------------
    t.ok(reload(s, conf={'plugin relay': {'trust_local_sender': 'perhaps'}}, ok=False),
         'reload: a bad value is refused')
    t.ok(s.wait_log(r':\d+: \[plugin relay\] trust_local_sender: expected a boolean '
                    r'\(1/0, true/false, yes/no, on/off\), got "perhaps"'),
         'the bad value is named')

# ---- a start with trust_local_sender = 1 warns too ------------------------
with relay_server({'plugin relay': {'trust_local_sender': '1'}},
                  files={'effect.dat': ''}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-6000:]))
    t.ok(s.wait_log(WARNING), 'start: the warning is logged')
    attempt(t, s, 'alice@local.test', YES, 'start with trust_local_sender: forged alice')
    attempt(t, s, 'postmaster@local.test', DENIED,
            'start with trust_local_sender: forged postmaster')

t.done()
