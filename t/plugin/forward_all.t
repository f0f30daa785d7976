#!/usr/bin/env python3
"""The forward plugin (issue 8, SEEDS.md §14): forward.def in the exact seed
form (Windows path of the send tool) and with yubin-sendmail, config.def
forward_address with and without forward_keep_copy, the SEEDS.md IMS.CTL
example, every [AutoForward] key (Enable, ForwardTo FILE:, PermitFrom,
ReportTo admin/sender/none/ADDRESS, DeleteAttachments, SizeLimit), the
administrator guard, an insecure IMS.CTL, and the loop A->B->A ending after
one round with a log line."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from prog_lib import Server, TAP, acct_dir, write_def, send, wait_until  # noqa: E402

t = TAP()
NAMES = ('alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'hank', 'ivy', 'jack',
         'kim', 'lee', 'ann', 'ben', 'sys', 'zoe')
RCVD = rb'Received: by mx\.test\.invalid \(yubin, injected by plugin forward\)\n\tid ([0-9A-F]{16})'
DATE = rb'\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}'
MSG = 'From: x@example.org\r\nSubject: fwd\r\nMessage-ID: <%s@example.org>\r\n\r\nhello body\r\n'


def strip_top(raw, name):
    """RAW without its first header field NAME (and its Received:)."""
    out = []
    lines = raw.split(b'\n')
    skip = {b'received', name.lower().encode()}
    i = 0
    while i < len(lines):
        l = lines[i]
        field = l.split(b':', 1)[0].lower()
        if l[:1] not in (b' ', b'\t') and field in skip and l:
            skip.discard(field)
            i += 1
            while i < len(lines) and lines[i][:1] in (b' ', b'\t'):
                i += 1
            continue
        out.append(l)
        i += 1
    return b'\n'.join(out)


def untrace(raw, rcpt):
    """RAW below the trace lines of its final delivery to RCPT (bytes), or
    b'' when it does not begin with them."""
    m = re.match(rb'Return-Path: <[^\n]*>\nDelivered-To: ' + re.escape(rcpt) + rb'\n', raw)
    return raw[m.end():] if m else b''


def idle(s):
    return wait_until(lambda: not s.queue_files())


with Server(accounts={n: 'pw' for n in NAMES},
            conf={'server': {'plugins': 'forward', 'admin_address': 'sys@localhost'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-5000:]))

    # ---- forward.def, seed form --------------------------------------------
    write_def(s, 'alice', 'forward.def',
              '// sendmail FROM TO -mf MAILFILE\r\n'
              'bin=C:\\Program Files\\WizMailServer\\tool\\sendmail.exe\r\n'
              'param1=FROM_ADDRESS\r\nparam2=bob@localhost\r\nparam3=-mf\r\n'
              'param4=MAILFILE_PATH\r\n')
    send(s, 'x@example.org', ['alice@localhost'], MSG % 'a1')
    t.ok(s.wait_mail('alice', 1) and s.wait_mail('bob', 1),
         'forward.def seed form: copy kept and forwarded')
    a, b = s.mails('alice')[0], s.mails('bob')[0]
    t.ok(b.startswith(b'Return-Path: <x@example.org>\nDelivered-To: bob@localhost\nReceived: ')
         and b.count(b'\nReturn-Path:') == 0,
         'the forwarded copy has its own Return-Path and Delivered-To, not the stored copy\'s')
    a, b = untrace(a, b'alice@localhost'), untrace(b, b'bob@localhost')
    rcvd = re.match(RCVD + rb' for <bob@localhost>; ' + DATE + rb'\n', b)
    t.ok(rcvd, 'the copy carries a Received field of its own, on top (RFC 5321 4.4)')
    t.ok(b[rcvd.end() if rcvd else 0:].startswith(b'Delivered-To: alice@localhost\n'),
         'then Delivered-To of the forwarding account')
    t.is_(strip_top(b, 'Delivered-To'), a, 'the message is otherwise unchanged')
    t.ok(s.wait_log(r'plugin=forward forwarded to=<bob@localhost> from=<x@example\.org> as %s'
                    % (rcvd.group(1).decode() if rcvd else 'NONE')),
         'envelope sender is FROM_ADDRESS (the original sender); the Received id is the copy\'s')
    write_def(s, 'carol', 'forward.def',
              'bin=yubin-sendmail\nparam1=carol@localhost\nparam2=dave@localhost,erin@localhost\n'
              'param3=-mf\nparam4=MAILFILE_PATH\n')
    send(s, 'x@example.org', ['carol@localhost'], MSG % 'c1')
    t.ok(s.wait_mail('dave', 1) and s.wait_mail('erin', 1), 'yubin-sendmail form, two destinations')
    t.ok(re.match(RCVD + rb'; ' + DATE + rb'\nDelivered-To: carol@localhost\n',
                  untrace(s.mails('dave')[0], b'dave@localhost')), 'two recipients: the Received field names none (no "for")')
    t.ok(s.wait_log(r'forwarded to=<dave@localhost> from=<carol@localhost>'),
         'a literal FROM is the envelope sender')
    write_def(s, 'frank', 'forward.def', 'bin=/bin/sh\nparam1=-c\nparam2=id\n')
    send(s, 'x@example.org', ['frank@localhost'], MSG % 'f1')
    t.ok(s.wait_log(r'frank/forward\.def: not the send tool.s form'), 'another program is refused')

    # ---- forward_address / forward_keep_copy ---------------------------------
    write_def(s, 'gina', 'config.def', 'forward_address = hank@localhost\nforward_keep_copy = 0\n')
    write_def(s, 'ivy', 'config.def', 'forward_address = jack@localhost\n')
    send(s, 'x@example.org', ['gina@localhost', 'ivy@localhost'], MSG % 'g1')
    t.ok(s.wait_mail('hank', 1) and s.wait_mail('jack', 1), 'forward_address forwards')
    t.ok(s.wait_log(r'to=<gina@localhost> account=gina status=discarded'), 'keep_copy 0: discarded')
    t.ok(s.wait_mail('ivy', 1) and not s.mails('gina'), 'keep_copy 1 (default) keeps; 0 keeps none')

    # ---- IMS.CTL, the SEEDS.md example ---------------------------------------
    write_def(s, 'kim', 'IMS.CTL', '[AutoForward]\r\nForwardTo = lee@localhost\r\n'
              '[Delivery]\r\nDiscard = Yes\r\n')
    send(s, 'x@example.org', ['kim@localhost'], MSG % 'k1')
    t.ok(s.wait_mail('lee', 1), 'IMS.CTL example: forwarded')
    t.ok(s.wait_log(r'to=<kim@localhost> account=kim status=discarded'), 'and nothing kept')
    t.ok(not s.mails('kim'), 'kim has no copy')

    # ---- every [AutoForward] key on one account -----------------------------
    def ims(text):
        write_def(s, 'zoe', 'IMS.CTL', text)

    def zoe_round(tag, sender='x@example.org', body=None):
        before = {n: len(s.mails(n)) for n in ('bob', 'dave')}
        send(s, sender, ['zoe@localhost'], body or (MSG % tag))
        idle(s)
        return {n: len(s.mails(n)) - before[n] for n in before}

    write_def(s, 'zoe', 'list.txt', 'bob@localhost\n\ndave@localhost\n')
    ims('[AutoForward]\nForwardTo=FILE:list.txt\n')
    t.is_(zoe_round('z1'), {'bob': 1, 'dave': 1}, 'ForwardTo=FILE: forwards to every line')
    ims('[AutoForward]\nEnable=No\nForwardTo=bob@localhost\n')
    t.is_(zoe_round('z2'), {'bob': 0, 'dave': 0}, 'Enable=No: nothing forwarded')
    ims('[AutoForward]\nForwardTo=bob@localhost\nPermitFrom=Yes\n')
    write_def(s, 'zoe', 'PERMITFROM.TXT', 'boss@example.org\n*@example.net\n')
    t.is_(zoe_round('z3'), {'bob': 0, 'dave': 0}, 'PermitFrom=Yes: an unlisted sender is not')
    t.is_(zoe_round('z4', 'boss@example.org'), {'bob': 1, 'dave': 0}, 'a listed address is')
    t.is_(zoe_round('z5', 'who@example.net'), {'bob': 1, 'dave': 0}, '*@domain is')
    for rt, want in (('admin', 'sys@localhost'), ('sender', 'x@example.org'), ('none', ''),
                     ('bounce@example.com', 'bounce@example.com')):
        ims('[AutoForward]\nForwardTo=dave@localhost\nReportTo=%s\n' % rt)
        zoe_round('rt-' + rt)
        t.ok(s.wait_log(r'forwarded to=<dave@localhost> from=<%s> as' % re.escape(want)),
             'ReportTo=%s: envelope sender <%s>' % (rt, want))
    mixed = ('From: x@example.org\r\nSubject: att\r\nMIME-Version: 1.0\r\n'
             'Content-Type: multipart/mixed; boundary="BOUND"\r\n\r\npreamble\r\n'
             '--BOUND\r\nContent-Type: text/plain\r\n\r\nthe text part\r\n'
             '--BOUND\r\nContent-Type: application/octet-stream\r\n'
             'Content-Disposition: attachment; filename="evil.exe"\r\n\r\nAAAA\r\n'
             '--BOUND--\r\nepilogue\r\n')
    ims('[AutoForward]\nForwardTo=bob@localhost\nDeleteAttachments=Yes\n')
    before = list(s.mails('bob'))
    zoe_round('att', body=mixed)
    new = [m for m in s.mails('bob') if m not in before]
    t.ok(len(new) == 1 and b'the text part' in new[0] and b'evil.exe' not in new[0] and
         b'AAAA' not in new[0] and b'--BOUND\n--BOUND' not in new[0] and
         new[0].endswith(b'--BOUND--\nepilogue\n'),
         'DeleteAttachments=Yes: the attachment part is left out, the text kept')
    for limit, want in (('5', b'\n\nhello\n'), ('0', b'\n\n')):
        ims('[AutoForward]\nForwardTo=bob@localhost\nSizeLimit=%s\n' % limit)
        before = list(s.mails('bob'))
        zoe_round('size' + limit)
        new = [m for m in s.mails('bob') if m not in before]
        t.ok(len(new) == 1 and new[0].endswith(want),
             'SizeLimit=%s: %s' % (limit, 'body cut' if limit != '0' else 'header only'))
    ims('[AutoForward]\nForwardTo=%s@localhost\n' % ('a' * 5000))
    t.is_(zoe_round('long'), {'bob': 0, 'dave': 0}, 'an over-long IMS.CTL value is not cut')
    t.ok(s.wait_log(r'zoe/IMS\.CTL: \[AutoForward\] ForwardTo: longer than 4095 bytes; ignored'),
         'and is logged')
    # hops (smtp.max_hops, 30): the copy carries the stored message's fields
    # plus Delivered-To and the injection's Received; one over the limit is
    # not queued but returned to its sender, never dropped
    ims('[AutoForward]\nForwardTo=bob@localhost\n')
    hops = ''.join('Received: from h%d.example by h%d.example; Thu, 1 Jan 2026 00:00:00 +0000\r\n'
                   % (i, i + 1) for i in range(27))
    before = list(s.mails('bob'))
    t.is_(zoe_round('hop27', body=hops + MSG % 'hop27'),
          {'bob': 1, 'dave': 0}, '27 Received fields + the SMTP one: forwarded')
    new = [m for m in s.mails('bob') if m not in before]
    t.is_(new[0].count(b'\nReceived: ') + new[0].startswith(b'Received: ') if new else 0, 29,
          'the copy has 29 Received (and a Delivered-To): 30, the limit')
    reports = lambda: [m for n in ('erin', 'sys') for m in s.mails(n)  # noqa: E731
                       if b'multipart/report' in m]
    t.is_(zoe_round('hop28', 'erin@localhost', body=hops + 'Received: x\r\n' + MSG % 'hop28'),
          {'bob': 0, 'dave': 0}, 'one more: not forwarded')
    t.ok(s.wait_log(r'not queued \(plugin=forward from=<[^>]*>\): too many hops'), 'logged')
    t.ok(wait_until(lambda: len(reports()) == 1), 'and returned to the sender in a report')
    t.is_(zoe_round('adm', 'sys@localhost'), {'bob': 0, 'dave': 0},
          'mail from the administrator is never forwarded')
    write_def(s, 'zoe', 'IMS.CTL', '[AutoForward]\nForwardTo=bob@localhost\n', mode=0o666)
    t.is_(zoe_round('insecure'), {'bob': 0, 'dave': 0}, 'a world-writable IMS.CTL is refused')
    t.ok(s.wait_log(r'zoe/IMS\.CTL: refused: writable by group or others'), 'and logged')

    # ---- A -> B -> A ---------------------------------------------------------
    write_def(s, 'ann', 'config.def', 'forward_address = ben@localhost\n')
    write_def(s, 'ben', 'config.def', 'forward_address = ann@localhost\n')
    send(s, 'x@example.org', ['ann@localhost'], MSG % 'loop')
    t.ok(s.wait_log(r'forward loop: message already delivered to this address'),
         'the loop is noticed and logged')
    t.ok(idle(s), 'the queue drains')
    t.is_((len(s.mails('ann')), len(s.mails('ben'))), (2, 1),
          'A->B->A ends after one round: A has the original and the return, B one copy')

t.done()
