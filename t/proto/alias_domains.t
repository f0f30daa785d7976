#!/usr/bin/env python3
# Local domains and role addresses (issue 6, SEEDS §4.1-4.3, DESIGN §7):
# Wiz98 shared mode (a@d1 and a@d2 are one account) by default; E-Post
# per-domain mailboxes with server.domain_mailboxes = 1 (the account's domain
# field, "yubinctl account add NAME@DOMAIN"); address literals when listed;
# postmaster and abuse always resolve: to that account, else
# server.admin_address, also when that address is outside (delivered out).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, wait_until

t = TAP()


def rcpt_code(s, rcpt):
    with s.smtp() as c:
        c.ehlo('client.test')
        c.mail('sender@client.test')
        code, _ = c.rcpt(rcpt)
        return code


def deliver(s, rcpt, subject):
    with s.smtp() as c:
        return c.sendmail('sender@client.test', [rcpt],
                          ('Subject: %s\r\n\r\nbody\r\n' % subject).encode())


def has(s, account, subject):
    return any(('Subject: %s\n' % subject).encode() in m.replace(b'\r\n', b'\n')
               for m in s.mails(account))


CONF = {'server': {'alias': 'abc.test, [127.0.0.1]', 'admin_address': 'alice@localhost'},
        'smtp': {'subhost': 'sub.test'}}

# 1. shared mode
with Server(conf=CONF, accounts={'alice': 'pw', 'bob': 'pw'}) as s:
    for i, d in enumerate(['localhost', 'abc.test', 'sub.test', '[127.0.0.1]', 'LOCALHOST']):
        deliver(s, 'bob@' + d, 'shared %d' % i)
        t.ok(wait_until(lambda: has(s, 'bob', 'shared %d' % i)),
             'shared mode: bob@%s is account bob' % d)
    t.is_(rcpt_code(s, 'bob@[127.0.0.2]'), 554, 'an unlisted address literal is not ours')
    t.is_(rcpt_code(s, 'bob@other.test'), 554, 'another domain is not ours')
    # postmaster / abuse -> admin_address (a local account)
    deliver(s, 'postmaster@abc.test', 'pm')
    t.ok(wait_until(lambda: has(s, 'alice', 'pm')), 'postmaster -> admin_address account')
    deliver(s, 'Abuse@localhost', 'abuse')
    t.ok(wait_until(lambda: has(s, 'alice', 'abuse')), 'abuse -> admin_address account')
    with s.smtp() as c:
        c.ehlo('client.test')
        c.mail('sender@client.test')
        t.is_(c.rcpt('<postmaster>')[0], 250, 'bare <postmaster> accepted')
    # the postmaster account that setup made does not take postmaster@
    # while admin_address names someone else
    t.is_(s.ctl('account', 'add', 'postmaster', 'pw', check=False).returncode, 1,
          'setup made the postmaster account')
    deliver(s, 'postmaster@localhost', 'pm2')
    t.ok(wait_until(lambda: has(s, 'alice', 'pm2')), 'admin_address comes first')
    t.is_(len(s.mails('postmaster')), 0, 'not the postmaster account')

# 2. per-domain mailboxes
conf = {'server': dict(CONF['server'], domain_mailboxes='1'), 'smtp': CONF['smtp']}
with Server(conf=conf, accounts={'alice': 'pw', 'bob@abc.test': 'pw'}) as s:
    t.is_(rcpt_code(s, 'bob@abc.test'), 250, 'per-domain: bob@abc.test is account bob@abc.test')
    t.is_(rcpt_code(s, 'bob@localhost'), 550, 'per-domain: bob@localhost is nobody')
    t.is_(rcpt_code(s, 'bob@sub.test'), 550, 'per-domain: bob@sub.test is nobody')
    t.is_(rcpt_code(s, 'alice@localhost'), 250,
          'per-domain: an account without domain is server.domain\'s')
    t.is_(rcpt_code(s, 'alice@abc.test'), 550, 'per-domain: ... and no other domain\'s')
    t.is_(rcpt_code(s, 'alice@[127.0.0.1]'), 250, 'per-domain: a listed literal is server.domain')
    deliver(s, 'bob@ABC.test', 'pd')
    t.ok(wait_until(lambda: has(s, 'bob@abc.test', 'pd')),
         'per-domain: delivered to bob@abc.test')
    deliver(s, 'postmaster@abc.test', 'pm3')
    t.ok(wait_until(lambda: has(s, 'alice', 'pm3')), 'per-domain: postmaster still -> admin_address')

# 3. admin_address outside: postmaster and abuse are rewritten and go out
with Sink() as sink:
    conf = {'server': {'admin_address': 'boss@remote.test'}}
    with Server(conf=conf, accounts={'alice': 'pw'},
                files={'gateway.dat': '*,127.0.0.1,%d,tls=none\n' % sink.port}) as s:
        t.is_(deliver(s, 'postmaster@localhost', 'out pm'), {},
              'postmaster accepted without AUTH')
        t.ok(sink.wait(1), 'delivered out')
        t.is_(sink.delivered()[0]['rcpts'], ['boss@remote.test'],
              'to the external admin_address')
        with s.smtp() as c:
            c.ehlo('client.test')
            c.mail('sender@client.test')
            t.is_(c.rcpt('<postmaster>')[0], 250, 'bare <postmaster> too')
            t.is_(c.rcpt('<abuse@localhost>')[0], 250, 'abuse too')
            c.data(b'Subject: two\r\n\r\nbody\r\n')
        t.ok(sink.wait(2), 'second delivered out')
        t.is_(sink.delivered()[1]['rcpts'], ['boss@remote.test'],
              'both role addresses collapse to one recipient')
        t.is_(rcpt_code(s, 'nobody@localhost'), 550, 'other unknown users still refused')
t.done()
