#!/usr/bin/env python3
"""NoRepeat=Yes with a NOREPLY.TXT the server cannot write (a directory in
its place): the reply still goes out, and a warning names the account and
the file, so the administrator sees why senders are answered again."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from prog_lib import Server, TAP, acct_dir, write_def, send, wait_until  # noqa: E402

t = TAP()


def msg(sender, tag):
    return ('From: %s\r\nTo: x@localhost\r\nSubject: question %s\r\nMessage-ID: <%s@ex>\r\n'
            '\r\nplease answer\r\n' % (sender, tag, tag))


with Server(accounts={a: 'pw' for a in ('misc', 'snd1', 'snd2')},
            conf={'server': {'plugins': 'autoreply'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    write_def(s, 'misc', 'IMS.CTL', '[AutoReply]\nNoRepeat=Yes\nSubject=away\n')
    write_def(s, 'misc', 'AUTORPLY.TXT', 'away\n')
    nr = os.path.join(acct_dir(s, 'misc'), 'NOREPLY.TXT')
    os.mkdir(nr, 0o755)          # root's when run as root: unwritable either way
    send(s, 'snd1@localhost', ['misc@localhost'], msg('snd1@localhost', 'a'))
    t.ok(wait_until(lambda: len(s.mails('snd1')) == 1), 'the first sender is answered')
    t.ok(s.wait_log(r'misc: NoRepeat=Yes: cannot record <snd1@localhost> in '
                    r'\S*/misc/NOREPLY\.TXT: '),
         'a warning names the account and NOREPLY.TXT')
    send(s, 'snd2@localhost', ['misc@localhost'], msg('snd2@localhost', 'b'))
    t.ok(wait_until(lambda: len(s.mails('snd2')) == 1), 'the second sender is answered too')
    t.ok(s.wait_log(r'misc: NoRepeat=Yes: cannot record <snd2@localhost> in '),
         'and warned about again')
    t.is_(len(s.mails('misc')), 2, 'both messages are kept')
t.done()
