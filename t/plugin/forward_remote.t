#!/usr/bin/env python3
"""Forwarding between two yubind on loopback (issue 8): alice@localhost on
server A forwards to bob@remote.test on server B (a gateway.dat route), bob
forwards back to alice: the copy crosses both servers once and the loop
ends at A with a log line, by the Delivered-To check."""

import os
import re
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from prog_lib import Server, TAP, write_def, send, wait_until  # noqa: E402

t = TAP()


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


port_b = free_port()
a = Server(accounts={'alice': 'pw'}, conf={'server': {'plugins': 'forward'}},
           files={'gateway.dat': 'remote.test,127.0.0.1,%d,tls=none\n' % port_b})
try:
    t.on_fail.append(lambda: t.diag('A:\n' + a.log()[-3000:]))
    b = Server(accounts={'bob': 'pw'},
               conf={'server': {'plugins': 'forward', 'domain': 'remote.test'},
                     'smtp': {'port': str(port_b), 'hostname': 'b.test.invalid'}},
               files={'gateway.dat': 'localhost,127.0.0.1,%d,tls=none\n' % a.port('smtp')})
    try:
        t.on_fail.append(lambda: t.diag('B:\n' + b.log()[-3000:]))
        write_def(a, 'alice', 'config.def', 'forward_address = bob@remote.test\n')
        send(a, 'x@example.org', ['alice@localhost'],
             'From: x@example.org\r\nSubject: across\r\nMessage-ID: <r1@ex>\r\n\r\nhello\r\n')
        t.ok(b.wait_mail('bob', 1, timeout=60), 'the forwarded copy reached the second server')
        got = b.mails('bob')[0] if b.mails('bob') else b''
        t.ok(b'Delivered-To: alice@localhost' in got and b'Subject: across' in got,
             'with Delivered-To and the message')
        t.ok(re.match(rb'Return-Path: <x@example\.org>\nDelivered-To: bob@remote\.test\n'
                      rb'Received: from \S+ \(\[127\.0\.0\.1\]\)\n(\t.*\n)*?'
                      rb'Received: by mx\.test\.invalid \(yubin, injected by plugin forward\)'
                      rb'\n\tid [0-9A-F]{16} for <bob@remote\.test>; ', got),
             'B\'s trace lines, then its Received on top of the one A\'s injection added')
        t.ok(a.wait_log(r'to=<bob@remote\.test> .*status=sent'), 'A logged the remote delivery')

        # bob forwards back to alice: A -> B -> A ends at A
        write_def(b, 'bob', 'config.def', 'forward_address = alice@localhost\n')
        send(a, 'x@example.org', ['alice@localhost'],
             'From: x@example.org\r\nSubject: loop\r\nMessage-ID: <r2@ex>\r\n\r\nhello\r\n')
        t.ok(a.wait_log(r'forward loop: message already delivered to this address', timeout=60),
             'the loop is stopped at A with a log line')
        t.ok(wait_until(lambda: not a.queue_files() and not b.queue_files(), timeout=60),
             'both queues drain')
        loops = [m for m in a.mails('alice') if b'Subject: loop' in m]
        t.is_(len(loops), 2, 'alice holds the original and the one returned copy')
        t.is_(len([m for m in b.mails('bob') if b'Subject: loop' in m]), 1, 'bob holds one copy')
    finally:
        b.cleanup()
finally:
    a.cleanup()
t.done()
