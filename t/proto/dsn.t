#!/usr/bin/env python3
# DSN (RFC 3461): EHLO offers it; RET, ENVID, NOTIFY and ORCPT are checked
# (501 5.5.4 naming the parameter), kept in the queue, passed on to a next
# hop that offers DSN, and obeyed in reports: success for NOTIFY=SUCCESS
# (delivered locally, relayed to a next hop without DSN), no bounce for
# NOTIFY=NEVER, no delay notice without DELAY, RET=HDRS and RET=FULL, and
# Original-Envelope-Id / Original-Recipient in every report (RFC 3464).
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, parse_dsn, wait_until

t = TAP()
ACC = {'alice': 'pw', 'bob': 'pw'}


def body(tag, extra=b''):
    return (b'Subject: dsn ' + tag.encode() + b'\r\nFrom: alice@localhost\r\n'
            b'Message-ID: <' + tag.encode() + b'@localhost>\r\n\r\n'
            b'the body of ' + tag.encode() + b'\r\n' + extra)


def send(s, sender, rcpts, msg, mail_options=(), rcpt_options=(), auth=True):
    """One message over SMTP (with AUTH, so it may relay); the queue id."""
    with s.smtp() as c:
        c.ehlo('client.test')
        if auth:
            c.user, c.password = 'alice', 'pw'
            c.auth('PLAIN', c.auth_plain)
        c.mail(sender, list(mail_options))
        for r in rcpts:
            code, text = c.rcpt(r, list(rcpt_options))
            assert code == 250, (code, text)
        code, text = c.data(msg)
        assert code == 250, (code, text)
        return re.search(r'queued as ([0-9A-F]{16})', text.decode()).group(1)


def reports_about(s, account, tag):
    """The reports in ACCOUNT's mailbox about the message TAG."""
    return [m for m in s.mails(account)
            if b'multipart/report' in m and (b'<' + tag.encode() + b'@localhost>') in m]


def refuse_some(addr):
    if addr.startswith('refuse'):
        return (550, '5.1.1 no such user here')
    if addr.startswith('slow'):
        return (451, '4.3.0 try later')
    return (250, '2.1.5 ok')


with Sink(dsn=True) as dsink, Sink(rcpt=refuse_some) as psink:
    gw = ('dsn.test,127.0.0.1,%d,tls=none\nplain.test,127.0.0.1,%d,tls=none\n'
          % (dsink.port, psink.port))
    conf = {'queue': {'retry_interval': '1s', 'keep_retry_interval': '1',
                      'delay_warning_time': '2s', 'bounce_full_max': '4K'},
            'smtp': {'resend_timeout': '3h', 'max_errors': '100'}}
    with Server(accounts=ACC, files={'gateway.dat': gw}, conf=conf) as s:
        t.on_fail.append(lambda: t.diag(s.log()[-3000:]))

        # -- EHLO and the parameters' syntax -----------------------------
        with s.smtp() as c:
            c.ehlo('client.test')
            t.ok(c.has_extn('dsn'), 'EHLO offers DSN')
            bad_mail = [
                ('RET=BOTH', 'RET'),
                ('RET=FULL RET=HDRS', 'duplicate parameter RET'),
                ('ENVID=+ZZ', 'ENVID'),
                ('ENVID=' + 'x' * 101, 'ENVID'),
                ('ENVID=a ENVID=b', 'duplicate parameter ENVID'),
            ]
            for param, word in bad_mail:
                code, text = c.docmd('MAIL', 'FROM:<alice@localhost> ' + param)
                t.ok(code == 501 and text.startswith(b'5.5.4') and
                     word.encode() in text,
                     'MAIL %s: 501 5.5.4 naming %s (%d %s)' %
                     (param[:30], word, code, text.decode()))
            code, text = c.docmd('MAIL', 'FROM:<alice@localhost> RET=HDRS ENVID=' +
                                 'x' * 100)
            t.is_(code, 250, 'MAIL RET=HDRS with an ENVID of 100 characters: 250')
            bad_rcpt = [
                ('NOTIFY=NEVER,SUCCESS', 'NOTIFY'),
                ('NOTIFY=BOGUS', 'NOTIFY'),
                ('NOTIFY=', None),
                ('NOTIFY=DELAY NOTIFY=DELAY', 'duplicate parameter NOTIFY'),
                ('ORCPT=bob@localhost', 'ORCPT'),
                ('ORCPT=rfc822;bob+ZZ@localhost', 'ORCPT'),
                ('ORCPT=x400;bob@localhost', 'ORCPT'),
                ('ORCPT=rfc822;a@b ORCPT=rfc822;c@d', 'duplicate parameter ORCPT'),
            ]
            for param, word in bad_rcpt:
                code, text = c.docmd('RCPT', 'TO:<bob@localhost> ' + param)
                t.ok(code == 501 and text.startswith(b'5.5.4') and
                     (word is None or word.encode() in text),
                     'RCPT %s: 501 5.5.4 %s(%d %s)' %
                     (param, 'naming %s ' % word if word else '', code,
                      text.decode()))
            code, text = c.docmd('RCPT', 'TO:<bob@localhost> RET=FULL')
            t.ok(code == 555 and text.startswith(b'5.5.4'),
                 'RET on RCPT: 555 5.5.4 (%d %s)' % (code, text.decode()))
            code, text = c.docmd('RCPT', 'TO:<bob@localhost> NOTIFY=SUCCESS,FAILURE,DELAY '
                                 'ORCPT=rfc822;bob@localhost')
            t.is_(code, 250, 'a good NOTIFY and ORCPT: 250')
            c.rset()

        # -- NOTIFY=SUCCESS, local: a delivered report -------------------
        qid = send(s, 'alice@localhost', ['bob@localhost'], body('local1'),
                   mail_options=['ENVID=QQ+20314159', 'RET=HDRS'],
                   rcpt_options=['NOTIFY=SUCCESS', 'ORCPT=rfc822;Bob+2Bx@localhost'],
                   auth=False)
        t.ok(s.wait_mail('bob', 1), 'bob has the message')
        t.ok(wait_until(lambda: reports_about(s, 'alice', 'local1')),
             'the sender gets a success report')
        r = reports_about(s, 'alice', 'local1')
        if r:
            msg, text, fields, headers = parse_dsn(r[0])
            pm = fields[0] if fields else {}
            rc = fields[1] if len(fields) > 1 else {}
            t.is_(msg['From'], 'Mail Delivery System <MAILER-DAEMON@localhost>',
                  'from MAILER-DAEMON')
            t.ok(r[0].startswith(b'Return-Path: <>'), 'with the null sender <>')
            t.like(msg['Subject'] or '', r'(?i)success', 'subject says success')
            t.is_(pm.get('original-envelope-id'), 'QQ 314159',
                  'Original-Envelope-Id: the ENVID decoded')
            t.is_(rc.get('action'), 'delivered', 'Action: delivered')
            t.like(rc.get('status', ''), r'^2\.0\.0$', 'Status: 2.0.0')
            t.is_(rc.get('original-recipient'), 'rfc822; Bob+x@localhost',
                  'Original-Recipient: the ORCPT decoded')
            t.like(rc.get('final-recipient', ''), r'bob@localhost', 'Final-Recipient')
            t.ok(headers is not None and 'Message-ID: <local1@localhost>' in headers
                 and 'the body of' not in headers, 'the header only is attached')
        t.like(s.log(), r'%s: sender delivery notification: ' % qid,
               'the success report is logged')
        # a <> sender never gets one
        qid0 = send(s, '', ['bob@localhost'], body('local0'),
                    rcpt_options=['NOTIFY=SUCCESS'], auth=False)
        t.ok(s.wait_mail('bob', 2), 'bob has the message from <>')
        t.ok(s.wait_log(r'%s: removed' % qid0), 'the <> message is done')
        t.ok(('%s: sender delivery' % qid0) not in s.log(),
             'no success report for a <> sender')

        # -- relay to a next hop with DSN: the parameters go on ----------
        qid = send(s, 'alice@localhost', ['carol@dsn.test'], body('relay1'),
                   mail_options=['RET=HDRS', 'ENVID=QQ+20314159'],
                   rcpt_options=['NOTIFY=SUCCESS,FAILURE',
                                 'ORCPT=rfc822;carol+2Bx@dsn.test'])
        t.ok(dsink.wait(1), 'the DSN sink got the message')
        txn = dsink.delivered()[0] if dsink.delivered() else {}
        mp = txn.get('params', '').split()
        t.ok('RET=HDRS' in mp and 'ENVID=QQ+20314159' in mp,
             'MAIL carries RET and ENVID (xtext again): %s' % txn.get('params'))
        t.is_(txn.get('rcpt_params', {}).get('carol@dsn.test'),
              'NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;carol+2Bx@dsn.test',
              'RCPT carries NOTIFY and ORCPT exactly')
        t.ok(s.wait_log(r'%s: removed' % qid), 'the relayed message is done')
        t.ok(('%s: sender relay' % qid) not in s.log(),
             'no relayed report: the next hop reports itself')

        # -- relay to a next hop without DSN: a relayed report -----------
        qid = send(s, 'alice@localhost', ['dave@plain.test'], body('relay2'),
                   mail_options=['ENVID=E2'], rcpt_options=['NOTIFY=SUCCESS'])
        t.ok(psink.wait(1), 'the plain sink got the message')
        txn = psink.delivered()[0] if psink.delivered() else {}
        t.ok('ENVID' not in txn.get('params', '') and
             txn.get('rcpt_params', {}).get('dave@plain.test') == '',
             'no DSN parameters to a next hop without DSN')
        t.ok(wait_until(lambda: reports_about(s, 'alice', 'relay2')),
             'the sender gets a relayed report')
        r = reports_about(s, 'alice', 'relay2')
        if r:
            msg, text, fields, headers = parse_dsn(r[0])
            rc = fields[1] if len(fields) > 1 else {}
            t.is_(rc.get('action'), 'relayed', 'Action: relayed')
            t.is_(fields[0].get('original-envelope-id'), 'E2', 'with the ENVID')
            t.like(rc.get('remote-mta', ''), r'^dns; 127\.0\.0\.1', 'Remote-MTA')
            t.like(rc.get('diagnostic-code', ''), r'^smtp; 250 2\.0\.0 queued',
                   'the next hop\'s reply')
            t.ok('original-recipient' not in rc, 'no ORCPT given: no Original-Recipient')

        # -- failures: NOTIFY=NEVER, RET=HDRS, RET=FULL -------------------
        qid = send(s, 'alice@localhost', ['refuse1@plain.test'], body('never'),
                   rcpt_options=['NOTIFY=NEVER'])
        t.ok(s.wait_log(r'%s: removed' % qid), 'NOTIFY=NEVER: refused, then removed')
        t.like(s.log(), r'%s: 1 of 1 recipients asked for no failed report' % qid,
               'the report left out is logged')
        t.ok(qid not in ''.join(s.queue_files()), 'the message is gone from the queue')
        qh = send(s, 'alice@localhost', ['refuse2@plain.test'], body('hdrs'),
                  mail_options=['RET=HDRS'], rcpt_options=['NOTIFY=FAILURE'])
        qf = send(s, 'alice@localhost', ['refuse3@plain.test'], body('full'),
                  mail_options=['RET=FULL', 'ENVID=F1'],
                  rcpt_options=['NOTIFY=FAILURE', 'ORCPT=rfc822;r3@plain.test'])
        qb = send(s, 'alice@localhost', ['refuse4@plain.test'],
                  body('big', b'x' * 70 + b'\r\n') + (b'y' * 70 + b'\r\n') * 80,
                  mail_options=['RET=FULL'])
        t.ok(wait_until(lambda: reports_about(s, 'alice', 'hdrs') and
                        reports_about(s, 'alice', 'full') and
                        reports_about(s, 'alice', 'big')),
             'three bounces arrive')
        t.is_(reports_about(s, 'alice', 'never'), [], 'none for NOTIFY=NEVER')
        r = reports_about(s, 'alice', 'hdrs')
        if r:
            msg, text, fields, headers = parse_dsn(r[0])
            t.is_(fields[1].get('action') if len(fields) > 1 else None, 'failed',
                  'RET=HDRS: Action: failed')
            t.ok(headers is not None and 'Message-ID: <hdrs@localhost>' in headers,
                 'RET=HDRS: text/rfc822-headers')
            t.ok(b'the body of hdrs' not in r[0], 'RET=HDRS: no body')
        r = reports_about(s, 'alice', 'full')
        if r:
            msg, text, fields, headers = parse_dsn(r[0])
            parts = [p.get_content_type() for p in msg.walk()]
            t.ok('message/rfc822' in parts and headers is None,
                 'RET=FULL: the message as message/rfc822 (%s)' % parts)
            t.ok(b'the body of full' in r[0], 'RET=FULL: the body is in it')
            t.is_(fields[0].get('original-envelope-id'), 'F1', 'Original-Envelope-Id')
            t.is_(fields[1].get('original-recipient') if len(fields) > 1 else None,
                  'rfc822; r3@plain.test', 'Original-Recipient')
            t.like(fields[1].get('diagnostic-code', '') if len(fields) > 1 else '',
                   r'550 5\.1\.1', 'the refusal')
        r = reports_about(s, 'alice', 'big')
        if r:
            msg, text, fields, headers = parse_dsn(r[0])
            t.ok(headers is not None and b'yyyyyyyyyy' not in r[0],
                 'RET=FULL over queue.bounce_full_max: the header only')
            t.like(text or '', r'larger than 4096 bytes', 'and the report says so')

        # -- delays: NOTIFY=FAILURE has none, the default has one ---------
        qs = send(s, 'alice@localhost', ['slow1@plain.test'], body('slowf'),
                  rcpt_options=['NOTIFY=FAILURE'])
        qd = send(s, 'alice@localhost', ['slow2@plain.test'], body('slowd'))
        t.ok(wait_until(lambda: reports_about(s, 'alice', 'slowd')),
             'the default NOTIFY gets a delay notice')
        t.ok(s.wait_log(r'%s: 1 of 1 recipients asked for no delayed report' % qs),
             'NOTIFY=FAILURE: the delay notice is left out')

        def deferred(who):
            return len(re.findall(r'to=<%s@plain\.test> .*status=deferred' % who, s.log()))
        n = deferred('slow1')
        t.ok(wait_until(lambda: deferred('slow1') >= n + 2), 'still retried')
        t.is_(reports_about(s, 'alice', 'slowf'), [], 'no delay notice for NOTIFY=FAILURE')
        r = reports_about(s, 'alice', 'slowd')
        if r:
            msg, text, fields, headers = parse_dsn(r[0])
            t.is_(fields[1].get('action') if len(fields) > 1 else None, 'delayed',
                  'Action: delayed')

# -- a one-to-one alias passes NOTIFY and ORCPT on; a mailing list expands
#    (RFC 3461 §5.2.7), and its posts ask for nothing more ---------------
conf = {'server': {'plugins': 'ml'}}
files = {'alias.dat': 'info@localhost bob@localhost,1\n'}
with Server(accounts=ACC, conf=conf, files=files, start=False) as s:
    r = s.ctl('ml', 'create', 'news', 'secret', 'alice@localhost', check=False)
    t.is_(r.returncode, 0, 'list created') or t.diag(r.stderr)
    r = s.ctl('ml', 'add', 'news', 'bob@localhost', check=False)
    t.is_(r.returncode, 0, 'member added') or t.diag(r.stderr)
    s.start()
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    send(s, 'alice@localhost', ['info@localhost'], body('alias1'),
         rcpt_options=['NOTIFY=SUCCESS', 'ORCPT=rfc822;info@localhost'], auth=False)
    t.ok(wait_until(lambda: reports_about(s, 'alice', 'alias1')),
         'alias: the sender gets a success report')
    r = reports_about(s, 'alice', 'alias1')
    if r:
        msg, text, fields, headers = parse_dsn(r[0])
        rc = fields[1] if len(fields) > 1 else {}
        t.is_(rc.get('action'), 'delivered', 'alias: Action: delivered')
        t.is_(rc.get('original-recipient'), 'rfc822; info@localhost',
              'alias: the ORCPT passed on')
        t.like(rc.get('final-recipient', ''), r'bob@localhost',
               'alias: Final-Recipient the rewritten one')
    qid = send(s, 'alice@localhost', ['news@localhost'], body('post1'),
               rcpt_options=['NOTIFY=SUCCESS'], auth=False)
    t.ok(s.wait_mail('bob', 2), 'the member gets the post')
    t.ok(wait_until(lambda: reports_about(s, 'alice', 'post1')),
         'list: the sender gets a report')
    r = reports_about(s, 'alice', 'post1')
    if r:
        msg, text, fields, headers = parse_dsn(r[0])
        rc = fields[1] if len(fields) > 1 else {}
        t.is_(rc.get('action'), 'expanded', 'list: Action: expanded')
    t.like(s.log(), r'%s: sender expansion notification' % qid, 'logged')
    t.is_(len(reports_about(s, 'alice', 'post1')), 1,
          'one report: the copies the list sends ask for none')
t.done()
