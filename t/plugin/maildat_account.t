#!/usr/bin/env python3
# maildat plugin: per-account tables (HOME/mailbox/ACCOUNT/mail.dat, F119).
# One account's table refuses while another's does not: the refused copy is
# not stored and is logged with rule and account, the other copy is stored;
# when every recipient's table refuses the client gets 550 5.7.1 at DATA.
import os
import smtplib
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until

t = TAP()

SERVER_RULES = '''Virus:server-only
Subject:server-refuses
Level:100
VirusEnd:
'''

ALICE_RULES = '''# alice refuses "alice-no"
Virus:alice-block
Subject:alice-no
Level:100
VirusEnd:

Virus:alice-tag
Subject:alice-tag
Level:400
Tag:X-Alice:tagged
VirusEnd:
'''

BOB_RULES = '''Virus:bob-block
Subject:bob-no
Level:100
VirusEnd:

Virus:bob-too
Subject:alice-no bob-no
Level:100
VirusEnd:
'''


def write_table(s, account, text):
    d = os.path.join(s.home, 'mailbox', account)
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, 'mail.dat')
    with open(p, 'w') as f:
        f.write(text)
    os.chmod(p, 0o644)


def send(s, rcpts, subject):
    msg = ('From: dave@example.org\r\nTo: %s\r\nSubject: %s\r\n\r\nhello\r\n'
           % (', '.join(rcpts), subject)).encode()
    c = s.smtp()
    try:
        refused = c.sendmail('dave@example.org', rcpts, msg)
        return 250, refused
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode('utf-8', 'replace')
    finally:
        try:
            c.quit()
        except Exception:
            pass


def subjects(s, account):
    out = []
    for m in s.mails(account):
        for line in m.decode('utf-8', 'replace').splitlines():
            if line.startswith('Subject:'):
                out.append(line[8:].strip())
    return out


conf = {'server': {'plugins': 'maildat'}, 'plugin maildat': {}}
with Server(conf=conf, accounts={'alice': 'pw', 'bob': 'pw', 'carol': 'pw'},
            files={'mail.dat': SERVER_RULES}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    write_table(s, 'alice', ALICE_RULES)
    write_table(s, 'bob', BOB_RULES)

    both = ['alice@localhost', 'bob@localhost']

    # nothing matches: both copies stored
    t.is_(send(s, both, 'plain one')[0], 250, 'no rule matches: accepted')
    t.ok(s.wait_mail('alice', 1) and s.wait_mail('bob', 1), 'both copies stored')

    # mixed: alice's table refuses, bob's does not
    code, _ = send(s, both, 'alice-no please')
    t.is_(code, 250, 'mixed recipients: accepted (one table refuses)')
    t.ok(s.wait_mail('bob', 2), "bob's copy is stored")
    t.ok(s.wait_log(r'copy for <alice@localhost> refused rule="alice-block" account=alice'),
         'the refused copy is logged with rule and account')
    t.ok(s.wait_log(r'match rule="alice-block" level=100 table=account account=alice'),
         'the match is logged with table and account')
    t.ok(wait_until(lambda: not s.queue_files()), 'queue drained')
    t.ok('alice-no please' not in subjects(s, 'alice'), "alice's copy is not stored")
    t.is_(len(s.mails('alice')), 1, 'alice still has one message')

    # mixed the other way round
    code, _ = send(s, both, 'bob-no thanks')
    t.is_(code, 250, 'mixed (bob refuses): accepted')
    t.ok(s.wait_mail('alice', 2), "alice's copy is stored")
    t.ok(s.wait_log(r'copy for <bob@localhost> refused rule="bob-block" account=bob'),
         "bob's refused copy is logged")
    t.ok(wait_until(lambda: not s.queue_files()), 'queue drained')
    t.is_(len(s.mails('bob')), 2, "bob's copy is not stored")

    # every recipient's table refuses: 550 5.7.1 at DATA
    code, text = send(s, both, 'alice-no bob-no')
    t.is_(code, 550, 'every table refuses: 550 at DATA')
    t.like(text, r'5\.7\.1', 'with 5.7.1')

    # a recipient without a table plus one that refuses
    code, _ = send(s, ['alice@localhost', 'carol@localhost'], 'alice-no again')
    t.is_(code, 250, 'a recipient without a table keeps the message')
    t.ok(s.wait_mail('carol', 1), "carol's copy is stored")
    t.ok(wait_until(lambda: not s.queue_files()), 'queue drained')
    t.is_(len(s.mails('alice')), 2, "alice's copy is not stored")

    # a single recipient whose table refuses
    code, text = send(s, ['alice@localhost'], 'alice-no alone')
    t.is_(code, 550, 'single recipient, its table refuses: 550')
    t.like(text, r'5\.7\.1', 'with 5.7.1')

    # a non-refusing per-account action for the only account: applied
    t.is_(send(s, ['alice@localhost'], 'alice-tag me')[0], 250, 'per-account tag rule passes')
    t.ok(s.wait_mail('alice', 3), 'stored')
    t.ok(any(b'X-Alice: tagged' in m for m in s.mails('alice')),
         "alice's own table adds its header to her copy")

    # the server table decides first
    t.is_(send(s, both, 'server-refuses')[0], 550, 'server table still refuses')

    # a broken per-account table is not used and does not stop mail
    write_table(s, 'bob', 'Virus:broken\nSubject:x\n')
    t.is_(send(s, both, 'bob-no after break')[0], 250, 'broken account table: accepted')
    t.ok(s.wait_mail('bob', 3), "bob's copy is stored (his table is not used)")
    t.ok(s.wait_log(r'mailbox/bob/mail\.dat:1: rule .broken. has no VirusEnd: \(table not used\)'),
         'the broken table is logged')

with Server(conf={'server': {'plugins': 'maildat'}, 'plugin maildat': {'per_account': '0'}},
            accounts={'alice': 'pw'}, files={'mail.dat': SERVER_RULES}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    write_table(s, 'alice', ALICE_RULES)
    t.is_(send(s, ['alice@localhost'], 'alice-no off')[0], 250,
          'per_account = 0: account tables are not read')
    t.ok(s.wait_mail('alice', 1), 'stored')

t.done()
