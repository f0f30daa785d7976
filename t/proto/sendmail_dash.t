#!/usr/bin/env python3
"""Issue 12 item 9: a sender beginning with '-' is an address, never an
option.  MAIL FROM:<-fx@example.org> to an account whose exec.def runs the
seed's send tool (FROM_ADDRESS TO -mf MAILFILE_PATH) once made
yubin-sendmail read "-fx@example.org" as -f and then fail on -mf: the
forward was lost.  yubin-sendmail recognises the seed forms from their
end, before option parsing; here the forward through exec.def and through
forward.def arrives, and direct calls work with and without "--", for -mf
(with -del) and -sb (with -onlyonce); in the sendmail(8) form an address
after "--" is a recipient."""

import os
import re
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))

from prog_lib import Server, TAP, binary, write_def, wait_until  # noqa: E402

t = TAP()
SM = binary('yubin-sendmail')
EVIL = '-fx@example.org'


def run(s, *args, input=None):
    e = dict(os.environ)
    e.pop('YUBIN_CONF', None)
    return subprocess.run([SM, '-c', s.conf_path] + list(args), input=input,
                          capture_output=True, env=e, timeout=60)


def has(s, acct, marker):
    return wait_until(lambda: any(marker in m for m in s.mails(acct)))


ACCTS = {a: 'pw' for a in ('alice', 'bob', 'carol', 'dave', 'erin')}
with Server(accounts=ACCTS, conf={'server': {'plugins': 'exec forward'}},
            start=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    s.sections['plugin exec'] = {'sendmail': SM}
    s.write_conf(s.sections)
    s.start()

    # ---- through exec.def: the seed's send tool ------------------------------
    write_def(s, 'alice', 'exec.def',
              'bin=sendmail\nparam1=FROM_ADDRESS\nparam2=bob@localhost\nparam3=-mf\n'
              'param4=MAILFILE_PATH\n')
    with s.smtp() as c:
        c.sendmail(EVIL, ['alice@localhost'],
                   b'From: <-fx@example.org>\r\nSubject: exec-dash\r\n\r\nbody\r\n')
    t.ok(s.wait_mail('alice', 1), 'the mail from <-fx@example.org> is stored')
    t.ok(has(s, 'bob', b'Subject: exec-dash'), 'the exec.def forward through the send tool arrives')
    t.ok(s.wait_log(r'alice/exec\.def: program=\S+yubin-sendmail exit status 0'),
         'yubin-sendmail exits 0')
    t.ok(s.wait_log(r'accepted from=<-fx@example\.org> \S+ nrcpt=1 client=local '),
         'the forward keeps the sender <-fx@example.org>')

    # ---- through forward.def (done in the server) ----------------------------
    write_def(s, 'carol', 'forward.def',
              'bin=yubin-sendmail\nparam1=FROM_ADDRESS\nparam2=dave@localhost\nparam3=-mf\n'
              'param4=MAILFILE_PATH\n')
    with s.smtp() as c:
        c.sendmail(EVIL, ['carol@localhost'],
                   b'From: <-fx@example.org>\r\nSubject: fwd-dash\r\n\r\nbody\r\n')
    t.ok(has(s, 'dave', b'Subject: fwd-dash'), 'the forward.def forward arrives')

    # ---- direct calls ----------------------------------------------------------
    mf = os.path.join(s.tmp, 'm.eml')

    def mail(subject):
        with open(mf, 'wb') as f:
            f.write(b'From: <-fx@example.org>\nSubject: %s\n\nx\n' % subject.encode())

    mail('direct-1')
    r = run(s, EVIL, 'erin@localhost', '-mf', mf)
    t.is_((r.returncode, r.stderr), (0, b''), 'FROM "-fx@example.org" TO -mf FILE: exit 0')
    t.ok(has(s, 'erin', b'Subject: direct-1'), 'delivered')

    mail('direct-2')
    r = run(s, '--', EVIL, 'erin@localhost', '-mf', mf, '-del')
    t.is_((r.returncode, r.stderr), (0, b''), '-- FROM TO -mf FILE -del: exit 0')
    t.ok(has(s, 'erin', b'Subject: direct-2'), 'delivered')
    t.ok(not os.path.exists(mf), '-del removed the file')

    sb = os.path.join(s.tmp, 'sb.txt')
    with open(sb, 'w') as f:
        f.write('Subject: direct-sb\n\nbody\n')
    record = os.path.join(s.tmp, 'once.txt')
    r = run(s, EVIL, 'erin@localhost', '-sb', sb, '-onlyonce', record)
    t.is_((r.returncode, r.stderr), (0, b''), 'FROM TO -sb FILE -onlyonce RECORD: exit 0')
    t.ok(has(s, 'erin', b'direct-sb'), 'delivered')
    with open(record) as f:
        t.ok('-fx@example.org' in f.read(), 'the record holds the sender as given')

    # ---- the sendmail(8) form --------------------------------------------------
    r = run(s, '-f', EVIL, 'erin@localhost', input=b'Subject: compat-f\n\nx\n')
    t.is_(r.returncode, 0, '-f "-fx@example.org" takes it as the sender')
    t.ok(has(s, 'erin', b'Subject: compat-f'), 'delivered')
    r = run(s, '-f', 'alice@localhost', '--', '-nosuch@localhost', input=b'Subject: dd\n\nx\n')
    t.is_(r.returncode, 67, 'after "--" "-nosuch@localhost" is a recipient (refused: 67), '
          'not an option')
    r = run(s, '-f', 'alice@localhost', '-nosuch@localhost', input=b'Subject: dd\n\nx\n')
    t.is_(r.returncode, 64, 'without "--" it is an unknown option: 64')

t.done()
