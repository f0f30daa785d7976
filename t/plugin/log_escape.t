#!/usr/bin/env python3
"""The log sink escapes control bytes: text a user file carries (here a
forward.def destination the forward plugin logs as a bad address) cannot
put an escape sequence, a backspace, a form feed or a vertical tab into the
log; each such byte is written as \\xNN and the event stays one line."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from prog_lib import Server, TAP, write_def, send  # noqa: E402

t = TAP()
MSG = 'From: x@example.org\r\nSubject: esc\r\nMessage-ID: <e1@example.org>\r\n\r\nhi\r\n'

with Server(accounts={'alice': 'pw', 'bob': 'pw'},
            conf={'server': {'plugins': 'forward'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    write_def(s, 'alice', 'forward.def',
              'bin=yubin-sendmail\nparam1=alice@localhost\n'
              'param2=bob@localhost,evil\x1b[2K\x08\x0b\x0c\x7fFAKE\n'
              'param3=-mf\nparam4=MAILFILE_PATH\n')
    send(s, 'x@example.org', ['alice@localhost'], MSG)
    t.ok(s.wait_mail('bob', 1), 'the good destination is forwarded to')
    t.ok(s.wait_log(r'bad address "evil\\x1b\[2K\\x08\\x0b\\x0c\\x7fFAKE" ignored'),
         'the bad token is logged with its control bytes as \\xNN')
    with open(s.stderr_path, 'rb') as f:
        raw = f.read()
    bad = sorted({c for c in raw if (c < 0x20 and c != 0x0a) or c == 0x7f})
    t.is_(bad, [], 'the log holds no control byte but the line ends')
    t.ok(all(re.match(rb'\d{4}-\d\d-\d\dT[\d:.]+ yubind/', l) for l in raw.splitlines()
             if l.strip()), 'every log line is an event of its own')
t.done()
