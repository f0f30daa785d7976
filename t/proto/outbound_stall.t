#!/usr/bin/env python3
# A stalling peer (issue 6): a destination that accepts the connection or
# the data and then says nothing holds its agent no longer than
# queue.smtp_timeout, the message is deferred as a line error, and mail to
# other destinations goes on meanwhile.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, Sink, TAP, send_authed

t = TAP()
ACC = {'alice': 'pw'}
BODY = b'Subject: stall\r\nFrom: alice@localhost\r\n\r\nbody\r\n'


def gw(*lines):
    return {'gateway.dat': ''.join('%s,127.0.0.1,%d,tls=none\n' % l for l in lines)}


CONF = {'queue': {'smtp_timeout': '2s', 'retry_interval': '1h', 'delivery_workers': '2'}}

for where in ('greeting', 'data'):
    with Sink(stall=where) as slow, Sink() as good:
        with Server(accounts=ACC, conf=CONF,
                    files=gw(('slow.test', slow.port), ('good.test', good.port))) as s:
            send_authed(s, 'alice@localhost', ['x@slow.test'], BODY)
            send_authed(s, 'alice@localhost', ['y@good.test'], BODY)
            t.ok(good.wait(1), '%s stall: other destinations are served meanwhile' % where)
            t.ok(s.wait_log(r'to=<x@slow\.test> .*status=deferred \(451 4\.4\.2 timeout waiting '
                            r"for the server's reply\)"),
                 '%s stall: deferred after queue.smtp_timeout' % where)
            out = s.ctl('queue', 'list').stdout
            t.like(out, r'deferred=1', '%s stall: the message waits in the queue' % where)
            t.is_(slow.delivered(), [], '%s stall: nothing counted as delivered' % where)
t.done()
