#!/usr/bin/env python3
"""effect.dat patterns: the # keywords on the envelope sender (#blank, #<>,
#number, #nodomain, #host), IPv4 '*' octets in any position, CIDR blocks
(host bits ignored), first match wins (IP and sender rules mixed, an IP
false rule behind a sender rule refusing at MAIL), and the examples of
SEEDS.md §9.3 verbatim (I a-g, II a-j) plus loopback analogues of the
network ones."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from relay_lib import (TAP, relay_server, matrix, reload, session, mail_reply,  # noqa: E402
                       rcpt_reply, connect_reply, check, YES, DENIED, REFUSED,
                       TABLE_I, TABLE_I_AUTH, TABLE_II, TABLE_IV, TABLE_V_OTHER,
                       R_ACCT, R_EXT)

t = TAP()
OK_MAIL = (250, '2.1.0')


def load(line):
    t.ok(reload(s, line), 'reload: %r' % line)


def mails(cases, source='127.0.0.1'):
    """[(sender, want)]: the MAIL reply for each, over one session."""
    c = session(s, source)
    for sender, want in cases:
        check(t, c.cmd('MAIL FROM:<%s>' % sender), want,
              '%r: MAIL FROM:<%s> -> %d %s' % (current[0], sender, want[0], want[1]))
        c.cmd('RSET')
    c.quit()


def rcpts(sender, cases, source='127.0.0.1', user=None):
    """[(rcpt, want)] after MAIL FROM:<SENDER>, one session."""
    c = session(s, source, user)
    check(t, c.cmd('MAIL FROM:<%s>' % sender), OK_MAIL, '%r: MAIL FROM:<%s>' %
          (current[0], sender))
    for rcpt, want in cases:
        check(t, c.cmd('RCPT TO:<%s>' % rcpt), want, '%r: <%s> %s-> <%s> %d %s' % (
            current[0], sender, 'auth ' if user else '', rcpt, want[0], want[1]))
    c.quit()


def refused_at_connect(source, yes=True):
    g, closed = connect_reply(s, source)
    if yes:
        check(t, g, DENIED, '%r: %s refused at connect' % (current[0], source))
        t.ok(closed, '%r: %s closed' % (current[0], source))
    else:
        check(t, g, (220, None), '%r: %s greeted' % (current[0], source))


current = ['']
with relay_server(files={'effect.dat': ''}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-6000:]))

    def use(text):
        current[0] = text
        load(text)

    # ---- keywords ------------------------------------------------------
    use('#<> false\n')
    mails([('', REFUSED), ('x@ext.example', OK_MAIL), ('alice@local.test', OK_MAIL)])
    t.ok(s.wait_log(r'plugin=relay relay refused sender rule=effect.dat:1 '
                    r'client=127\.0\.0\.1 from=<>'), '#<> false: logged with its rule')
    # #blank: a MAIL FROM: without brackets never reaches a plugin (501), so
    # #blank matches the null sender, like #<>
    use('#blank false\n')
    mails([('', REFUSED), ('x@ext.example', OK_MAIL)])
    c = session(s)
    check(t, c.cmd('MAIL FROM:'), (501, '5.5.2'), '#blank: an empty MAIL FROM: is the core\'s 501')
    c.quit()
    use('#<>\n')
    rcpts('', [(R_ACCT, YES), (R_EXT, YES)])
    use('#blank norelay\n')
    rcpts('', [(R_ACCT, YES), (R_EXT, DENIED)])
    rcpts('', [(R_ACCT, YES), (R_EXT, DENIED)], user='alice')

    use('#number false\n')
    mails([('u@[192.0.2.1]', REFUSED), ('u@192.0.2.1', REFUSED),
           ('u@[IPv6:2001:db8::1]', REFUSED), ('u@ext.example', OK_MAIL),
           ('u@1st.example', OK_MAIL), ('', OK_MAIL)])
    use('#number\n')
    rcpts('u@[192.0.2.1]', [(R_ACCT, YES), (R_EXT, YES)])
    rcpts('u@ext.example', [(R_ACCT, YES), (R_EXT, DENIED)])

    use('#host false\n')
    mails([('u@pc01', REFUSED), ('u@PC01', REFUSED), ('u@ext.example', OK_MAIL),
           ('u@[192.0.2.1]', OK_MAIL), ('', OK_MAIL)])
    use('#host norelay,0\n')
    rcpts('u@pc01', [(R_ACCT, YES), (R_EXT, DENIED)], user='alice')
    rcpts('u@ext.example', [(R_ACCT, YES), (R_EXT, YES)], user='alice')

    # #nodomain: the core refuses a sender without domain before any plugin
    use('#nodomain false\n')
    mails([('alice', (501, '5.1.7')), ('alice@local.test', OK_MAIL), ('', OK_MAIL)])

    # keywords are case-insensitive, actions too
    use('#NUMBER FALSE\n')
    mails([('u@192.0.2.1', REFUSED)])

    # ---- IPv4 '*' octets and CIDR blocks --------------------------------
    use('127.*.2.* norelay\n')
    matrix(t, s, '127.*.2.* at 127.0.2.5', TABLE_IV, '127.0.2.5')
    matrix(t, s, '127.*.2.* at 127.9.2.1', TABLE_IV, '127.9.2.1')
    matrix(t, s, '127.*.2.* at 127.0.3.2', TABLE_I, '127.0.3.2')
    use('*.*.*.* norelay\n')
    matrix(t, s, '*.*.*.* at 127.0.0.1', TABLE_IV)
    use('127.0.*.5 false\n')
    refused_at_connect('127.0.2.5')
    refused_at_connect('127.0.200.5')
    refused_at_connect('127.0.2.6', yes=False)
    use('127.0.2.0/28 false\n')
    refused_at_connect('127.0.2.0')
    refused_at_connect('127.0.2.15')
    refused_at_connect('127.0.2.16', yes=False)
    refused_at_connect('127.0.1.255', yes=False)
    use('127.0.2.7/28 false\n')         # host bits are ignored
    refused_at_connect('127.0.2.1')
    refused_at_connect('127.0.2.16', yes=False)
    use('127.0.0.0/8\n')
    matrix(t, s, '127.0.0.0/8', TABLE_II, '127.0.9.9')
    use('0.0.0.0/0 only\n')
    matrix(t, s, '0.0.0.0/0 only', TABLE_I, '127.0.9.9')
    use('127.0.2.5/32 norelay\n')
    matrix(t, s, '/32 match', TABLE_IV, '127.0.2.5')
    matrix(t, s, '/32 other', TABLE_I, '127.0.2.4')

    # ---- first match wins -----------------------------------------------
    use('127.0.2.5 default\n127.0.2.0/24 false\n')
    matrix(t, s, 'first match: 127.0.2.5 default', TABLE_I, '127.0.2.5')
    refused_at_connect('127.0.2.6')
    use('127.0.2.5 norelay\nx@ext.example\n')
    rcpts('x@ext.example', [(R_ACCT, YES), (R_EXT, DENIED)], source='127.0.2.5')
    rcpts('x@ext.example', [(R_ACCT, YES), (R_EXT, YES)], source='127.0.3.5')
    # a sender rule before an IP false rule: the connection is taken and the
    # IP rule decides at MAIL for the other senders
    use('x@ext.example\n127.0.2.0/24 false\n')
    refused_at_connect('127.0.2.5', yes=False)
    rcpts('x@ext.example', [(R_ACCT, YES), (R_EXT, YES)], source='127.0.2.5')
    mails([('alice@local.test', REFUSED), ('', REFUSED)], source='127.0.2.5')
    t.ok(s.wait_log(r'relay refused sender rule=effect.dat:2 client=127\.0\.2\.5 '
                    r'from=<alice@local\.test>'), 'IP false at MAIL logged with line 2')
    mails([('alice@local.test', OK_MAIL)], source='127.0.3.5')
    # comments, blank lines and CRLF line ends
    use('# local network\r\n\r\n#\n127.0.2.5 norelay\r\n')
    matrix(t, s, 'comments and CRLF', TABLE_IV, '127.0.2.5')
    t.ok(s.wait_log(r'relay denied rule=effect.dat:4 client=127\.0\.2\.5 '
                    r'from=<alice@local\.test> to=<y@remote\.example>'),
         'the rule is named by its line number, comments counted')

    # ---- SEEDS.md §9.3 examples, verbatim ---------------------------------
    # I a-e: 192.168/10 ranges match no loopback client: Table I
    for text in ['10.*.*.*\n', '192.168.*.*\n', '192.168.1.*\n', '192.168.1.0/28\n',
                 '192.168.1.0/28 false\n']:
        use(text)
        matrix(t, s, 'I %r from 127.0.0.1' % text, TABLE_I)
    # I f: default rules only from 192.168.1.0-15, nobody else may relay
    use('192.168.1.0/28 default\n0.0.0.0 only\n')
    matrix(t, s, 'I-f from 127.0.0.1', TABLE_V_OTHER)
    matrix(t, s, 'I-f from 127.0.0.1, auth', TABLE_V_OTHER, user='alice')
    # I g: everyone else only mail to local accounts
    use('192.168.1.0/28 default\n*.*.*.* norelay\n')
    matrix(t, s, 'I-g from 127.0.0.1', TABLE_IV)
    # the same on loopback: 127.0.2.0/28 stands for 192.168.1.0/28
    use('127.0.2.0/28\n')
    matrix(t, s, 'I-d analogue inside', TABLE_II, '127.0.2.15')
    matrix(t, s, 'I-d analogue outside', TABLE_I, '127.0.2.16')
    use('127.0.2.0/28 default\n0.0.0.0 only\n')
    matrix(t, s, 'I-f analogue inside', TABLE_I, '127.0.2.1')
    matrix(t, s, 'I-f analogue inside, auth', TABLE_I_AUTH, '127.0.2.1', 'alice')
    matrix(t, s, 'I-f analogue outside', TABLE_V_OTHER, '127.0.2.16')
    use('127.0.2.0/28 default\n*.*.*.* norelay\n')
    matrix(t, s, 'I-g analogue inside', TABLE_I, '127.0.2.1')
    matrix(t, s, 'I-g analogue outside', TABLE_IV, '127.0.2.16')

    # II a: the sender domain abc.co.jp may relay (anyone can write it)
    use('abc.co.jp\n')
    rcpts('anyone@abc.co.jp', [(R_ACCT, YES), (R_EXT, YES)])
    rcpts('anyone@ABC.CO.JP', [(R_EXT, YES)])
    rcpts('anyone@sub.abc.co.jp', [(R_ACCT, YES), (R_EXT, DENIED)])
    # II b
    use('abc.co.jp false\n')
    mails([('anyone@abc.co.jp', REFUSED), ('abc@Abc.Co.Jp', REFUSED),
           ('anyone@sub.abc.co.jp', OK_MAIL), ('x@ext.example', OK_MAIL)])
    # II c
    use('abc@abc.co.jp\n')
    rcpts('abc@abc.co.jp', [(R_ACCT, YES), (R_EXT, YES)])
    rcpts('ABC@abc.co.jp', [(R_EXT, YES)])
    rcpts('other@abc.co.jp', [(R_ACCT, YES), (R_EXT, DENIED)])
    # II d
    use('abc@abc.co.jp false\n')
    mails([('abc@abc.co.jp', REFUSED), ('other@abc.co.jp', OK_MAIL)])
    # II e: only this sender may relay: it gets Table I (relay when
    # authenticated), every other sender Table V's other row
    use('abc@abc.co.jp only\n')
    rcpts('abc@abc.co.jp', [(R_ACCT, YES), (R_EXT, DENIED)])
    rcpts('abc@abc.co.jp', [(R_ACCT, YES), (R_EXT, YES)], user='alice')
    rcpts('alice@local.test', [(R_ACCT, DENIED), (R_EXT, DENIED)], user='alice')
    rcpts('x@ext.example', [(R_ACCT, YES), (R_EXT, DENIED)], user='alice')
    # II f-j
    use('#blank false\n')
    mails([('', REFUSED), ('x@ext.example', OK_MAIL)])
    use('#<> false\n')
    mails([('', REFUSED), ('x@ext.example', OK_MAIL)])
    use('#number false\n')
    mails([('x@[192.0.2.7]', REFUSED), ('x@ext.example', OK_MAIL)])
    use('#nodomain false\n')
    mails([('x', (501, '5.1.7')), ('x@ext.example', OK_MAIL)])
    use('#host false\n')
    mails([('x@localhost', REFUSED), ('x@ext.example', OK_MAIL)])

t.done()
