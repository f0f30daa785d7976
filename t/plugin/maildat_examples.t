#!/usr/bin/env python3
# maildat plugin: the five SEEDS.md §19 examples, verbatim, behave as written
# (URIBL against dnsmasq; Forward: addresses of test-sample.jp go to a Sink
# through gateway.dat), and the action digits 6 and 7 with backup 0 and
# registration 0: no copy in viruslog, the client is not blocked.
import os
import re
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Dnsmasq, Server, Sink, TAP, binary, wait_until, data_code

t = TAP()

EX = [
    '''Virus:URIBL multi.surbl.org
RBL:multi.surbl.org
Level:300
Warning:
----- warning -----
"URIBL multi.surbl.org"
-----
WarningEnd:
Tag:[SPAM !!]
VirusEnd:
''', '''Virus:Add Header "X-SPAM:TRUE"
Level:400
Subject:test
Tag:X-SPAM:TRUE
VirusEnd:
''', '''Virus:Mail Forward by "X-SPAM:TRUE"
Level:500
Forward:xxx@test-sample.jp
Unique-Header:X-SPAM:TRUE
VirusEnd:
''', '''Virus:Add Subject Header "[SPAM]" AND Mail Forward
Level:600
Subject:test
Tag:[SPAM]
Forward:xxxx@test-sample.jp
VirusEnd:
''', '''Virus:Add Header "X-SPAM:TRUE" AND Mail Forward
Level:700
Subject:test
Tag:X-SPAM:TRUE
Forward:xxxx@test-sample.jp
VirusEnd:
''']
ALL = '\n'.join(EX)

dns = Dnsmasq(['--address=/spam-domain.com.multi.surbl.org/127.0.0.2'])
if not dns.available:
    print('1..0 # skip dnsmasq not available')
    sys.exit(0)
sink = Sink()


def server(rules):
    return Server(conf={'server': {'plugins': 'maildat', 'resolver': dns.resolver}},
                  accounts={'alice': 'pw'},
                  files={'mail.dat': rules,
                         'gateway.dat': 'test-sample.jp,127.0.0.1,%d,tls=none\n' % sink.port})


def send(s, subject, body='hello\n', extra='', source=None):
    msg = ('From: dave@example.org\r\nTo: alice@localhost\r\n%sSubject: %s\r\n\r\n%s'
           % (extra, subject, body.replace('\n', '\r\n'))).encode()
    return data_code(s, 'dave@example.org', ['alice@localhost'], msg, source=source)


def mail_with(s, needle):
    for m in s.mails('alice'):
        if needle.encode() in m:
            return m.decode('utf-8', 'replace')
    return None


def sunk(needle):
    for x in sink.delivered():
        if needle.encode() in x['data']:
            return x
    return None


try:
    # yubind -t: the examples load; the Warning: of a 3xx rule is reported
    s = Server(conf={'server': {'plugins': 'maildat'}}, files={'mail.dat': ALL}, start=False)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True,
                       text=True)
    s.cleanup()
    t.is_(r.returncode, 0, 'the five examples load together')
    t.like(r.stdout + r.stderr, r"mail\.dat:4: rule 'URIBL multi\.surbl\.org': Warning: "
           r"ignored, Level is not 2xx", 'yubind -t says the Warning: of a 3xx rule is ignored')

    with server(ALL) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
        # example 1: a listed URL gets the Tag in the Subject, no warning
        t.is_(send(s, 'cheap pills', 'buy at http://www.spam-domain.com/buy\n'), 250,
              'example 1: accepted')
        t.ok(s.wait_mail('alice', 1), 'example 1: stored')
        m = mail_with(s, 'cheap pills') or ''
        t.like(m, r'\nSubject: \[SPAM !!\] cheap pills', 'example 1: Tag inserted into the Subject')
        t.ok('----- warning -----' not in m, 'example 1: the Warning: block is not used (3xx)')
        t.ok(s.wait_log(r'match rule="URIBL multi\.surbl\.org" level=300 .*'
                        r'listed=spam-domain\.com client=127\.0\.0\.1 from=<dave@example\.org> '
                        r'to=<alice@localhost>'),
             'example 1: the match is logged with rule, level, client and envelope')
        t.like(s.log(), r'[0-9A-F]{16}: plugin=maildat match rule="URIBL',
               'the match log line carries the queue id')
        t.is_(send(s, 'clean', 'see http://www.clean-domain.com/\n'), 250, 'example 1: clean URL')
        t.ok(s.wait_mail('alice', 2), 'stored')
        t.ok('[SPAM' not in (mail_with(s, 'clean-domain') or '['), 'example 1: a clean URL is not tagged')

        # example 2: Subject test -> X-SPAM: TRUE header, kept for alice
        t.is_(send(s, 'this is a test'), 250, 'example 2: accepted')
        t.ok(s.wait_mail('alice', 3), 'example 2: stored for the recipient')
        m = mail_with(s, 'this is a test') or ''
        t.like(m, r'(?m)^X-SPAM: TRUE$', 'example 2: X-SPAM: TRUE added')
        t.ok(not sunk('this is a test'), 'example 2 decides first: examples 4 and 5 '
             '(same Subject:) do not forward')

        # example 3: a message carrying X-SPAM: TRUE is redirected
        t.is_(send(s, 'hello there', extra='X-Spam: true\r\n'), 250, 'example 3: accepted')
        t.ok(sink.wait(1), 'example 3: redirected to the Forward: address')
        x = sunk('hello there')
        t.is_(x and x['rcpts'], ['xxx@test-sample.jp'], 'example 3: only to xxx@test-sample.jp')
        t.ok(wait_until(lambda: not s.queue_files()), 'queue drained')
        t.ok(mail_with(s, 'hello there') is None, 'example 3: the original recipient gets nothing')
        nsunk = len(sink.delivered())

    # examples 4 and 5 alone (in the full file example 2 shadows them);
    # backup 0 and registration 0: no viruslog copy, no block
    for i, (label, hdr_re) in ((3, ('example 4 (600)', r'\nSubject: \[SPAM\] a test 4')),
                               (4, ('example 5 (700)', r'(?m)^X-SPAM: TRUE\r?$'))):
        with server(EX[i]) as s:
            t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
            subj = 'a test %d' % (i + 1)
            t.is_(send(s, subj, source='127.0.0.9'), 250, label + ': accepted')
            t.ok(sink.wait(nsunk + 1), label + ': redirected')
            nsunk += 1
            x = sunk(subj) or {'rcpts': None, 'data': b''}
            t.is_(x['rcpts'], ['xxxx@test-sample.jp'], label + ': to the Forward: address only')
            t.like(x['data'].decode('utf-8', 'replace'), hdr_re, label + ': tagged')
            if i == 4:
                t.ok('[SPAM' not in x['data'].decode('utf-8', 'replace'),
                     label + ': the Subject is left alone')
            t.ok(wait_until(lambda: not s.queue_files()), 'queue drained')
            t.is_(s.mails('alice'), [], label + ': the original recipient gets nothing')
            vl = os.path.join(s.home, 'viruslog')
            t.is_(os.listdir(vl) if os.path.isdir(vl) else [], [], label + ': backup 0: no copy')
            t.ok(not re.search(r'127\.0\.0\.9', s.ctl('block', 'list').stdout),
                 label + ': registration 0: the client is not blocked')
            t.is_(send(s, 'not matching', source='127.0.0.9'), 250,
                  label + ': the same client is still served')
            t.ok(s.wait_mail('alice', 1), label + ': a non-matching message is stored')
finally:
    sink.close()
    dns.stop()

t.done()
