#!/usr/bin/env python3
# munge_from: a post the list changes (subject tag) from a domain whose
# _dmarc TXT says p=reject or p=quarantine goes out From: "Poster via
# LIST" <LIST@DOMAIN> with the poster in Reply-To:, or in Cc: when
# Reply-To: is the list; a domain with p=none, without a record, or a
# DNS failure keeps From: as written.  DNS is dnsmasq on loopback.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, Dnsmasq

t = TAP()
ACC = {'alice': 'pw', 'boss': 'pw'}
dns = Dnsmasq(['--txt-record=_dmarc.strict.test,v=DMARC1; p=reject',
               '--txt-record=_dmarc.quar.test,v=DMARC1; p=quarantine; pct=100',
               '--txt-record=_dmarc.lax.test,v=DMARC1; p=none'])
if not dns.available:
    print('1..0 # SKIP dnsmasq not installed')
    sys.exit(0)
with dns:
    conf = {'server': {'plugins': 'relay quota ml', 'resolver': dns.resolver}}
    with Server(accounts=ACC, conf=conf, start=False) as s:
        s.ctl('ml', 'create', 'news', 'secret', 'boss@localhost')
        s.ctl('ml', 'add', 'news', 'alice@localhost')
        s.ctl('ml', 'set', 'news', 'mailing_list_to_kind=1', 'reply_to=0')
        s.start()
        t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

        def post(frm, n, subject='s'):
            with s.smtp() as c:
                c.sendmail(frm.split('<')[-1].rstrip('>'), ['news@localhost'],
                           ('From: %s\r\nSubject: %s\r\n\r\nbody\r\n' % (frm, subject)).encode())
            t.ok(s.wait_mail('alice', n), 'post %d arrived' % n)
            return [m.decode() for m in s.mails('alice') if ('Subject: [news%04d]' % n).encode() in m][0]

        m = post('Pat Poster <pat@strict.test>', 1)
        t.like(m, r'(?m)^From: "Pat Poster via news" <news@localhost>$', 'p=reject: From munged')
        t.like(m, r'(?m)^Reply-To: Pat Poster <pat@strict\.test>$', 'the poster in Reply-To')
        t.like(s.log(), r'list news@localhost: post 1: From <pat@strict\.test> rewritten', 'logged')
        m = post('q@quar.test', 2)
        t.like(m, r'(?m)^From: "q@quar\.test via news" <news@localhost>$',
               'p=quarantine: munged, no name: the address')
        m = post('Lax <l@lax.test>', 3)
        t.like(m, r'(?m)^From: Lax <l@lax\.test>$', 'p=none: From as written')
        t.ok(not re.search(r'(?m)^Reply-To:', m), 'no Reply-To added')
        m = post('n@none.test', 4)
        t.like(m, r'(?m)^From: n@none\.test$', 'no record: From as written')
        s.ctl('ml', 'set', 'news', 'reply_to=1')
        m = post('Pat <pat@strict.test>', 5)
        t.like(m, r'(?m)^From: "Pat via news" <news@localhost>$', 'reply_to=1: munged')
        t.like(m, r'(?m)^Reply-To: news@localhost$', 'Reply-To the list')
        t.like(m, r'(?m)^Cc: Pat <pat@strict\.test>$', 'the poster in Cc')
        s.ctl('ml', 'set', 'news', 'mailing_list_subject_header=0',
              'mailing_list_mail_header_x_element=1')
        with s.smtp() as c:
            c.sendmail('pat@strict.test', ['news@localhost'],
                       b'From: pat@strict.test\r\nSubject: untouched\r\n\r\nbody\r\n')
        t.ok(s.wait_mail('alice', 6), 'post 6 arrived')
        m = [x.decode() for x in s.mails('alice') if b'untouched' in x][0]
        t.like(m, r'(?m)^From: pat@strict\.test$', 'message not changed: From as written')
t.done()
