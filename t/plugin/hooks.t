#!/usr/bin/env python3
# The hook system with the testhooks plugin: every hook point, every result
# code, notes, added headers, the store, crash isolation, hook timeouts,
# ABI refusal, init failures, reload of the plugin set.
import os
import re
import signal
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Server, TAP, Raw, BUILD, binary, wait_until, server_pid_for

t = TAP()
PDIR = os.path.join(BUILD, 't', 'plugin')


def conf(plugins, extra=None):
    c = {'server': {'plugin_dir': PDIR, 'plugins': plugins, 'hook_timeout': '2s'}}
    for k, v in (extra or {}).items():
        c.setdefault(k, {}).update(v)
    return c


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def check(plugins, extra=None):
    s = Server(conf=conf(plugins, extra), start=False)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
    s.cleanup()
    return r


r = check('badabi')
t.is_(r.returncode, 1, 'ABI mismatch: -t exits 1')
t.like(r.stderr, r'badabi\.so: plugin ABI version 3, this yubind needs 2', 'and names the file and versions')
s = Server(conf=conf('badabi'), start=False)
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-f'], capture_output=True, text=True, timeout=30)
t.is_(r.returncode, 1, 'ABI mismatch: start-up exits 1')
s.cleanup()
r = check('abi1')
t.is_(r.returncode, 1, 'a plugin built for ABI 1: -t exits 1')
t.like(r.stderr, r'abi1\.so: plugin ABI version 1, this yubind needs 2', 'and names the file and both versions')
s = Server(conf=conf('abi1'), start=False)
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-f'], capture_output=True, text=True, timeout=30)
t.is_(r.returncode, 1, 'a plugin built for ABI 1: start-up exits 1')
t.like(r.stderr, r'abi1\.so: plugin ABI version 1, this yubind needs 2', 'and says why')
s.cleanup()
r = check('shorthooks,shortplugin')
t.is_(r.returncode, 0, 'plugins with shorter structs of this ABI pass -t')
with Server(conf=conf('shorthooks,shortplugin')) as s:
    r = s.ctl('plugins')
    t.like(r.stdout, r'(?m)^shorthooks hooks=connect$', 'hooks past a short yh_hooks .size are not read')
    t.like(r.stdout, r'(?m)^shortplugin hooks=-$',
           'a short yh_plugin .size leaves its hooks NULL')
r = check('nosym')
t.like(r.stderr, r"nosym\.so: no 'yubin_plugin' symbol", 'a shared object without the symbol is refused')
r = check('missing')
t.like(r.stderr, r'missing\.so: cannot load plugin', 'a missing plugin is refused')
r = check('../evil')
t.like(r.stderr, r"bad plugin name '\.\./evil'", 'a plugin name with a path is refused')
r = check('testhooks', {'plugin testhooks': {'fail_init': '1'}})
t.is_(r.returncode, 1, 'init failure: -t exits 1')
t.like(r.stderr, r'testhooks\.conf:7: fail_init requested', 'init errors are printed')

rec_dir = None
with Server(accounts={'alice': 'pw'},
            conf=conf('testhooks', {'plugin testhooks': {}})) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    rec = os.path.join(s.tmp, 'record')
    s.sections['plugin testhooks'] = {'record': rec}
    s.write_conf(s.sections)
    s.stop()
    open(rec, 'w').close()
    os.chmod(rec, 0o666)    # init writes as root, hooks as the server user
    s.start()

    def recorded():
        try:
            with open(rec) as f:
                return f.read()
        except OSError:
            return ''

    t.like(recorded(), r'^init localhost -\ncommit -$', 'init ran with the server configuration, then commit')
    r = s.ctl('plugins')
    t.like(r.stdout, r'^testhooks hooks=connect,helo,auth,mail,rcpt,data,queued,disconnect,'
           r'deliver,delivered,pop_auth$', 'yubinctl plugins lists the hooks')

    c = Raw(s.connect('smtp'))
    t.is_(c.reply()[0], 220, 'greeting')
    t.like(recorded(), r'connect 127\.0\.0\.1 listener=0', 'connect hook saw the peer')
    code, text = c.cmd('EHLO deny.hook.test')
    t.is_((code, text[:9]), (554, '554 5.7.9'), 'helo deny carries the plugin reply')
    code, text = c.cmd('EHLO denysoft.hook.test')
    t.is_((code, text[:9]), (452, '452 4.7.9'), 'helo denysoft')
    code, _ = c.cmd('EHLO ok.hook.test')
    t.is_(code, 250, 'helo ok')
    code, text = c.cmd('MAIL FROM:<mail-deny@example.org>')
    t.is_((code, text[:9]), (554, '554 5.7.9'), 'mail deny')
    code, text = c.cmd('MAIL FROM:<mail-denysoft@example.org>')
    t.is_((code, text[:9]), (452, '452 4.7.9'), 'mail denysoft')
    code, _ = c.cmd('MAIL FROM:<sender@example.org>')
    t.is_(code, 250, 'mail declined -> core accepts')
    code, text = c.cmd('RCPT TO:<rcpt-deny@example.net>')
    t.is_((code, text[:9]), (554, '554 5.7.9'), 'rcpt deny')
    code, text = c.cmd('RCPT TO:<rcpt-declined@example.net>')
    t.is_((code, text[:9]), (554, '554 5.7.1'), 'rcpt declined -> core refuses relay')
    code, _ = c.cmd('RCPT TO:<rcpt-ok@example.net>')
    t.is_(code, 250, 'rcpt ok grants relay')
    code, text = c.cmd('RCPT TO:<nosuchuser@localhost>')
    t.is_((code, text[:9]), (550, '550 5.1.1'), 'unknown local user is refused before the hook')
    code, _ = c.cmd('RCPT TO:<alice@localhost>')
    t.is_(code, 250, 'local recipient')
    t.like(recorded(), r'rcpt alice@localhost local=1', 'rcpt hook saw local=1')
    t.like(recorded(), r'rcpt rcpt-ok@example.net local=-1', 'rcpt hook saw local=-1')
    c.cmd('DATA')
    c.send('Subject: first\r\nX-Test-Data: deny\r\n\r\nbody\r\n.\r\n')
    code, text = c.reply()
    t.is_((code, text[:9]), (554, '554 5.7.9'), 'data deny')
    t.is_(s.ctl('queue', 'list').stdout, '', 'nothing queued after a data deny')
    c.cmd('MAIL FROM:<sender@example.org>')
    c.cmd('RCPT TO:<alice@localhost>')
    c.cmd('DATA')
    c.send('Subject: second\r\nX-Test-Data: declined\r\n\r\nbody\r\n.\r\n')
    code, text = c.reply()
    t.is_(code, 250, 'data declined -> queued')
    qid = re.search(r'queued as ([0-9A-F]{16})', text).group(1)
    t.ok(s.wait_mail('alice', 1), 'delivered')
    msg = s.mails('alice')[0]
    t.ok(re.match(rb'Return-Path: <[^\n]*>\nDelivered-To: alice@localhost\n'
                  rb'X-Test-Note: rcpt=alice@localhost\nX-Test-Seen: second\n', msg),
         'headers added by the data hook are on top (below the trace lines)')
    t.ok(b'\nX-Test-Counter-Bytes: 8\n' in msg, 'the plugin store counter is readable')
    t.ok(wait_until(lambda: 'queued %s' % qid in recorded()), 'queued hook saw the queue id')
    t.ok(wait_until(lambda: re.search(r'deliver alice@localhost account=alice', recorded())),
         'deliver hook')
    t.ok(wait_until(lambda: 'delivered alice' in recorded()), 'delivered hook')
    sizes = s.ctl('mailbox', 'alice').stdout
    t.like(sizes, r'mails=1 bytes=%d ' % (len(msg) + msg.count(b'\n')),
           'usage counts the stored copy with the added headers')

    # deliver results
    for word, n in (('discard', 1), ('deny', 1)):
        c.cmd('MAIL FROM:<sender@example.org>')
        c.cmd('RCPT TO:<alice@localhost>')
        c.cmd('DATA')
        c.send('Subject: %s\r\nX-Test-Deliver: %s\r\n\r\nbody\r\n.\r\n' % (word, word))
        code, text = c.reply()
        t.is_(code, 250, 'accepted for deliver=%s' % word)
    t.ok(s.wait_log(r'status=discarded by plugin'), 'deliver discard logged')
    t.ok(s.wait_log(r'status=refused \(550 5\.7\.9 testhooks refuses delivery\)'), 'deliver deny logged')
    c.cmd('MAIL FROM:<sender@example.org>')
    c.cmd('RCPT TO:<alice@localhost>')
    c.cmd('DATA')
    c.send('Subject: soft\r\nX-Test-Deliver: denysoft\r\n\r\nbody\r\n.\r\n')
    code, text = c.reply()
    t.ok(s.wait_log(r'status=deferred \(450 4\.7\.9'), 'deliver denysoft defers')
    t.ok(re.search(r'pending=1', s.ctl('queue', 'list').stdout), 'deferred message stays queued')
    t.is_(len(s.mails('alice')), 1, 'discarded, refused and deferred copies are not stored')
    code, _ = c.cmd('EHLO disconnect.hook.test')
    t.is_(code, 421, 'helo disconnect -> 421')
    t.is_(c.line(), None, 'and the connection is closed')
    c.close()
    t.ok(wait_until(lambda: 'disconnect 127.0.0.1' in recorded()), 'disconnect hook')

    # POP3 login
    p = s.pop3()
    p.user('alice')
    p.pass_('pw')
    p.quit()
    t.ok(wait_until(lambda: 'pop_auth alice 127.0.0.1' in recorded()), 'pop_auth hook')

    # a crash takes down one worker only
    c = Raw(s.connect('smtp'))
    c.reply()
    c.cmd('EHLO crash.test')
    c.cmd('MAIL FROM:<sender@example.org>')
    code, _ = c.cmd('RCPT TO:<rcpt-crash@example.net>')
    t.is_(code, None, 'the client sees the drop when a hook crashes')
    c.close()
    t.ok(s.wait_log(r'smtp worker pid \d+ killed by signal 11 \(Segmentation fault\) in '
                    r'plugin=testhooks hook=rcpt'), 'the master logs plugin, hook and signal')
    with s.smtp() as cl:
        t.is_(cl.noop()[0], 250, 'the next session works')

    # a hook past hook_timeout is abandoned: the worker answers 421, ends
    # the session and exits, never serving on with a hook's state broken
    c = Raw(s.connect('smtp'))
    c.reply()
    wpid = server_pid_for(c.sock)
    code, text = c.cmd('EHLO hang.hook.test')
    t.is_((code, text[:9]), (421, '421 4.3.0'), 'a hung hook: 421, closing')
    t.is_(c.line(), None, 'the connection is closed at once')
    t.ok(s.wait_log(r'plugin=testhooks hook=helo timed out'), 'timeout logged')
    t.ok(wpid and wait_until(lambda: not alive(wpid)), 'and the worker exits')
    c.close()
    with s.smtp() as cl:
        t.is_(cl.noop()[0], 250, 'the next session is served by another worker')

    # run-time blocks: a plugin blocks the client, the next connection is
    # refused before any plugin runs, yubinctl lists and removes the block
    c = Raw(s.connect('smtp', source='127.0.0.9'))
    c.reply()
    c.cmd('EHLO block.test')
    c.cmd('MAIL FROM:<sender@example.org>')
    code, _ = c.cmd('RCPT TO:<rcpt-block@example.net>')
    t.is_(code, 554, 'the blocking rcpt is denied')
    c.close()
    c = Raw(s.connect('smtp', source='127.0.0.9'))
    code, text = c.reply()
    t.is_((code, text[:9]), (554, '554 5.7.1'), 'a blocked client is refused at connect')
    t.is_(c.line(), None, 'and the connection closed')
    c.close()
    out = s.ctl('block', 'list').stdout
    t.like(out, r'^127\.0\.0\.9 since=\d+ expires=never reason=asked for\\x0d\\x0ait$',
           'yubinctl block list shows it, reason escaped')
    with s.smtp() as cl:
        t.is_(cl.noop()[0], 250, 'other clients are not affected')
    s.stop()
    s.start()
    c = Raw(s.connect('smtp', source='127.0.0.9'))
    t.is_(c.reply()[0], 554, 'the block survives a restart')
    c.close()
    r = s.ctl('block', 'del', '127.0.0.9')
    t.like(r.stdout, 'unblocked 127.0.0.9', 'yubinctl block del')
    r = s.ctl('block', 'del', '127.0.0.9', check=False)
    t.is_(r.returncode, 1, 'deleting a missing block is a usage error')
    r = s.ctl('block', 'del', 'not-an-ip', check=False)
    t.like(r.stderr, 'not an IP address', 'a bad address is refused')
    c = Raw(s.connect('smtp', source='127.0.0.9'))
    t.is_(c.reply()[0], 220, 'unblocked client is served again')
    c.close()

    # reload: a failing init keeps the old generation
    s.sections['plugin testhooks']['fail_init'] = '1'
    s.write_conf(s.sections)
    s.signal(signal.SIGHUP)
    t.ok(s.wait_log(r'reload: testhooks\.conf:7: fail_init requested'), 'reload init failure logged')
    t.ok(s.wait_log('reload failed; keeping the running configuration'), 'old generation kept')
    c = Raw(s.connect('smtp'))
    c.reply()
    code, _ = c.cmd('EHLO deny.hook.test')
    t.is_(code, 554, 'hooks still run after the failed reload')
    c.close()
    # reload where this plugin's init succeeds but a later plugin's
    # section is wrong: what init built is discarded, the running
    # generation answers as before (connect declined: a greeting)
    del s.sections['plugin testhooks']['fail_init']
    s.sections['plugin testhooks']['connect'] = 'deny'
    s.sections['server']['plugins'] = 'testhooks procinit'
    s.sections['plugin procinit'] = {'bogus': '1'}
    s.write_conf(s.sections)
    s.signal(signal.SIGHUP)
    t.ok(s.wait_log(r"reload: \S+:\d+: unknown key 'bogus' in \[plugin procinit\]"),
         'the later plugin\'s unknown key is refused with file:line')
    t.ok(wait_until(lambda: 'init localhost deny\ndiscard deny' in recorded()),
         'the generation built for the reload was discarded, never committed')
    t.ok('commit deny' not in recorded(), 'and never committed')
    c = Raw(s.connect('smtp'))
    t.is_(c.reply()[0], 220, 'the running generation still declines connect')
    c.close()
    del s.sections['plugin procinit']
    del s.sections['plugin testhooks']['connect']
    # reload without the plugin: fini, and the hooks stop
    s.sections['server']['plugins'] = ''
    s.write_conf(s.sections)
    s.signal(signal.SIGHUP)
    t.ok(s.wait_log('reloaded configuration, generation 1'), 'reloaded without the plugin')
    t.ok(wait_until(lambda: 'fini -' in recorded()), 'fini ran for the removed plugin')
    code = None
    for attempt in range(50):
        c = Raw(s.connect('smtp'))
        c.reply()
        code, _ = c.cmd('EHLO deny.hook.test')
        c.close()
        if code == 250:
            break
    t.is_(code, 250, 'new sessions run without the plugin')

# yh_spawn outside a delivery, from the data hook of an SMTP worker: no
# placeholders, no YUBIN_FROM, the wait status back, bad requests refused
with Server(accounts={'alice': 'pw'}, start=False,
            conf=conf('testhooks', {'server': {'hook_timeout': '20s'}})) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    rec = os.path.join(s.tmp, 'record')
    open(rec, 'w').close()
    os.chmod(rec, 0o666)
    s.sections['plugin testhooks'] = {'record': rec}
    s.write_conf(s.sections)
    s.start()
    with s.smtp() as c:
        c.sendmail('x@example.org', ['alice@localhost'],
                   'X-Test-Spawn: yes\r\nSubject: spawn\r\n\r\nbody\r\n')

    def spawned():
        with open(rec) as f:
            return [l.rstrip('\n')[6:] for l in f if l.startswith('spawn ')]
    t.ok(wait_until(lambda: len(spawned()) == 6), 'six yh_spawn calls recorded')
    t.is_(spawned(), ['/bin/echo FROM_ADDRESS MAILFILE_PATH r=0 status=0', 'env r=0 status=0',
                      '/bin/false r=0 status=256', '"/bin/echo unbalanced r=-1 status=-1',
                      'bin/echo relative r=-1 status=-1', 'nosize r=-1'],
          'waited: 0 and the wait status; a bad command or no .size: -1')
    t.ok(s.wait_log(r'plugin=testhooks program=/bin/echo output: FROM_ADDRESS MAILFILE_PATH'),
         'without a delivery the placeholders stay as written')
    envlines = re.findall(r'program=/usr/bin/env output: (\w+)=(.*)', s.log())
    t.is_(dict(envlines), {'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': '/', 'LANG': 'C.UTF-8',
                           'YUBIN_CONF': s.conf_path},
          'a clean environment: PATH, HOME the cwd, LANG, YUBIN_CONF; no YUBIN_FROM')
    t.ok(s.wait_log(r'testhooks-spawn: program=/bin/false exit status 1'), 'the status is logged')
    t.ok(s.wait_log(r'testhooks-spawn: the command is empty, has an unbalanced quote or more '
                    r'than 64 words; not run'), 'an unbalanced quote: logged, not run')
    t.ok(s.wait_log(r'testhooks-spawn: program=bin/echo: a relative path'), 'a relative path: refused')
    t.ok(s.wait_log(r'plugin=testhooks yh_spawn: no request \(size not set\)'),
         'a request without .size: refused')
    t.ok(s.wait_mail('alice', 1), 'the message is still accepted and stored')

with Server(conf=conf('testhooks', {'plugin testhooks': {'connect': 'deny'}})) as s:
    c = Raw(s.connect('smtp'))
    code, text = c.reply()
    t.is_((code, text[:9]), (554, '554 5.7.9'), 'connect deny refuses the greeting')
    t.is_(c.line(), None, 'and closes')
    c.close()

t.done()
