#!/usr/bin/env python3
"""The autoreply plugin (issue 8, SEEDS.md §15): reply.def in the exact seed
form (Windows paths) with and without -onlyonce, the two SEEDS.md §15.2
IMS.CTL examples as written (JIS AUTORPLY.TXT, NOREPLY.TXT, RecordReplies,
ReplyFrom, EchoMessage, Discard), the fixed keys ReplyTo, StripHeader,
NoRepeat, every RFC 3834 suppression case, one reply per sender per
period, envelope sender <> and Auto-Submitted: auto-replied with
In-Reply-To/References; Program= run like an exec.def program (argv with
the placeholders, a hostile subject as one argument, the clean
environment, the account folder, MAILFILE_PATH), a relative Program=
refused, Enable=No running nothing."""

import email
import email.header
import email.policy
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from prog_lib import (Server, TAP, acct_dir, write_def, send, wait_until, make_recorder,  # noqa: E402
                      record, gone)

t = TAP()
ACCTS = ['user1', 'user2', 'vac', 'moved', 'misc', 'snd1', 'snd2', 'snd3', 'snd4', 'snd5',
         'prog', 'prog2']


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def subj(m):
    return str(email.header.make_header(email.header.decode_header(m['Subject'] or '')))


def idle(s):
    return wait_until(lambda: not s.queue_files())


def one_reply(s, acct, before):
    """The single new message in ACCT since BEFORE (a list), parsed."""
    wait_until(lambda: len(s.mails(acct)) > len(before))
    idle(s)
    new = [m for m in s.mails(acct) if m not in before]
    return parse(new[0]) if len(new) == 1 else None


def msg(sender, tag, extra=''):
    return ('From: %s\r\nTo: x@localhost\r\nSubject: question %s\r\nMessage-ID: <%s@ex>\r\n'
            'References: <prev@ex>\r\n%s\r\nplease answer\r\n' % (sender, tag, tag, extra))


with Server(accounts={a: 'pw' for a in ACCTS},
            conf={'server': {'plugins': 'autoreply'}}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-5000:]))

    # ---- reply.def, seed form ---------------------------------------------
    write_def(s, 'user1', 'reply.def',
              'bin=C:\\Program Files\\WizMailServer\\tool\\sendmail.exe\r\n'
              'param1=TO_ADDRESS\r\nparam2=FROM_ADDRESS\r\nparam3=-sb\r\n'
              'param4=C:\\Program Files\\WizMailServer\\mailbox\\user1\\reply.sab\r\n')
    write_def(s, 'user1', 'reply.sab', 'This is an automatic reply.\r\nThank you for your mail.\r\n'
              '(body lines)\r\n')
    b = s.mails('snd1')
    send(s, 'snd1@localhost', ['user1@localhost'], msg('snd1@localhost', 'q1'))
    m = one_reply(s, 'snd1', b)
    t.ok(m is not None, 'reply.def seed form: one reply')
    m = m or parse(b'')
    t.is_((m['From'], m['To'], subj(m)), ('user1@localhost', 'snd1@localhost',
                                          'This is an automatic reply.'),
          'From is TO_ADDRESS, To is FROM_ADDRESS, subject from line 1')
    t.is_(m.get_content().replace('\r\n', '\n'), 'Thank you for your mail.\n(body lines)\n',
          'body from line 2')
    t.is_((m['Auto-Submitted'], m['In-Reply-To'], m['References']),
          ('auto-replied', '<q1@ex>', '<prev@ex> <q1@ex>'),
          'Auto-Submitted, In-Reply-To, References')
    t.ok(m['Date'] and m['Message-ID'], 'Date and Message-ID')
    t.ok(s.wait_log(r'injected by plugin=autoreply from=<> nrcpt=1'), 'envelope sender <>')
    t.ok(len(s.mails('user1')) == 1, 'the local copy is kept')
    b = s.mails('snd1')
    send(s, 'snd1@localhost', ['user1@localhost'], msg('snd1@localhost', 'q2'))
    t.ok(s.wait_log(r'user1: no auto-reply to <snd1@localhost>: answered within the period'),
         'a second mail within the period: no second reply')
    idle(s)
    t.is_(len(s.mails('snd1')), len(b), 'nothing sent')

    # -onlyonce: a known pair is skipped, a new one recorded
    write_def(s, 'user2', 'reply.def',
              'bin=C:\\Program Files\\WizMailServer\\tool\\sendmail.exe\n'
              'param1=TO_ADDRESS\nparam2=FROM_ADDRESS\nparam3=-sb\n'
              'param4=C:\\Program Files\\WizMailServer\\mailbox\\user2\\reply.sab\n'
              'param5=-onlyonce\nparam6=C:\\Program Files\\WizMailServer\\mailbox\\user2\\onlyonce.csv\n')
    write_def(s, 'user2', 'reply.sab', 'Auto\nBody\n')
    write_def(s, 'user2', 'onlyonce.csv', 'user2@localhost,snd1@localhost\n', mode=0o600)
    os.chown(os.path.join(acct_dir(s, 'user2'), 'onlyonce.csv'),
             os.stat(acct_dir(s, 'user2')).st_uid, -1)
    send(s, 'snd1@localhost', ['user2@localhost'], msg('snd1@localhost', 'o1'))
    t.ok(s.wait_log(r'user2: no auto-reply to <snd1@localhost>: in the -onlyonce record'),
         '-onlyonce: a recorded pair gets no reply')
    b = s.mails('snd2')
    send(s, 'snd2@localhost', ['user2@localhost'], msg('snd2@localhost', 'o2'))
    t.ok(one_reply(s, 'snd2', b) is not None, '-onlyonce: a new pair is answered')
    with open(os.path.join(acct_dir(s, 'user2'), 'onlyonce.csv')) as f:
        t.is_(f.read(), 'user2@localhost,snd1@localhost\nuser2@localhost,snd2@localhost\n',
              'and recorded')

    # ---- SEEDS.md §15.2 example 1 ------------------------------------------
    holiday = '休暇中です。\n来週月曜日に戻ります。\n'
    write_def(s, 'vac', 'IMS.CTL', '[AutoReply]\r\nRecordReplies=Yes\r\n'
              'Subject=It is during vacation\r\n')
    with open(os.path.join(acct_dir(s, 'vac'), 'AUTORPLY.TXT'), 'wb') as f:
        f.write(holiday.encode('iso-2022-jp'))
    write_def(s, 'vac', 'NOREPLY.TXT', 'abc@xxx.co.jp\n')
    b = s.mails('snd3')
    send(s, 'snd3@localhost', ['vac@localhost'], msg('snd3@localhost', 'v1'))
    m = one_reply(s, 'snd3', b) or parse(b'')
    t.is_((subj(m), m['From'], m.get_content_charset()),
          ('It is during vacation', 'vac@localhost', 'iso-2022-jp'),
          'example 1: Subject, From the account, JIS text sent as ISO-2022-JP')
    t.is_(m.get_content() if m['From'] else None, holiday, 'the JIS text decodes')
    with open(os.path.join(acct_dir(s, 'vac'), 'REPLIED.TXT')) as f:
        t.is_(f.read(), 'snd3@localhost\n', 'RecordReplies=Yes: REPLIED.TXT')
    send(s, 'abc@xxx.co.jp', ['vac@localhost'], msg('abc@xxx.co.jp', 'v2'))
    t.ok(s.wait_log(r'vac: no auto-reply to <abc@xxx\.co\.jp>: NOREPLY\.TXT'),
         'example 1: NOREPLY.TXT is never answered')
    t.ok(s.wait_mail('vac', 2), 'example 1: mail is kept')

    # ---- SEEDS.md §15.2 example 2 ------------------------------------------
    write_def(s, 'moved', 'IMS.CTL', '[AutoReply]\nReplyFrom=Postmaster@abc.co.jp\n'
              'EchoMessage=Yes\nSubject=It moved\n[Delivery]\nDiscard=Yes\n')
    with open(os.path.join(acct_dir(s, 'moved'), 'AUTORPLY.TXT'), 'wb') as f:
        f.write('新しいアドレスは new@example.jp です。\n'.encode('iso-2022-jp'))
    write_def(s, 'moved', 'NOREPLY.TXT', 'def@ghi.co.jp\n')
    b = s.mails('snd4')
    send(s, 'snd4@localhost', ['moved@localhost'], msg('snd4@localhost', 'm1'))
    m = one_reply(s, 'snd4', b) or parse(b'')
    parts = list(m.iter_parts()) if m.is_multipart() else []
    t.is_((m['From'], subj(m), m.get_content_type()),
          ('Postmaster@abc.co.jp', 'It moved', 'multipart/mixed'),
          'example 2: ReplyFrom, Subject, text plus the message')
    t.ok(len(parts) == 2 and parts[0].get_content() == '新しいアドレスは new@example.jp です。\n'
         and parts[1].get_content_type() == 'message/rfc822' and
         b'Subject: question m1' in parts[1].as_bytes(),
         'EchoMessage=Yes: the received mail follows the text')
    t.ok(s.wait_log(r'to=<moved@localhost> account=moved status=discarded'),
         'example 2: Discard=Yes keeps nothing')
    t.is_(len(s.mails('moved')), 0, 'the mailbox is empty')
    send(s, 'def@ghi.co.jp', ['moved@localhost'], msg('def@ghi.co.jp', 'm2'))
    t.ok(s.wait_log(r'moved: no auto-reply to <def@ghi\.co\.jp>: NOREPLY\.TXT'),
         'example 2: NOREPLY.TXT')

    # ---- the fixed keys: ReplyTo, StripHeader, NoRepeat, a JIS Subject -------
    jsub = '不在通知'
    with open(os.path.join(acct_dir(s, 'misc'), 'IMS.CTL'), 'wb') as f:
        f.write(b'[AutoReply]\nReplyTo=desk@localhost\nEchoMessage=Yes\nStripHeader=Yes\n'
                b'NoRepeat=Yes\nSubject=' + jsub.encode('iso-2022-jp') + b'\n')
    write_def(s, 'misc', 'AUTORPLY.TXT', 'away\n')
    b = s.mails('snd5')
    send(s, 'snd5@localhost', ['misc@localhost'], msg('snd5@localhost', 'x1'))
    m = one_reply(s, 'snd5', b) or parse(b'')
    parts = list(m.iter_parts()) if m.is_multipart() else []
    t.is_((m['Reply-To'], subj(m)), ('desk@localhost', jsub), 'ReplyTo=, a JIS Subject= decoded')
    t.ok(len(parts) == 2 and b'please answer' in parts[1].as_bytes() and
         b'question x1' not in parts[1].as_bytes(),
         'StripHeader=Yes: the echoed message without its header')
    with open(os.path.join(acct_dir(s, 'misc'), 'NOREPLY.TXT')) as f:
        t.is_(f.read(), 'snd5@localhost\n', 'NoRepeat=Yes: the sender went into NOREPLY.TXT')

    # ---- RFC 3834 and the rest: never answered -------------------------------
    cases = [
        ('', '', 'null sender'),
        ('a1@example.com', 'Auto-Submitted: auto-generated\r\n', 'Auto-Submitted'),
        ('a2@example.com', 'Auto-Submitted: auto-replied\r\n', 'Auto-Submitted'),
        ('a3@example.com', 'Precedence: bulk\r\n', 'Precedence'),
        ('a4@example.com', 'Precedence: list\r\n', 'Precedence'),
        ('a5@example.com', 'Precedence: junk\r\n', 'Precedence'),
        ('a6@example.com', 'List-Id: <l.example.com>\r\n', 'mailing list'),
        ('a7@example.com', 'List-Unsubscribe: <mailto:u@example.com>\r\n', 'mailing list'),
        ('MAILER-DAEMON@example.com', '', 'list or daemon sender'),
        ('owner-list@example.com', '', 'list or daemon sender'),
        ('list-request@example.com', '', 'list or daemon sender'),
        ('vac@localhost', '', 'own address'),
        ('x@blocked.example', '', 'NOREPLY.TXT'),
    ]
    write_def(s, 'vac', 'NOREPLY.TXT', 'abc@xxx.co.jp\n*@blocked.example\n')
    for sender, hdr, why in cases:
        send(s, sender, ['vac@localhost'], msg(sender or 'x@y', 'r', hdr))
        t.ok(s.wait_log(r'vac: no auto-reply to <%s>: %s' % (sender, why.replace('.', r'\.'))),
             'no reply: %s %s' % (why, (sender + ' ' + hdr.strip()).strip()))
    send(s, 'a8@example.com', ['vac@localhost'], msg('a8@example.com', 'r',
                                                     'Auto-Submitted: no\r\n'))
    t.ok(s.wait_log(r'plugin=autoreply auto-reply to=<a8@example\.com>'),
         'Auto-Submitted: no is answered')
    idle(s)
    t.ok('auto-reply to=<a1@' not in s.log() and 'auto-reply to=<MAILER' not in s.log(),
         'no reply was queued for a suppressed case')

    # ---- Program=: run like an exec.def program ------------------------------
    rec, out = make_recorder(s, subdir='my bin', name='rec')
    write_def(s, 'prog', 'IMS.CTL', '[AutoReply]\r\nSubject=away\r\n'
              'Program="%s" arp FROM_ADDRESS TO_ADDRESS SUBJECT MAILFILE_PATH literal\r\n' % rec)
    write_def(s, 'prog', 'AUTORPLY.TXT', 'away\n')
    jp = '日本語'
    hostile = "$(touch canary); rm -rf ~/no-such-dir `id`"
    b = s.mails('snd2')
    send(s, 'snd2@localhost', ['prog@localhost'],
         'From: snd2@localhost\r\nSubject: =?UTF-8?B?5pel5pys6Kqe?= %s\r\n\r\nbody\r\n' % hostile)
    r = record(out, 'arp') or {'argv': [], 'env': {}, 'cwd': '', 'files': {}}
    a = r['argv']
    t.is_(a[:5], [rec, 'arp', 'snd2@localhost', 'prog@localhost', jp + ' ' + hostile],
          'Program=: a quoted path, FROM_ADDRESS, TO_ADDRESS, SUBJECT decoded, '
          'the hostile subject one literal argument')
    t.ok(not os.path.exists(os.path.join(acct_dir(s, 'prog'), 'canary')) and
         not os.path.exists('canary'), 'no canary file appeared')
    mf = a[5] if len(a) > 5 else ''
    t.like(mf, r'^%s/\.exec-[0-9A-F]+-\d+-\d+\.eml$' % acct_dir(s, 'prog'),
           'MAILFILE_PATH is a private link in the account folder')
    t.ok(s.wait_mail('prog', 1) and r['files'].get(mf) == s.mails('prog')[0].decode(),
         'holding the stored message while the program ran')
    t.is_(a[6:], ['literal'], 'other words kept as written')
    t.ok(gone(mf), 'the link is removed when the program ends')
    t.is_((r['cwd'], sorted(r['env'])),
          (acct_dir(s, 'prog'), sorted(['PATH', 'HOME', 'LANG', 'YUBIN_CONF', 'YUBIN_FROM',
                                        'YUBIN_TO', 'YUBIN_QUEUE_ID'])),
          'the account folder as cwd, a clean environment')
    t.is_((r['env'].get('YUBIN_CONF'), r['env'].get('YUBIN_TO'), r['env'].get('PATH')),
          (s.conf_path, 'prog@localhost', '/usr/local/bin:/usr/bin:/bin'),
          'YUBIN_CONF, YUBIN_TO, PATH from [plugin autoreply] program_path\'s default')
    t.ok(s.wait_log(r'prog/IMS\.CTL: program=.*/my bin/rec exit status 0'), 'its exit status is logged')
    t.ok(one_reply(s, 'snd2', b) is not None, 'and the reply still goes out')

    write_def(s, 'prog2', 'IMS.CTL', '[AutoReply]\nProgram=bin/rec rel\n')
    write_def(s, 'prog2', 'AUTORPLY.TXT', 'away\n')
    send(s, 'snd3@localhost', ['prog2@localhost'], msg('snd3@localhost', 'p2'))
    t.ok(s.wait_log(r'prog2/IMS\.CTL: program=bin/rec: a relative path; give an absolute one '
                    r'or a bare name; not run'), 'a relative Program= is refused')
    write_def(s, 'prog2', 'IMS.CTL', '[AutoReply]\nProgram="%s" disc MAILFILE_PATH\n'
              '[Delivery]\nDiscard=Yes\n' % rec)
    send(s, 'snd5@localhost', ['prog2@localhost'], msg('snd5@localhost', 'p4'))
    r = record(out, 'disc') or {'argv': [], 'files': {}}
    mf = r['argv'][2] if len(r['argv']) > 2 else ''
    t.ok('Subject: question p4' in r['files'].get(mf, ''),
         'Discard=Yes: Program= still gets the message (MAILFILE_PATH) though none is kept')
    t.ok(gone(mf) and s.wait_log(r'to=<prog2@localhost> account=prog2 status=discarded'),
         'the copy is discarded, the link removed')
    write_def(s, 'prog2', 'IMS.CTL', '[AutoReply]\nEnable=No\nProgram="%s" off\n' % rec)
    started = s.log().count('prog2/IMS.CTL: starting')
    send(s, 'snd4@localhost', ['prog2@localhost'], msg('snd4@localhost', 'p3'))
    t.ok(s.wait_mail('prog2', 2) and idle(s), 'stored (the discarded one aside)')
    t.ok(s.log().count('prog2/IMS.CTL: starting') == started and
         not os.path.exists(os.path.join(out, 'off.json')), 'Enable=No: Program= is not run')

t.done()
