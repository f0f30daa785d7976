#!/usr/bin/env python3
# yubinctl ml: list accounts with ml.def and ml_member.csv (DESIGN §5, §11):
# every command, and every bad input with its message and exit code; a bad
# input changes nothing.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP

t = TAP()
s = Server(conf={'server': {'alias': 'example.net'}}, accounts={'alice': 'pw'},
           start=False)
box = os.path.join(s.home, 'mailbox')
news = os.path.join(box, 'news')
mem = os.path.join(news, 'ml_member.csv')
mdef = os.path.join(news, 'ml.def')


def read(path):
    with open(path) as f:
        return f.read()


def fails(args, code, err, name, input=None):
    r = s.ctl(*args, check=False, input=input)
    t.is_(r.returncode, code, name + ': exit %d' % code)
    t.is_(r.stderr, err, name + ': message') or t.diag(r.stderr)
    return r


# create
r = s.ctl('ml', 'create', 'news', 'secret', check=False)
t.is_(r.returncode, 0, 'create') or t.diag(r.stderr)
t.is_(r.stdout, "list 'news' created (admin postmaster@localhost)\n", 'create says so')
t.is_(read(mem), '', 'an empty ml_member.csv')
t.is_(read(mdef), '# ml.def - the list news (yubinctl ml show news: every key)\n'
      'count=0\nadmin_mail_address=postmaster@localhost\n', 'ml.def: counter and admin')
t.ok(os.path.isdir(os.path.join(news, 'Maildir', 'new')), 'the list has its Maildir')
t.like(s.ctl('account', 'list').stdout, r'(?m)^news\t', 'the list is an account')
for p in (mem, mdef):
    st = os.stat(p)
    t.is_(st.st_mode & 0o777, 0o600, '%s: mode 0600' % os.path.basename(p))
    if os.geteuid() == 0:
        t.ok(st.st_uid != 0, '%s: owned by the server user' % os.path.basename(p))
r = s.ctl('ml', 'create', 'stdin', input='pw-from-stdin\n', check=False)
t.is_(r.returncode, 0, 'create: password from stdin') or t.diag(r.stderr)
r = s.ctl('ml', 'create', 'owned@example.net', '-', 'owner@example.org',
          input='pw\n', check=False)
t.is_(r.returncode, 0, 'create NAME@DOMAIN - ADMIN') or t.diag(r.stderr)
t.is_(read(os.path.join(box, 'owned', 'ml.def')),
      '# ml.def - the list owned (yubinctl ml show owned: every key)\n'
      'count=0\nadmin_mail_address=owner@example.org\ndomain=example.net\n',
      'the domain and admin recorded')
fails(['ml', 'create', 'news', 'pw'], 1, "yubinctl: account 'news' exists\n",
      'create an existing one')
fails(['ml', 'create', 'x', 'pw', 'bob'], 1,
      "yubinctl: bad admin address 'bob': no '@' in the address\n", 'create: bad admin')
t.ok(not os.path.exists(os.path.join(box, 'x')), 'and no account made')
fails(['ml', 'create', 'Bad/Name', 'pw'], 1,
      "yubinctl: bad account name 'Bad/Name': account name must be 1-64 characters of "
      "a-z 0-9 . _ -\n", 'create: bad name')
fails(['ml', 'create', 'y@other.example', 'pw'], 1,
      "yubinctl: 'other.example' is not a local domain (server.domain, server.alias)\n",
      'create: a domain that is not ours')
fails(['ml', 'create', 'news-request', 'pw'], 1,
      'yubinctl: a list name must not end in -request: NAME-request@DOMAIN is an '
      'address of the list NAME\n', 'create: a name that is a list role address')
s.ctl('account', 'add', 'talk-owner', 'pw')
fails(['ml', 'create', 'talk', 'pw'], 1,
      "yubinctl: account 'talk-owner' exists and would take an address of the list\n",
      'create: an account holds a role address')
fails(['ml', 'create', 'z'], 1, 'yubinctl: no password on standard input\n',
      'create: no password', input='')
t.ok(not os.path.exists(os.path.join(box, 'z')), 'and no account made')
fails(['ml', 'create'], 1, 'yubinctl: usage: yubinctl ml create NAME[@DOMAIN] '
      '[PASSWORD|-] [ADMIN_ADDRESS]\n', 'create: usage')

# add, del, list
r = s.ctl('ml', 'add', 'news', 'a@x.example', 'Bob <b@y.example>',
          '"Yamada, Taro" <t@z.example>', check=False)
t.is_(r.returncode, 0, 'add three') or t.diag(r.stderr)
t.is_(r.stdout, 'news: 3 added, 3 members\n', 'add says so')
members = 'a@x.example\nBob <b@y.example>\nYamada, Taro <t@z.example>\n'
t.is_(s.ctl('ml', 'list', 'news').stdout, members, 'list')
before = read(mem)
fails(['ml', 'add', 'news', 'c@x.example', 'a@X.EXAMPLE'], 1,
      'yubinctl: a@X.EXAMPLE is already a member of news; nothing changed\n',
      'add a member again (domain case ignored)')
fails(['ml', 'add', 'news', 'c@x.example', 'nobody'], 1,
      "yubinctl: bad member 'nobody': address \"nobody\": no '@' in the address\n",
      'add a bad address')
fails(['ml', 'add', 'news', 'Eve <e@x.example'], 1,
      "yubinctl: bad member 'Eve <e@x.example': '<' without a closing '>'\n",
      'add a bad member form')
t.is_(read(mem), before, 'nothing changed by the refused adds')
fails(['ml', 'del', 'news', 'a@x.example', 'nobody@x.example'], 1,
      'yubinctl: nobody@x.example is not a member of news; nothing changed\n',
      'del an unknown address')
t.is_(read(mem), before, 'nothing changed by the refused del')
r = s.ctl('ml', 'del', 'news', 'b@Y.example', check=False)
t.is_(r.returncode, 0, 'del') or t.diag(r.stderr)
t.is_(r.stdout, 'news: 1 removed, 2 members\n', 'del says so')
t.is_(s.ctl('ml', 'list', 'news').stdout,
      'a@x.example\nYamada, Taro <t@z.example>\n', 'list after del')
fails(['ml', 'add', 'news'], 1, 'yubinctl: usage: yubinctl ml add NAME ADDR...\n',
      'add: usage')
fails(['ml', 'del', 'news'], 1, 'yubinctl: usage: yubinctl ml del NAME ADDR...\n',
      'del: usage')

# comments and lines kept by a rewrite
with open(mem, 'w') as f:
    f.write('# members of news\nOwner   <o@x.example>\n\n# end\n')
r = s.ctl('ml', 'add', 'news', 'n@x.example', check=False)
t.is_(read(mem), '# members of news\nOwner   <o@x.example>\n\n# end\nn@x.example\n',
      'comments and lines kept, the new member appended')
with open(mem, 'w') as f:
    f.write('a@x.example\nbroken\n')
fails(['ml', 'add', 'news', 'n2@x.example'], 1,
      mem + ":2: address \"broken\": no '@' in the address\n", 'a bad member file')
t.is_(read(mem), 'a@x.example\nbroken\n', 'is not rewritten')
with open(mem, 'w') as f:
    f.write('a@x.example\n')

# import, export
imp = os.path.join(s.tmp, 'import.txt')
with open(imp, 'w') as f:
    f.write('# sample file\nOwner <listowner@abc.co.jp>\nGuest1 <User1@def.or.jp>\n'
            'User2@ghi.com\n<User3@jkl.co.jp>\na@x.example\n')
r = s.ctl('ml', 'import', 'news', imp, check=False)
t.is_(r.returncode, 0, 'import') or t.diag(r.stderr)
t.is_(r.stdout, 'news: 4 imported, 1 already members, 5 members\n', 'import says so')
bad = os.path.join(s.tmp, 'bad.txt')
with open(bad, 'w') as f:
    f.write('ok@x.example\nfine@x.example\nnot an address\nok@X.EXAMPLE\n')
before = read(mem)
fails(['ml', 'import', 'news', bad], 1,
      bad + ":3: address \"not an address\": blank or control byte in the address\n" +
      bad + ':4: duplicate member ok@X.EXAMPLE (also line 1)\n'
      'yubinctl: ' + bad + ': nothing imported\n', 'import a bad file')
t.is_(read(mem), before, 'nothing imported')
fails(['ml', 'import', 'news', os.path.join(s.tmp, 'missing')], 1,
      'yubinctl: ' + os.path.join(s.tmp, 'missing') + ': No such file or directory\n',
      'import a missing file')
out = os.path.join(s.tmp, 'export.txt')
r = s.ctl('ml', 'export', 'news', out, check=False)
t.is_(r.returncode, 0, 'export') or t.diag(r.stderr)
exported = ('a@x.example\nOwner <listowner@abc.co.jp>\nGuest1 <User1@def.or.jp>\n'
            'User2@ghi.com\nUser3@jkl.co.jp\n')
t.is_(read(out), exported, 'export: members in canonical form')
t.is_(os.stat(out).st_mode & 0o777, 0o600, 'export: mode 0600')
t.is_(s.ctl('ml', 'export', 'news', '-').stdout, exported, 'export to standard output')
r = s.ctl('ml', 'import', 'stdin', out, check=False)
t.is_(s.ctl('ml', 'list', 'stdin').stdout, exported, 'export imports into another list')

# set, show
r = s.ctl('ml', 'set', 'news', 'split=4', 'packing=even', 'post_password=hush',
          'name=News', check=False)
t.is_(r.returncode, 0, 'set') or t.diag(r.stderr)
t.is_(r.stdout, 'news: %s updated\n' % mdef, 'set says so')
t.like(read(mdef), r'(?m)^split=4\npacking=even\npost_password=hush\nname=News\n\Z',
       'set appends the keys')
before = read(mdef)
fails(['ml', 'set', 'news', 'split=0'], 1,
      'yubinctl: split: expected an integer from 1 to 1000, got "0"\n', 'set a bad value')
fails(['ml', 'set', 'news', 'split=5', 'nokey=1'], 1, "yubinctl: unknown key 'nokey'\n",
      'set an unknown key')
fails(['ml', 'set', 'news', 'domain=example.net'], 1,
      'yubinctl: domain: set by ml create NAME@DOMAIN, not changed afterwards\n',
      'set the domain')
fails(['ml', 'set', 'news', 'split'], 1, "yubinctl: 'split': expected KEY=VALUE\n",
      'set without =')
t.is_(read(mdef), before, 'nothing changed by the refused sets')
r = s.ctl('ml', 'set', 'news', 'split=', check=False)
t.ok(r.returncode == 0 and 'split=' not in read(mdef), 'an empty value removes the key')
show = s.ctl('ml', 'show', 'news').stdout
t.like(show, r'(?m)^count=0$', 'show: count')
t.like(show, r'(?m)^split=2$', 'show: split back to its default')
t.like(show, r'(?m)^packing=even$', 'show: packing as set')
t.like(show, r'(?m)^mailing_list_public_level=1$', 'show: a server key unset')
t.like(show, r'(?m)^subject_format=\[News%04d\]$', 'show: the tag from name')
t.like(show, r'(?m)^return_path=postmaster@localhost$', 'show: return_path from admin')
t.like(show, r'(?m)^post_password=\(set\)$', 'show: the password is set')
t.ok('hush' not in show, 'show: and not printed')
t.is_(len(show.splitlines()), 28, 'show: every key')
with open(mdef, 'a') as f:
    f.write('silent=perhaps\n')
fails(['ml', 'show', 'news'], 1, mdef + ':7: silent: expected a boolean (1/0, '
      'true/false, yes/no, on/off), got "perhaps"\n', 'a bad ml.def')
with open(mdef, 'w') as f:
    f.write(before)

# not a list, unknown list, links
fails(['ml', 'list', 'alice'], 1, "yubinctl: 'alice' is an account, not a list (no %s)\n"
      % os.path.join(box, 'alice', 'ml.def'), 'an account that is no list')
fails(['ml', 'remove', 'alice'], 1, "yubinctl: 'alice' is an account, not a list (no %s)\n"
      % os.path.join(box, 'alice', 'ml.def'), 'remove refuses an account that is no list')
t.ok(os.path.isdir(os.path.join(box, 'alice')), 'and keeps it')
fails(['ml', 'list', 'zzz'], 1, "yubinctl: unknown list 'zzz'\n", 'an unknown list')
fails(['ml', 'remove', 'postmaster'], 1,
      "yubinctl: account 'postmaster' cannot be deleted\n", 'remove postmaster')
fails(['ml'], 1, 'usage: yubinctl ml create NAME[@DOMAIN] [PASSWORD|-] [ADMIN_ADDRESS]\n'
      '       yubinctl ml add|del NAME ADDR... | ml list|show|remove NAME\n'
      '       yubinctl ml import|export NAME FILE | ml set NAME KEY=VALUE...\n',
      'ml without a command')
secret = os.path.join(s.tmp, 'secret.txt')
with open(secret, 'w') as f:
    f.write('root-only@x.example\n')
os.rename(mem, mem + '.keep')
os.symlink(secret, mem)
fails(['ml', 'list', 'news'], 1, mem + ': is a symbolic link\n',
      'a link in place of ml_member.csv is not followed')
fails(['ml', 'add', 'news', 'q@x.example'], 1, mem + ': is a symbolic link\n',
      'nor written through')
t.is_(read(secret), 'root-only@x.example\n', 'the link target untouched')
os.unlink(mem)
os.rename(mem + '.keep', mem)

# remove: the account, its folder, its counters
notice = os.path.join(s.tmp, 'notice.txt')
with open(notice, 'w') as f:
    f.write('Notice\nbody\n')
s.ctl('notify', notice)
t.like(s.ctl('mailbox', 'news').stdout, r'mails=1 ', 'the list account has a counted mail')
r = s.ctl('ml', 'remove', 'news', check=False)
t.is_(r.returncode, 0, 'remove') or t.diag(r.stderr)
t.is_(r.stdout, "list 'news' removed\n", 'remove says so')
t.ok(not os.path.exists(news), 'the folder is gone')
t.ok('news' not in s.ctl('account', 'list').stdout, 'the account is gone')
s.ctl('ml', 'create', 'news', 'pw')
t.like(s.ctl('mailbox', 'news').stdout, r'mails=0 bytes=0 ', 'its counters went too')
t.is_(read(mem), '', 'a new list starts empty')
fails(['ml', 'remove', 'gone'], 1, "yubinctl: unknown list 'gone'\n", 'remove an unknown list')
s.cleanup()
t.done()
