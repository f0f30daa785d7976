#!/usr/bin/env python3
# Per-domain mailboxes (E-Post "separate" mode, SEEDS §4.3, F018; issue 6):
# with server.domain_mailboxes = 1, alice@d1 and alice@d2 are two accounts
# ("alice@d1.test", "alice@d2.test", plain "alice" for server.domain), each
# with its own password and Maildir; POP3 USER/APOP/AUTH and SMTP AUTH with
# alice@DOMAIN pick the right one, a domain the account does not belong to
# finds nothing; accounts made before (plain NAME with a domain field) keep
# working; shared mode (the default) is unchanged.
import base64
import hashlib
import os
import poplib
import re
import smtplib
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, wait_until

t = TAP()

SEP = {'server': {'alias': 'd1.test, d2.test', 'domain_mailboxes': '1'}}
SHARED = {'server': {'alias': 'd1.test, d2.test'}}


def deliver(s, rcpt, subject):
    with s.smtp() as c:
        return c.sendmail('sender@client.test', [rcpt],
                          ('Subject: %s\r\n\r\nbody\r\n' % subject).encode())


def rcpt_code(s, rcpt):
    with s.smtp() as c:
        c.ehlo('client.test')
        c.mail('sender@client.test')
        return c.rcpt(rcpt)[0]


def subjects(s, account):
    out = []
    for m in s.mails(account):
        g = re.search(rb'^Subject: (.*?)\r?$', m, re.M)
        if g:
            out.append(g.group(1).decode())
    return sorted(out)


def pop_login(s, user, pw):
    """USER/PASS: the subjects seen, or the error text."""
    p = s.pop3()
    try:
        p.user(user)
        p.pass_(pw)
    except poplib.error_proto as e:
        p.close()
        return 'ERR ' + e.args[0].decode(errors='replace')
    subs = []
    n, _ = p.stat()
    for i in range(1, n + 1):
        for line in p.retr(i)[1]:
            if line.startswith(b'Subject: '):
                subs.append(line[9:].decode())
    p.quit()
    return sorted(subs)


def pop_apop(s, user, secret):
    p = s.pop3()
    stamp = re.search(rb'<[^>]+>', p.getwelcome()).group(0)
    digest = hashlib.md5(stamp + secret.encode()).hexdigest()
    try:
        r = p._shortcmd('APOP %s %s' % (user, digest))
    except poplib.error_proto as e:
        r = e.args[0]
    p.close()
    return r.decode(errors='replace')


def pop_plain(s, user, pw):
    p = s.pop3()
    tok = base64.b64encode(b'\0' + user.encode() + b'\0' + pw.encode()).decode()
    try:
        r = p._shortcmd('AUTH PLAIN %s' % tok)
    except poplib.error_proto as e:
        r = e.args[0]
    p.close()
    return r.decode(errors='replace')


def smtp_auth(s, user, pw, mech='PLAIN'):
    with s.smtp() as c:
        c.ehlo('client.test')
        try:
            if mech == 'PLAIN':
                return c.docmd('AUTH', 'PLAIN ' + base64.b64encode(
                    b'\0' + user.encode() + b'\0' + pw.encode()).decode())[0]
            code, _ = c.docmd('AUTH', 'LOGIN')
            code, _ = c.docmd(base64.b64encode(user.encode()).decode())
            return c.docmd(base64.b64encode(pw.encode()).decode())[0]
        except smtplib.SMTPException:
            return -1


accounts = {'alice': 'pw0', 'alice@d1.test': 'pw1', 'alice@d2.test': 'pw2',
            'carol@d2.test': ('pwc', ['--apop'])}

# 1. separate mode
with Server(conf={'server': SEP['server'], 'smtp': {'vrfy_expn': '1'}},
            accounts=accounts) as s:
    mb = os.path.join(s.home, 'mailbox')
    t.ok(all(os.path.isdir(os.path.join(mb, n, 'Maildir'))
             for n in ('alice', 'alice@d1.test', 'alice@d2.test')),
         'one Maildir per account: alice, alice@d1.test, alice@d2.test')
    names = [l.split('\t')[0] for l in s.ctl('account', 'list').stdout.splitlines()]
    t.is_(names, ['alice', 'alice@d1.test', 'alice@d2.test', 'carol@d2.test',
                  'postmaster'],
          'account list names them NAME@DOMAIN')

    # VRFY answers the account's own address, not NAME@DOMAIN@server.domain
    with s.smtp() as c:
        t.is_(c.verify('carol@d2.test'), (250, b'2.1.5 <carol@d2.test>'),
              'VRFY of a per-domain account')
        t.is_(c.verify('alice'), (250, b'2.1.5 <alice@localhost>'),
              'VRFY of a server.domain account')

    # yubinctl account add: what it refuses
    r = s.ctl('account', 'add', 'alice@d2.test', 'x', check=False)
    t.is_((r.returncode, r.stderr.strip()),
          (1, "yubinctl: account 'alice@d2.test' exists"), 'add twice refused')
    r = s.ctl('account', 'add', 'alice@other.test', 'x', check=False)
    t.is_((r.returncode, r.stderr.strip()),
          (1, "yubinctl: bad account 'alice@other.test': the domain is not a local "
              "domain (server.domain, server.alias, smtp.subhost)"),
          'a domain that is not local is refused')
    t.ok(not os.path.exists(os.path.join(mb, 'alice@other.test')),
         '... and no folder made for it')
    long = 'x' * 60
    r = s.ctl('account', 'add', long + '@d1.test', 'x', check=False)
    t.is_((r.returncode, r.stderr.strip()),
          (1, "yubinctl: bad account '%s@d1.test': name@domain must be at most "
              "64 characters" % long), 'name@domain over 64 characters refused')
    r = s.ctl('account', 'add', 'Alice@D1.TEST', 'x', check=False)
    t.is_((r.returncode, r.stderr.strip()),
          (1, "yubinctl: bad account name 'Alice': account name must be 1-64 "
              "characters of a-z 0-9 . _ -"), 'upper-case name refused')
    r = s.ctl('account', 'add', 'dave@D1.TEST.', 'pwd', check=False)
    t.is_(r.returncode, 1, 'a trailing dot in the domain is refused by the name check')
    s.ctl('account', 'add', 'dave@D1.test', 'pwd')
    t.ok(os.path.isdir(os.path.join(mb, 'dave@d1.test', 'Maildir')),
         'the domain is lower-cased: dave@d1.test')

    # delivery
    for rcpt, subj in (('alice@localhost', 'to-0'), ('alice@d1.test', 'to-1'),
                       ('Alice@D2.test', 'to-2'), ('alice@D2.TEST', 'to-2b')):
        deliver(s, rcpt, subj)
    t.ok(wait_until(lambda: subjects(s, 'alice@d2.test') == ['to-2', 'to-2b']),
         'alice@d2.test gets only its mail (in any case)')
    t.ok(wait_until(lambda: subjects(s, 'alice@d1.test') == ['to-1']),
         'alice@d1.test gets only its mail')
    t.ok(wait_until(lambda: subjects(s, 'alice') == ['to-0']),
         'alice (server.domain) gets only its mail')
    t.is_(rcpt_code(s, 'carol@d1.test'), 550, 'carol@d1.test: nobody (carol is d2\'s)')
    t.is_(rcpt_code(s, 'carol@localhost'), 550, 'carol@localhost: nobody')
    t.is_(rcpt_code(s, 'carol@d2.test'), 250, 'carol@d2.test: accepted')

    # POP3 USER/PASS
    t.is_(pop_login(s, 'alice@d1.test', 'pw1'), ['to-1'], 'POP3 alice@d1.test sees d1 mail')
    t.is_(pop_login(s, 'alice@d2.test', 'pw2'), ['to-2', 'to-2b'],
          'POP3 alice@d2.test sees d2 mail')
    t.is_(pop_login(s, 'ALICE@D2.TEST', 'pw2'), ['to-2', 'to-2b'], 'login in any case')
    t.is_(pop_login(s, 'alice', 'pw0'), ['to-0'], 'bare alice is server.domain\'s')
    t.is_(pop_login(s, 'alice@localhost', 'pw0'), ['to-0'], 'alice@localhost too')
    t.ok(pop_login(s, 'alice@d2.test', 'pw1').startswith('ERR'),
         'd1\'s password does not open d2\'s mailbox')
    t.ok(pop_login(s, 'alice@d1.test', 'pw0').startswith('ERR'),
         'server.domain\'s password does not open d1\'s mailbox')
    t.ok(pop_login(s, 'carol@d1.test', 'pwc').startswith('ERR'),
         'wrong domain refused (carol@d1.test)')
    t.ok(pop_login(s, 'carol', 'pwc').startswith('ERR'),
         'bare carol refused (carol is carol@d2.test)')
    t.ok(pop_login(s, 'carol@other.test', 'pwc').startswith('ERR'),
         'a domain that is not local refused')
    # APOP and AUTH PLAIN
    t.ok(pop_apop(s, 'carol@d2.test', 'pwc').startswith('+OK'), 'APOP carol@d2.test')
    t.ok(pop_apop(s, 'carol@d1.test', 'pwc').startswith('-ERR'), 'APOP carol@d1.test refused')
    t.ok(pop_plain(s, 'alice@d2.test', 'pw2').startswith('+OK'), 'POP3 AUTH PLAIN alice@d2.test')
    t.ok(pop_plain(s, 'alice@d2.test', 'pw1').startswith('-ERR'),
         'POP3 AUTH PLAIN with d1\'s password refused')
    # SMTP AUTH
    t.is_(smtp_auth(s, 'alice@d2.test', 'pw2'), 235, 'SMTP AUTH PLAIN alice@d2.test')
    t.is_(smtp_auth(s, 'alice@d2.test', 'pw1'), 535, 'SMTP AUTH PLAIN, d1\'s password: 535')
    t.is_(smtp_auth(s, 'alice@d1.test', 'pw1', 'LOGIN'), 235, 'SMTP AUTH LOGIN alice@d1.test')
    t.is_(smtp_auth(s, 'carol@d1.test', 'pwc', 'LOGIN'), 535, 'SMTP AUTH, wrong domain: 535')
    t.ok(wait_until(lambda: 'auth ok user=alice@d2.test' in s.log()),
         'the log names the account alice@d2.test')

    # passwd, set, del by NAME@DOMAIN
    s.ctl('account', 'passwd', 'alice@d2.test', 'new2')
    t.ok(pop_login(s, 'alice@d2.test', 'new2') == ['to-2', 'to-2b'], 'passwd alice@d2.test')
    t.is_(pop_login(s, 'alice@d1.test', 'pw1'), ['to-1'], '... alice@d1.test unchanged')
    s.ctl('account', 'set', 'alice@d2.test', 'send_max_during_a_day=5')
    t.ok(os.path.isfile(os.path.join(mb, 'alice@d2.test', 'config.def')),
         'set writes alice@d2.test/config.def')
    s.ctl('account', 'del', 'alice@d2.test')
    t.ok(not os.path.exists(os.path.join(mb, 'alice@d2.test')), 'del removes its folder')
    t.is_(rcpt_code(s, 'alice@d2.test'), 550, 'alice@d2.test is nobody now')
    t.is_(rcpt_code(s, 'alice@d1.test'), 250, 'alice@d1.test still there')
    r = s.ctl('account', 'del', 'alice@D1.test', check=False)
    t.is_(r.returncode, 1, 'del takes the account name as listed (lower-case)')
    r = s.ctl('account', 'del', 'alice@d1.test/../x', check=False)
    t.is_(r.returncode, 1, 'a path in the name is refused')

    # export / import: NAME and DOMAIN columns
    exp = s.ctl('account', 'export', '-').stdout
    t.ok(any(l.split('\t')[0] == 'alice' and l.split('\t')[3] == 'd1.test'
             for l in exp.splitlines()), 'export: alice@d1.test as alice + d1.test')
    imp = os.path.join(s.tmp, 'import.tsv')
    with open(imp, 'w') as f:
        f.write('taro\ttp1\t\td1.test\t\t0\t0\t0\n'
                'taro\ttp2\t\td2.test\t\t0\t0\t0\n')
    t.is_(s.ctl('account', 'import', imp).stdout.strip(), 'imported 2 accounts',
          'import: taro in two domains')
    t.is_(pop_login(s, 'taro@d2.test', 'tp2'), [], 'imported taro@d2.test logs in')
    t.ok(pop_login(s, 'taro@d2.test', 'tp1').startswith('ERR'), '... with its own password')
    with open(imp, 'w') as f:
        f.write('ken\tk\t\tother.test\t\t0\t0\t0\n')
    r = s.ctl('account', 'import', imp, check=False)
    t.is_((r.returncode, r.stderr.strip()),
          (1, '%s:1: the domain is not a local domain (server.domain, '
              'server.alias, smtp.subhost)' % imp), 'import: a foreign domain refused')
    with open(imp, 'w') as f:
        f.write('ken\tk\t\td1.test\t\t0\t0\t0\nken\tk\t\tD1.test\t\t0\t0\t0\n')
    r = s.ctl('account', 'import', imp, check=False)
    t.is_((r.returncode, r.stderr.strip()),
          (1, "%s:2: duplicate account 'ken@d1.test' (first on line 1)" % imp),
          'import: the same account twice refused')

# 2. accounts made in shared mode keep working after the switch
s = Server(conf=SHARED, accounts={'bob@d1.test': 'pwb'}, start=False)
try:
    s.sections['server']['domain_mailboxes'] = '1'
    s.write_conf(s.sections)
    s.start()
    deliver(s, 'bob@d1.test', 'old-bob')
    t.ok(wait_until(lambda: subjects(s, 'bob') == ['old-bob']),
         'a plain bob with domain d1.test still receives bob@d1.test')
    t.is_(pop_login(s, 'bob@d1.test', 'pwb'), ['old-bob'], '... and logs in as bob@d1.test')
    t.is_(rcpt_code(s, 'bob@d2.test'), 550, '... but is not d2\'s')
    r = s.ctl('account', 'add', 'bob@d1.test', 'x', check=False)
    t.is_((r.returncode, r.stderr.strip()),
          (1, "yubinctl: account 'bob' already receives the mail of bob@d1.test"),
          'a second account for the same address is refused')
finally:
    s.stop()

# 3. plugins see NAME@DOMAIN accounts (yh_account_get, yh_mailbox_usage)
conf = {'server': dict(SEP['server'], plugins='quota')}
with Server(conf=conf, accounts={'alice@d1.test': ('pw', ['--quota-count', '1']),
                                 'alice@d2.test': 'pw'}) as s:
    deliver(s, 'alice@d1.test', 'q1')
    t.ok(wait_until(lambda: subjects(s, 'alice@d1.test') == ['q1']), 'quota: first stored')
    # the usage is committed with the batch, just after the file appears
    wait_until(lambda: re.search(r'mails=1 ', s.ctl('mailbox', 'alice@d1.test').stdout))
    with s.smtp() as c:
        c.ehlo('client.test')
        c.mail('sender@client.test')
        t.is_(c.rcpt('alice@d1.test')[0], 452, 'quota: alice@d1.test full at one message')
        t.is_(c.rcpt('alice@d2.test')[0], 250, 'quota: alice@d2.test has its own')

# 4. shared mode unchanged
with Server(conf=SHARED, accounts={'alice': 'pw'}) as s:
    for d in ('localhost', 'd1.test', 'd2.test'):
        deliver(s, 'alice@' + d, 'shared-' + d)
    t.ok(wait_until(lambda: len(subjects(s, 'alice')) == 3),
         'shared: alice@ every local domain is account alice')
    t.is_(pop_login(s, 'alice@d2.test', 'pw'),
          ['shared-d1.test', 'shared-d2.test', 'shared-localhost'],
          'shared: login alice@d2.test opens alice')
    t.is_(smtp_auth(s, 'alice@d1.test', 'pw'), 235, 'shared: SMTP AUTH alice@d1.test')
    s.ctl('account', 'add', 'eve@d2.test', 'pwe')
    t.ok(os.path.isdir(os.path.join(s.home, 'mailbox', 'eve', 'Maildir')),
         'shared: account add eve@d2.test makes account eve')
    t.is_(rcpt_code(s, 'eve@d1.test'), 250, 'shared: eve@d1.test reaches eve too')
t.done()
