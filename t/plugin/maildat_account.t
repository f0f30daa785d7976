#!/usr/bin/env python3
# maildat plugin: per-account tables (HOME/mailbox/ACCOUNT/mail.dat, F119).
# One account's table refuses while another's does not: the refused copy is
# not stored and is logged with rule and account, the other copy is stored;
# when every recipient's table refuses the client gets 550 5.7.1 at DATA.
# A table that changes the message (warning, Subject tag, header tag, and
# with Forward:) changes that account's copy only: with recipients of
# several accounts each Maildir copy shows its own account's change alone.
import os
import re
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

# ---- changes per account: each copy shows only its own account's change ----
TAG_RULES = '''Virus:tagger
Subject:mixed-change
Level:300
Tag:[ALICE]
VirusEnd:
'''

WARN_RULES = '''Virus:warner
Subject:mixed-change
Level:200
Warning:
*** bob's own warning ***
WarningEnd:
VirusEnd:
'''

HDR_RULES = '''Virus:header
Subject:mixed-change
Level:400
Tag:X-Dave:flagged
VirusEnd:
'''

FWD_RULES = '''Virus:fwd-tag
Subject:mixed-change
Level:600
Tag:[FWD]
Forward:erin@localhost
VirusEnd:
'''


def copy_of(s, account, marker):
    """ACCOUNT's stored copy whose Subject ends in MARKER, as text."""
    for m in s.mails(account):
        text = m.decode('utf-8', 'replace')
        if (subject_of(text) or '').endswith(marker):
            return text
    return ''


def subject_of(text):
    for line in text.splitlines():
        if line.startswith('Subject:'):
            return line[8:].strip()
    return None


def queued_copies(s, account):
    return len(re.findall(r'copy for account=%s changed by rule="[^"]*" queued as \S+'
                          % account, s.log()))


acc5 = {a: 'pw' for a in ('alice', 'bob', 'carol', 'dave', 'erin')}
with Server(conf=conf, accounts=acc5, files={'mail.dat': SERVER_RULES}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    write_table(s, 'alice', TAG_RULES)
    write_table(s, 'bob', WARN_RULES)
    write_table(s, 'dave', HDR_RULES)
    write_table(s, 'erin', '# erin has a table that never matches\n')

    # three accounts: one tags, one warns, one has no table
    three = ['alice@localhost', 'bob@localhost', 'carol@localhost']
    t.is_(send(s, three, 'mixed-change one')[0], 250, 'tag + warning + none: accepted')
    t.ok(all(s.wait_mail(a, 1) for a in ('alice', 'bob', 'carol')), 'three copies stored')
    t.ok(wait_until(lambda: not s.queue_files()), 'queue drained')
    a, b, c = copy_of(s, 'alice', 'one'), copy_of(s, 'bob', 'one'), copy_of(s, 'carol', 'one')
    t.is_(subject_of(a), '[ALICE] mixed-change one', "alice's copy has her tag")
    t.ok("bob's own warning" not in a, "alice's copy has no warning")
    t.is_(subject_of(b), 'mixed-change one', "bob's copy has no tag")
    t.like(b, r"\n\n\*\*\* bob's own warning \*\*\*\n\nhello",
           "bob's copy has his warning on top of the body")
    t.is_(subject_of(c), 'mixed-change one', "carol's copy is untouched (subject)")
    t.ok('warning' not in c and '[ALICE]' not in c, "carol's copy is untouched (body)")
    t.is_([len(s.mails(x)) for x in ('alice', 'bob', 'carol')], [1, 1, 1], 'one copy each')
    t.ok(s.wait_log(r'copy for account=alice changed by rule="tagger" queued as \S+ nrcpt=1'),
         "alice's changed copy is queued on its own and logged")
    t.ok(s.wait_log(r'copy for account=bob changed by rule="warner" queued as \S+ nrcpt=1'),
         "bob's changed copy is queued on its own and logged")

    # two accounts, both change: the message carries one, the other is queued
    t.is_(send(s, ['alice@localhost', 'bob@localhost'], 'mixed-change two')[0], 250,
          'tag + warning, no unchanged copy: accepted')
    t.ok(s.wait_mail('alice', 2) and s.wait_mail('bob', 2), 'both copies stored')
    t.ok(wait_until(lambda: not s.queue_files()), 'queue drained')
    a, b = copy_of(s, 'alice', 'two'), copy_of(s, 'bob', 'two')
    t.is_(subject_of(a), '[ALICE] mixed-change two', 'alice: her tag')
    t.ok("bob's own warning" not in a, 'alice: no warning')
    t.is_(subject_of(b), 'mixed-change two', 'bob: no tag')
    t.like(b, r"\*\*\* bob's own warning \*\*\*", 'bob: his warning')
    t.is_(queued_copies(s, 'alice') + queued_copies(s, 'bob'), 3,
          'one of the two copies was queued on its own, the message carried the other')

    # a header tag, a warning and an unchanged copy
    t.is_(send(s, ['dave@localhost', 'bob@localhost', 'carol@localhost'],
               'mixed-change three')[0], 250, 'header tag + warning + none: accepted')
    t.ok(s.wait_mail('dave', 1) and s.wait_mail('bob', 3) and s.wait_mail('carol', 2),
         'the three copies stored')
    t.ok(wait_until(lambda: not s.queue_files()), 'queue drained')
    d, b, c = copy_of(s, 'dave', 'three'), copy_of(s, 'bob', 'three'), copy_of(s, 'carol', 'three')
    t.like(d, r'(?m)^X-Dave: flagged$', "dave's copy has his header")
    t.ok('X-Dave' not in b and 'X-Dave' not in c, "the others' copies do not")
    t.ok("bob's own warning" not in d and "bob's own warning" not in c,
         "bob's warning is in his copy only")

    # a tag with Forward: for one account, nothing for the other
    write_table(s, 'dave', FWD_RULES)
    t.is_(send(s, ['dave@localhost', 'carol@localhost'], 'mixed-change four')[0], 250,
          'tag + forward for one account, none for the other: accepted')
    t.ok(s.wait_mail('erin', 1) and s.wait_mail('carol', 3),
         'forwarded and unchanged copies stored')
    t.ok(wait_until(lambda: not s.queue_files()), 'queue drained')
    t.is_(subject_of(copy_of(s, 'erin', 'four')), '[FWD] mixed-change four',
          "dave's copy goes tagged to his Forward:")
    t.is_(subject_of(copy_of(s, 'carol', 'four')), 'mixed-change four', "carol's copy is untouched")
    t.is_(len(s.mails('dave')), 1, 'dave gets no copy of his own (redirected)')

    # the single-account case: the message itself is changed, nothing else queued
    before = queued_copies(s, 'bob')
    t.is_(send(s, ['bob@localhost'], 'mixed-change alone')[0], 250, 'single account: accepted')
    t.ok(s.wait_mail('bob', 4), 'stored')
    t.ok(wait_until(lambda: not s.queue_files()), 'queue drained')
    t.like(copy_of(s, 'bob', 'alone'), r"\*\*\* bob's own warning \*\*\*", 'single account: its warning')
    t.is_(queued_copies(s, 'bob'), before, 'single account: no separate copy queued')
    t.is_(len(s.mails('bob')), 4, 'single account: one copy')

    # an account rule's backup goes under that account's folder; an
    # absolute Folder: in an account's table is not followed
    write_table(s, 'carol', 'Virus:carol-keep\nSubject:carol-backup\nLevel:010\n'
                'Folder:held\nVirusEnd:\n\nVirus:carol-abs\nSubject:carol-abs\n'
                'Level:010\nFolder:%s\nVirusEnd:\n' % os.path.join(s.tmp, 'abs-held'))
    t.is_(send(s, ['carol@localhost'], 'carol-backup')[0], 250, 'account backup rule: accepted')
    held = os.path.join(s.home, 'mailbox', 'carol', 'held')
    t.ok(wait_until(lambda: os.path.isdir(held) and len(os.listdir(held)) == 2),
         "the backup is under the account's own folder")
    names = sorted(os.listdir(held)) if os.path.isdir(held) else ['']
    t.is_(names, [names[0], names[0] + '.env'], 'as QUEUEID and QUEUEID.env')
    t.is_(send(s, ['carol@localhost'], 'carol-abs')[0], 250, 'absolute account Folder: accepted')
    t.ok(s.wait_log(r'rule="carol-abs" account=carol: no backup folder \(an account.s Folder: '
                    r'must be relative\)'), 'an absolute account Folder: is refused and logged')
    t.ok(not os.path.exists(os.path.join(s.tmp, 'abs-held')), 'nothing written there')

    # a changed copy that cannot be queued (its Forward: is a local address
    # without an account) is stored unchanged for its own recipient
    write_table(s, 'dave', FWD_RULES.replace('erin@localhost', 'nobody-here@localhost'))
    t.is_(send(s, ['dave@localhost', 'carol@localhost'], 'mixed-change bad fwd')[0], 250,
          'a copy that cannot be queued: accepted')
    t.ok(s.wait_mail('dave', 2), "dave's copy is stored after all")
    t.ok(wait_until(lambda: not s.queue_files()), 'queue drained')
    t.is_(subject_of(copy_of(s, 'dave', 'bad fwd')), 'mixed-change bad fwd',
          'unchanged (not tagged, not redirected)')
    t.is_(subject_of(copy_of(s, 'carol', 'bad fwd')), 'mixed-change bad fwd',
          "carol's copy as well")
    t.ok(s.wait_log(r'rule="fwd-tag" account=dave: cannot queue the changed copy; '
                    r'it is stored unchanged'), 'the failure is logged')
    # the same rule for the only recipient: the message would carry the
    # copy to a Forward: the core refuses, so nothing changes
    t.is_(send(s, ['dave@localhost'], 'mixed-change bad fwd alone')[0], 250,
          'the only recipient, bad Forward:: accepted')
    t.ok(s.wait_mail('dave', 3), 'stored for dave')
    t.is_(subject_of(copy_of(s, 'dave', 'bad fwd alone')), 'mixed-change bad fwd alone',
          'unchanged')
    t.ok(s.wait_log(r'cannot change the recipients; every copy is stored unchanged'),
         'logged')

    # a single account again, with a Subject tag
    t.is_(send(s, ['alice@localhost'], 'mixed-change solo tag')[0], 250,
          'single account, Subject tag: accepted')
    t.ok(s.wait_mail('alice', 3), 'stored')
    t.is_(subject_of(copy_of(s, 'alice', 'solo tag')), '[ALICE] mixed-change solo tag',
          'single account: its Subject tag')

t.done()
