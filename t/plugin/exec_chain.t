#!/usr/bin/env python3
"""The exec plugin (issue 8, SEEDS.md §16): the exec.def chain with a gap,
every placeholder (a Japanese encoded subject included), a hostile subject
that arrives as one literal argument and runs nothing, quoted bin paths
with spaces, bare names in the fixed PATH, the clean environment and the
account folder as cwd, MAILFILE_PATH valid while the program runs and
removed after, permission_mailaddress by address and by domain, output to
the log, exit status logged, a missing program, insecure def files."""

import glob
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from prog_lib import (Server, TAP, make_recorder, record, acct_dir, write_def,  # noqa: E402
                      send, gone, wait_until, binary)

t = TAP()
ACCTS = {a: 'pw' for a in ('alice', 'bob', 'carol', 'dave', 'erin', 'frank')}

with Server(accounts=ACCTS, conf={'server': {'plugins': 'exec'}}, start=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-5000:]))
    rec, out = make_recorder(s)
    spaced, _ = make_recorder(s, subdir='my progs', name='rec with space')
    s.sections['plugin exec'] = {'path': os.path.dirname(rec) + ':/usr/bin:/bin',
                                 'timeout': '30s'}
    # a configuration file that is not CONFDIR/yubin.conf (that one stays,
    # stale, next to it): programs must get the file yubind runs with
    s.conf_path = os.path.join(s.etc, 'site-main.conf')
    s.write_conf(s.sections)
    s.start()

    # ---- the chain with a gap, and every placeholder ------------------------
    write_def(s, 'alice', 'exec.def',
              '// sample\nbin=%s\nparam1=one\nparam2=FROM_ADDRESS\nparam3=TO_ADDRESS\n'
              'param4=SUBJECT\nparam5=MAILFILE_PATH\nparam6=literal FROM_ADDRESS text\n'
              'param8=after-gap\n' % rec)
    write_def(s, 'alice', 'exec2.def', 'bin=rec\nparam1=two\n')
    write_def(s, 'alice', 'exec4.def', 'bin=rec\nparam1=four\n')
    jp = '日本語の件名です'
    subj = '=?ISO-2022-JP?B?%s?=' % __import__('base64').b64encode(
        jp.encode('iso-2022-jp')).decode()
    msg = 'From: x@example.org\r\nTo: alice@localhost\r\nSubject: %s\r\n\r\nbody\r\n' % subj
    send(s, 'x@example.org', ['alice@localhost'], msg)
    t.ok(s.wait_mail('alice', 1), 'the message is stored')
    r1 = record(out, 'one')
    r2 = record(out, 'two')
    t.ok(r1 is not None and r2 is not None, 'exec.def and exec2.def ran')
    t.ok(s.wait_log(r'alice/exec2\.def: program=\S+ exit status 0'), 'exec2.def finished')
    t.ok(not os.path.exists(os.path.join(out, 'four.json')), 'exec4.def after the gap did not run')
    r1 = r1 or {'argv': [], 'env': {}, 'cwd': '', 'files': {}, 'stdin': None}
    a = r1['argv']
    t.is_(a[0], rec, 'argv[0] is the program')
    t.is_(a[1:5], ['one', 'x@example.org', 'alice@localhost', jp],
          'FROM_ADDRESS, TO_ADDRESS and SUBJECT (ISO-2022-JP decoded to UTF-8)')
    t.is_(a[6:], ['literal FROM_ADDRESS text'],
          'only a whole value is a placeholder; params stop at the first gap')
    mf = a[5] if len(a) > 5 else ''
    t.like(mf, r'^%s/\.exec-[0-9A-F]+-\d+-\d+\.eml$' % acct_dir(s, 'alice'),
           'MAILFILE_PATH is a private link in the account folder')
    stored = s.mails('alice')[0].decode()
    t.is_(r1['files'].get(mf), stored, 'MAILFILE_PATH held the stored message while it ran')
    t.ok(gone(mf), 'and is removed when the program ends')
    t.is_(r1['cwd'], acct_dir(s, 'alice'), 'cwd is the account folder')
    env = r1['env']
    t.is_(sorted(env), sorted(['PATH', 'HOME', 'LANG', 'YUBIN_CONF', 'YUBIN_FROM', 'YUBIN_TO',
                               'YUBIN_QUEUE_ID']), 'a clean environment')
    t.is_((env.get('YUBIN_FROM'), env.get('YUBIN_TO'), env.get('HOME'), env.get('YUBIN_CONF')),
          ('x@example.org', 'alice@localhost', acct_dir(s, 'alice'), s.conf_path),
          'YUBIN_FROM, YUBIN_TO, HOME, and YUBIN_CONF the file yubind was started with')
    t.like(env.get('YUBIN_QUEUE_ID', ''), r'^[0-9A-F]{16}$', 'YUBIN_QUEUE_ID')
    t.is_(r1['stdin'], '', 'stdin is /dev/null')
    t.is_((r2 or {}).get('argv', [None])[0], rec, 'a bare name is found in the fixed PATH')

    # UTF-8 encoded words, split, Q encoding
    write_def(s, 'bob', 'exec.def', 'bin=rec\n\nparam1=utf\nno equals sign\nparam2=SUBJECT\n')
    send(s, 'x@example.org', ['bob@localhost'],
         'Subject: =?UTF-8?B?5pel5pys?= =?UTF-8?Q?=E8=AA=9E_ok?= tail\r\n\r\nb\r\n')
    r = record(out, 'utf')
    t.is_((r or {}).get('argv', [None, None, None])[2], '日本語 ok tail',
          'UTF-8 B and Q words, the space between words dropped')
    t.ok(s.wait_log(r'bob/exec\.def:4: expected key=value'),
         'a bad line is logged with its number (empty lines counted) and skipped')

    # ---- the hostile subject -------------------------------------------------
    hostile = "$(touch canary); rm -rf ~/no-such-dir `id`"
    write_def(s, 'carol', 'exec.def', 'bin=rec\nparam1=hostile\nparam2=SUBJECT\nparam3=FROM_ADDRESS\n')
    send(s, 'x@example.org', ['carol@localhost'],
         'Subject: %s\r\n\r\nb\r\n' % hostile)
    r = record(out, 'hostile')
    t.is_((r or {}).get('argv', [])[2:], [hostile, 'x@example.org'],
          'the hostile subject arrives as one literal argument')
    t.ok(not glob.glob(os.path.join(s.tmp, '**', 'canary'), recursive=True) and
         not os.path.exists('canary') and not os.path.exists('/canary'),
         'no canary file appeared anywhere')

    # ---- quoted path with spaces; output to the log; exit status -----------
    write_def(s, 'dave', 'exec.def', 'bin="%s" spaced --say --exit3\n' % spaced)
    send(s, 'x@example.org', ['dave@localhost'], 'Subject: s\r\n\r\nb\r\n')
    r = record(out, 'spaced')
    t.is_((r or {}).get('argv'), [spaced, 'spaced', '--say', '--exit3'],
          'a quoted bin path with spaces, its own arguments kept')
    t.ok(s.wait_log(r'dave/exec\.def: program=.*rec with space exit status 3'),
         'the exit status is logged')
    t.ok(s.wait_log(r'program=.* output: hello from the program'), 'stdout goes to the log')
    t.ok(s.wait_log(r'output: second line with \\x1b escape'), 'stderr too, escaped')

    # ---- permission_mailaddress ----------------------------------------------
    write_def(s, 'erin', 'exec.def',
              'bin=rec\nparam1=FROM_ADDRESS\npermission_mailaddress=boss@example.org, example.net\n')
    for sender in ('other@example.org', 'boss@example.org', 'any@example.net',
                   'boss@example.org.evil', 'x@sub.example.net'):
        send(s, sender, ['erin@localhost'], 'Subject: p\r\n\r\nb\r\n')
    t.ok(s.wait_mail('erin', 5), 'all five stored')
    t.ok(record(out, 'boss@example.org') is not None, 'permitted by address')
    t.ok(record(out, 'any@example.net') is not None, 'permitted by domain')
    t.ok(s.wait_log(r'erin/exec\.def: sender <x@sub\.example\.net> not in permission'),
         'the last refusal logged')
    t.ok(not any(os.path.exists(os.path.join(out, n + '.json')) for n in
                 ('other@example.org', 'boss@example.org.evil', 'x@sub.example.net')),
         'other senders did not run it')

    # ---- missing programs, insecure files ------------------------------------
    write_def(s, 'frank', 'exec.def', 'bin=/nonexistent/prog\nparam1=x\n')
    write_def(s, 'frank', 'exec2.def', 'bin=no-such-program-here\n')
    write_def(s, 'frank', 'exec3.def', 'bin=rec\nparam1=insecure\n', mode=0o666)
    os.symlink(os.path.join(acct_dir(s, 'frank'), 'exec6.def'),
               os.path.join(acct_dir(s, 'frank'), 'exec4.def'))
    os.mkdir(os.path.join(acct_dir(s, 'frank'), 'exec5.def'))
    write_def(s, 'frank', 'exec6.def', 'bin=rec\nparam1=frank-last\n')
    write_def(s, 'frank', 'exec7.def', 'bin=rec\nparam1=group-writable\n', mode=0o664)
    send(s, 'x@example.org', ['frank@localhost'], 'Subject: m\r\n\r\nb\r\n')
    t.ok(s.wait_mail('frank', 1), 'the mail is stored whatever the programs do')
    t.ok(s.wait_log(r'program=/nonexistent/prog output: cannot execute /nonexistent/prog: '
                    r'No such file'), 'a missing absolute program: logged')
    t.ok(s.wait_log(r'frank/exec\.def: program=/nonexistent/prog exit status 127'),
         'with status 127')
    t.ok(s.wait_log(r'frank/exec2\.def: program=no-such-program-here not found in '),
         'a missing bare name: logged, not run')
    t.ok(s.wait_log(r'frank/exec3\.def: refused: writable by group or others \(mode 666\)'),
         'a world-writable exec3.def is refused')
    t.ok(s.wait_log(r'frank/exec4\.def: refused: a symbolic link'), 'a symlink is refused')
    t.ok(s.wait_log(r'frank/exec5\.def: refused: not a regular file'), 'a directory is refused')
    t.ok(s.wait_log(r'frank/exec7\.def: refused: writable by group'), 'group-writable refused')
    t.ok(record(out, 'frank-last') is not None, 'the chain goes on past refused files')
    t.ok(not os.path.exists(os.path.join(out, 'insecure.json')) and
         not os.path.exists(os.path.join(out, 'group-writable.json')),
         'refused files ran nothing')
    t.ok(not glob.glob(os.path.join(s.home, 'mailbox', '*', '.exec-*')),
         'no MAILFILE_PATH link left behind')

# ---- a program that submits: yubin-sendmail as the server user ------------
with Server(accounts={'alice': 'pw', 'bob': 'pw'}, conf={'server': {'plugins': 'exec'}},
            start=False) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-5000:]))
    s.sections['plugin exec'] = {'sendmail': binary('yubin-sendmail')}
    s.write_conf(s.sections)
    s.start()
    write_def(s, 'alice', 'exec.def',
              'bin="C:\\Program Files\\WizMailServer\\tool\\sendmail.exe"\n'
              'param1=FROM_ADDRESS\nparam2=bob@localhost\nparam3=-mf\nparam4=MAILFILE_PATH\n')
    send(s, 'x@example.org', ['alice@localhost'], 'Subject: via tool\r\n\r\nb\r\n')
    t.ok(s.wait_mail('bob', 1), 'exec.def running the send tool (seed path) reaches the server')
    t.ok(s.wait_log(r'alice/exec\.def: program=\S+yubin-sendmail exit status 0'),
         'yubin-sendmail exits 0')
    t.ok(s.wait_log(r'listener=local') and re.search(r'uid=(\d+) pid=\d+ listener=local', s.log()),
         'it came in over the local socket with the server user\'s uid')
    t.ok(s.mails('bob') and b'Subject: via tool' in s.mails('bob')[0], 'the message is the stored one')

t.done()
