#!/usr/bin/env python3
"""Relay grants beside effect.dat: SMTP AUTH under sender_trust 1, 2 and 3
(From: header checked at the end of DATA), send_permits_only_smtp_auth,
POP before SMTP within and after its TTL (and per client address),
address_permits_relay (exact and CIDR, past false rules), smtp.relay = 1
(open relay, false rules still refuse), and the submission port."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from relay_lib import (TAP, relay_server, matrix, reload, session, rcpt_reply,  # noqa: E402
                       connect_reply, check, pop_login, wait_until, count,
                       YES, DENIED, REFUSED, R_ACCT, R_EXT,
                       TABLE_I, TABLE_I_AUTH, TABLE_II, TABLE_IV, TABLE_IV_AUTH,
                       TABLE_IV2, TABLE_V_OTHER)

t = TAP()
OK_MAIL = (250, '2.1.0')
QUEUED = (250, '2.0.0')
# Table I when internal senders need authentication to reach outside
TABLE_I_GATED = 'YNN NNN YNN'


def send(c, sender, rcpts, headers):
    """MAIL, RCPTs (all must be accepted), DATA with HEADERS; the final
    reply."""
    if c.cmd('MAIL FROM:<%s>' % sender)[0] != 250:
        return (None, 'MAIL refused')
    for r in rcpts:
        got = c.cmd('RCPT TO:<%s>' % r)
        if got[0] != 250:
            c.cmd('RSET')
            return (None, 'RCPT refused: %r' % (got,))
    if c.cmd('DATA')[0] != 354:
        return (None, 'DATA refused')
    c.send(headers.encode() + b'Subject: trust\r\n\r\nbody\r\n.\r\n')
    return c.reply()


with relay_server({'server': {'alias': 'alias.test'}}, files={'effect.dat': ''}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-6000:]))

    # ---- sender_trust 1 (default): any authenticated session -----------
    matrix(t, s, 'trust 1 unauth', TABLE_I)
    matrix(t, s, 'trust 1 auth', TABLE_I_AUTH, user='alice')
    # bob authenticated may use any sender
    matrix(t, s, 'trust 1 auth as bob', TABLE_I_AUTH, user='bob')

    # ---- send_permits_only_smtp_auth ----------------------------------
    t.ok(reload(s, conf={'smtp': {'send_permits_only_smtp_auth': '1'}}), 'reload: spoa = 1')
    matrix(t, s, 'spoa I unauth', TABLE_I_GATED)
    matrix(t, s, 'spoa I auth', TABLE_I_AUTH, user='alice')
    for line, un, auth, other in [
        ('127.0.2.*', 'YNN YNN YNY', TABLE_II, TABLE_I_GATED),
        ('127.0.2.* norelay', TABLE_IV, TABLE_IV_AUTH, TABLE_I_GATED),
        ('127.0.2.* norelay,2', TABLE_IV2, TABLE_IV2, TABLE_I_GATED),
        ('127.0.2.* only', TABLE_I_GATED, TABLE_I_AUTH, TABLE_V_OTHER),
    ]:
        t.ok(reload(s, line + '\n'), 'reload: %s' % line)
        matrix(t, s, 'spoa %s match' % line, un, '127.0.2.5')
        matrix(t, s, 'spoa %s match, auth' % line, auth, '127.0.2.5', 'alice')
        matrix(t, s, 'spoa %s other' % line, other, '127.0.3.5')

    # ---- sender_trust 2: the envelope sender must be the auth id ---------
    t.ok(reload(s, '', conf={'smtp': {'sender_trust': '2'}}), 'reload: trust 2')
    for sender, rcpt, want in [
        ('alice@local.test', R_EXT, YES),
        ('ALICE@Local.Test', R_EXT, YES),
        ('alice@alias.test', R_EXT, YES),       # same local part, a local domain
        ('bob@local.test', R_EXT, DENIED),
        ('alice@ext.example', R_EXT, DENIED),   # same local part, foreign domain
        ('x@ext.example', R_EXT, DENIED),
        ('', R_EXT, DENIED),
        ('bob@local.test', R_ACCT, YES),        # a "yes" cell needs no trust
        ('x@ext.example', R_ACCT, YES),
    ]:
        check(t, rcpt_reply(s, sender, rcpt, user='alice'), want,
              'trust 2: auth alice, <%s> -> <%s>' % (sender, rcpt))
    t.ok(s.wait_log(r'relay denied rule=default client=127\.0\.0\.1 from=<bob@local\.test> '
                    r'to=<y@remote\.example> reason=sender does not match the '
                    r'authenticated user'), 'trust 2: refusal logged with the reason')

    # ---- sender_trust 3: and the From: header ---------------------------
    t.ok(reload(s, conf={'smtp': {'sender_trust': '3'}}), 'reload: trust 3')
    c = session(s, user='alice')
    for sender, rcpts, headers, want, name in [
        ('alice@local.test', [R_EXT], 'From: alice@local.test\r\n', QUEUED, 'From: = id'),
        ('alice@local.test', [R_EXT], 'From: "Alice A." <Alice@alias.test>\r\n', QUEUED,
         'display name, alias domain'),
        ('alice@local.test', [R_EXT, R_ACCT], 'From: alice@local.test (Alice)\r\n', QUEUED,
         'comment'),
        ('alice@local.test', [R_EXT], 'From: bob@local.test\r\n', REFUSED, 'other From:'),
        ('alice@local.test', [R_EXT], 'From: Alice <bob@local.test>\r\n', REFUSED,
         'other From: in brackets'),
        ('alice@local.test', [R_EXT], 'From: alice@local.test, bob@local.test\r\n', REFUSED,
         'two From: mailboxes'),
        ('alice@local.test', [R_EXT], 'From: alice@local.test\r\nFrom: bob@local.test\r\n',
         REFUSED, 'two From: fields'),
        ('alice@local.test', [R_EXT], 'To: y@remote.example\r\n', REFUSED, 'no From:'),
        ('alice@local.test', [R_ACCT], 'From: bob@local.test\r\n', QUEUED,
         'local recipients only: nothing rode on the authentication'),
    ]:
        check(t, send(c, sender, rcpts, headers), want, 'trust 3: %s' % name)
    c.quit()
    t.ok(s.wait_log(r'relay denied rule=smtp\.sender_trust client=127\.0\.0\.1 auth=alice '
                    r'header_from=bob@local\.test'), 'trust 3: refusal logged')

    # ---- POP before SMTP -------------------------------------------------
    t.ok(reload(s, conf={'smtp': {'sender_trust': '1', 'send_permits_only_smtp_auth': '0'}}),
         'reload: trust 1, spoa 0')
    t.ok(pop_login(s, 'alice'), 'POP3 login while pop_before_smtp = 0')
    matrix(t, s, 'pop_before_smtp = 0: a POP login grants nothing', TABLE_I)
    t.ok(reload(s, conf={'smtp': {'pop_before_smtp': '1',
                                  'pop_befor_smtp_time_to_live': '3s'}}),
         'reload: pop_before_smtp = 1, ttl 3s')
    matrix(t, s, 'pop before smtp: no POP login yet', TABLE_I_GATED)
    matrix(t, s, 'pop before smtp: authenticated instead', TABLE_I_AUTH, user='alice')
    t.ok(pop_login(s, 'bob', '127.0.0.7'), 'POP3 login from 127.0.0.7')
    matrix(t, s, 'pop before smtp: within the TTL', TABLE_I_AUTH, '127.0.0.7')
    matrix(t, s, 'pop before smtp: another address', TABLE_I_GATED, '127.0.0.8')
    # with sender_trust 3 a POP grant checks no header
    t.ok(reload(s, conf={'smtp': {'sender_trust': '3'}}), 'reload: trust 3')
    t.ok(pop_login(s, 'bob', '127.0.0.7'), 'POP3 login again')
    c = session(s, '127.0.0.7')
    check(t, send(c, 'x@ext.example', [R_EXT], 'From: someone@else.example\r\n'), QUEUED,
          'pop before smtp, trust 3: no From: check')
    c.quit()
    # after the TTL: polled, no fixed sleep
    t.ok(wait_until(lambda: rcpt_reply(s, 'x@ext.example', R_EXT, '127.0.0.7')[0] == 554,
                    timeout=15, step=0.2), 'pop before smtp: refused after the TTL')
    matrix(t, s, 'pop before smtp: after the TTL', TABLE_I_GATED, '127.0.0.7')
    t.ok(reload(s, conf={'smtp': {'sender_trust': '1',
                                  'pop_befor_smtp_time_to_live': '30m'}}),
         'reload: ttl 30m')
    t.ok(pop_login(s, 'alice', '127.0.0.9'), 'POP3 login from 127.0.0.9')
    t.ok(reload(s, '127.0.0.9 norelay,0\n'), 'reload: 127.0.0.9 norelay,0')
    matrix(t, s, 'pop before smtp does not unlock norelay,0', TABLE_IV, '127.0.0.9')
    t.ok(reload(s, '127.0.0.9 norelay\n'), 'reload: 127.0.0.9 norelay')
    matrix(t, s, 'pop before smtp unlocks the norelay ※1 cell', TABLE_IV_AUTH, '127.0.0.9')

    # ---- address_permits_relay -------------------------------------------
    t.ok(reload(s, '*.*.*.* false\n', conf={'smtp': {
        'pop_before_smtp': '0', 'send_permits_only_smtp_auth': '1',
        'address_permits_relay': '127.0.0.5, 127.0.3.0/24'}}),
        'reload: address_permits_relay, every IP false')
    matrix(t, s, 'address_permits_relay exact', TABLE_II, '127.0.0.5')
    matrix(t, s, 'address_permits_relay CIDR', TABLE_II, '127.0.3.200')
    g, closed = connect_reply(s, '127.0.0.6')
    check(t, g, DENIED, 'an address not listed is refused at connect')
    t.ok(reload(s, '', conf={'smtp': {'send_permits_only_smtp_auth': '0'}}), 'reload: no rules')
    matrix(t, s, 'address_permits_relay without rules', TABLE_II, '127.0.3.1')
    matrix(t, s, 'not listed', TABLE_I, '127.0.4.1')

    # ---- smtp.relay = 1 ------------------------------------------------------
    t.ok(reload(s, '127.0.2.* false\nx@ext.example false\n',
                conf={'smtp': {'relay': '1', 'address_permits_relay': None}}),
         'reload: relay = 1')
    matrix(t, s, 'open relay', 'YNY YNY F', '127.0.0.1')
    g, closed = connect_reply(s, '127.0.2.1')
    check(t, g, DENIED, 'open relay: a false IP rule still refuses at connect')

    # ---- the submission port --------------------------------------------------
    t.ok(reload(s, '', conf={'smtp': {'relay': '0'}}), 'reload: relay = 0')
    c = session(s, listener='submission')
    check(t, c.cmd('MAIL FROM:<alice@local.test>'), (530, '5.7.0'),
          'submission: MAIL needs AUTH')
    c.quit()
    matrix(t, s, 'submission, auth', TABLE_I_AUTH, user='alice', listener='submission')

# ---- per-domain mailboxes: an account may use its own domain only --------
# (alice of local.test and alice@alias.test are two accounts there)
with relay_server({'server': {'alias': 'alias.test', 'domain_mailboxes': '1'},
                   'smtp': {'sender_trust': '2', 'send_permits_only_smtp_auth': '1'}},
                  files={'effect.dat': ''},
                  accounts={'alice': 'Alice-pw-1'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-6000:]))
    s.ctl('account', 'add', 'alice@alias.test', 'Alias-pw-3')
    for user, pw, sender, want in [
        ('alice', 'Alice-pw-1', 'alice@local.test', YES),
        ('alice', 'Alice-pw-1', 'alice@alias.test', DENIED),
        ('alice@alias.test', 'Alias-pw-3', 'alice@alias.test', YES),
        ('alice@alias.test', 'Alias-pw-3', 'alice@local.test', DENIED),
    ]:
        c = session(s)
        t.is_(c.auth(user, pw)[0], 235, 'per-domain: AUTH %s' % user)
        r = c.cmd('MAIL FROM:<%s>' % sender)
        if r[0] == 250:
            r = c.cmd('RCPT TO:<%s>' % R_EXT)
        c.quit()
        check(t, r, want, 'per-domain, trust 2: auth %s, <%s> -> <%s>' % (user, sender, R_EXT))

t.done()
