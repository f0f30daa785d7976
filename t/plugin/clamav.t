#!/usr/bin/env python3
"""clamav plugin (DESIGN §13, SEEDS §20; F120, F121): every received message
is scanned by clamd at the end of DATA.

A real clamd runs from a temporary folder with one test signature (an .ndb
body signature for the EICAR test string), on a Unix socket and a loopback
TCP port, StreamMaxLength 1M.  Skipped when clamd is not installed.
  A (Unix socket, keep = 1, notify, exempt 127.0.0.9): clean mail is
    stored; EICAR gets 554 5.7.1 naming the signature and is not stored;
    it is kept in HOME/viruslog/QUEUEID (0640); the notice goes to
    admin@localhost (To:) and the envelope recipient and sender (Cc:),
    naming the virus; an automatic message gets no notice; authenticated
    mail is scanned too; the exempt client's EICAR passes.
  B (TCP socket): EICAR 554, clean 250; a message past clamd's
    StreamMaxLength (max_size above it) gets 451 4.7.1.
  C (max_size = 512K): a message longer than that is scanned in its first
    512 KiB (EICAR past it passes, logged partial=1; EICAR inside it 554).
  D clamd stopped: 451 4.7.1, and a warning at start that PING failed;
    with on_error = accept the mail is stored (logged accept_unscanned).
  E a fake clamd (a Python server) that answers garbage, an answer too
    long, stalls past the timeout, or closes mid-stream: 451 4.7.1 each,
    and the daemon goes on serving (the next mail is taken).
  F bad values: yubind -t and a start fail naming FILE:LINE and the key."""

import email
import os
import re
import shutil
import signal
import smtplib
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from yubintest import Server, TAP, binary, free_port, send_authed, wait_until  # noqa: E402

CLAMD = shutil.which('clamd') or '/usr/sbin/clamd'
if not os.access(CLAMD, os.X_OK):
    print('1..0 # SKIP clamd is not installed (apt-get install clamav-daemon)')
    sys.exit(0)

t = TAP()
EICAR = r'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
SIG = 'Yubin.Test.EICAR'
ACCOUNTS = {'alice': 'pw', 'bob': 'pw', 'admin': 'pw'}


class Clamd:
    """clamd in the foreground from a temporary folder, one signature."""

    def __init__(self, stream_max='1M'):
        self.dir = tempfile.mkdtemp(prefix='yubin-clamd-')
        os.chmod(self.dir, 0o755)       # the server user reaches the socket
        db = os.path.join(self.dir, 'db')
        os.mkdir(db)
        with open(os.path.join(db, 'yubintest.ndb'), 'w') as f:
            f.write('%s:0:*:%s\n' % (SIG, EICAR.encode().hex()))
        os.mkdir(os.path.join(self.dir, 'tmp'))
        self.sock = os.path.join(self.dir, 'clamd.sock')
        self.port = free_port()
        self.conf = os.path.join(self.dir, 'clamd.conf')
        with open(self.conf, 'w') as f:
            f.write('\n'.join([
                'Foreground yes',
                'LocalSocket %s' % self.sock,
                'LocalSocketMode 666',
                'TCPSocket %d' % self.port,
                'TCPAddr 127.0.0.1',
                'DatabaseDirectory %s' % db,
                'TemporaryDirectory %s' % os.path.join(self.dir, 'tmp'),
                'LogFile %s' % os.path.join(self.dir, 'clamd.log'),
                'PidFile %s' % os.path.join(self.dir, 'clamd.pid'),
                'StreamMaxLength %s' % stream_max,
                'Bytecode no',
                '']))
        self.proc = None

    def start(self, timeout=60):
        self.out = open(os.path.join(self.dir, 'clamd.out'), 'ab')
        self.proc = subprocess.Popen([CLAMD, '--config-file=%s' % self.conf],
                                     stdout=self.out, stderr=self.out)
        return wait_until(lambda: self.proc.poll() is None and self.ping(), timeout,
                          step=0.1)

    def ping(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(self.sock)
            s.sendall(b'zPING\0')
            return s.recv(64).startswith(b'PONG')
        except OSError:
            return False
        finally:
            s.close()

    def log(self):
        out = ''
        for name in ('clamd.out', 'clamd.log'):
            try:
                with open(os.path.join(self.dir, name), errors='replace') as f:
                    out += f.read()
            except OSError:
                pass
        return out

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class FakeClamd:
    """A clamd that misbehaves as self.mode says, on a loopback TCP port:
    'ok' (answers stream: OK), 'garbage', 'long' (an answer past the
    plugin's bound, no NUL), 'stall' (reads it all, never answers),
    'close' (closes after 10000 bytes of the stream).  PING gets PONG."""

    def __init__(self):
        self.mode = 'ok'
        self.closed = False
        self.served = []
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _read(c, buf, n):
        while len(buf) < n:
            d = c.recv(65536)
            if not d:
                return None
            buf += d
        return buf

    def _serve(self, c):
        mode = self.mode
        c.settimeout(60)
        try:
            buf = b''
            while b'\0' not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            cmd, _, buf = buf.partition(b'\0')
            if cmd == b'zPING':
                c.sendall(b'PONG\0')
                return
            self.served.append(mode)
            total = 0
            while True:
                buf = self._read(c, buf, 4)
                if buf is None:
                    return
                n = int.from_bytes(buf[:4], 'big')
                buf = buf[4:]
                if n == 0:
                    break
                if mode == 'close' and total >= 10000:
                    return
                buf = self._read(c, buf, n)
                if buf is None:
                    return
                buf = buf[n:]
                total += n
            if mode == 'ok':
                c.sendall(b'stream: OK\0')
            elif mode == 'garbage':
                c.sendall(b'\x01\xffhello, world\0')
            elif mode == 'long':
                c.sendall(b'stream: ' + b'A' * 5000)
                time.sleep(5)
            elif mode == 'stall':
                c.settimeout(1)
                while not self.closed:
                    try:
                        if c.recv(4096) == b'':
                            break
                    except socket.timeout:
                        continue
        except OSError:
            return
        finally:
            c.close()

    def close(self):
        self.closed = True
        self.lsock.close()


def conf(**kv):
    plug = {'socket': clamd.sock, 'keep': '1', 'exempt': '127.0.0.9',
            'notify': 'admin@localhost,&RCV,&SND', 'timeout': '10s'}
    plug.update(kv)
    return {'server': {'plugins': 'relay quota clamav'},
            'smtp': {'auth_fail_delay': '0', 'auth_penalty_base': '0'},
            'plugin clamav': plug}


def msg(subject, body='hello\r\n', extra=''):
    return ('From: Bob <bob@localhost>\r\nTo: Alice <alice@localhost>\r\n%s'
            'Subject: %s\r\n\r\n%s' % (extra, subject, body)).encode()


def send(s, body, sender='bob@localhost', rcpts=('alice@localhost',), source=None):
    """(code, text) of the DATA reply (250 when taken)."""
    c = s.smtp(source=source, timeout=60)
    try:
        c.ehlo('client.test')
        c.sendmail(sender, list(rcpts), body)
        return (250, '')
    except smtplib.SMTPDataError as e:
        return (e.smtp_code, e.smtp_error.decode(errors='replace'))
    finally:
        try:
            c.quit()
        except (smtplib.SMTPException, OSError):
            pass


def restart(s, **kv):
    s.stop()
    s.write_conf(dict(s.sections, **{'plugin clamav': conf(**kv)['plugin clamav']}))
    s.start()


def big(size, eicar_at=None):
    """A message body of about SIZE bytes of 76-character lines, with the
    EICAR line after EICAR_AT bytes when given."""
    line = ('y' * 76 + '\r\n')
    n = size // len(line)
    lines = [line] * n
    if eicar_at is not None:
        lines.insert(eicar_at // len(line), EICAR + '\r\n')
    return ''.join(lines)


def refused(r, code, enh, name, pattern=None):
    good = r[0] == code and r[1].startswith(enh + ' ') and (
        pattern is None or re.search(pattern, r[1]) is not None)
    if not t.ok(good, name):
        t.diag('got %r' % (r,))
    return good


clamd = Clamd()
if not clamd.start():
    log = clamd.log()
    clamd.cleanup()
    print('1..0 # SKIP clamd did not start: %s' % log.strip().replace('\n', ' | ')[-300:])
    sys.exit(0)

s = Server(conf=conf(), accounts=ACCOUNTS, tls=False, start=False)
fake = None
try:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))
    s.start()
    # ---- A: Unix socket ---------------------------------------------------
    t.is_(send(s, msg('clean')), (250, ''), 'clean mail: taken')
    t.ok(s.wait_mail('alice', 1), 'and stored')
    t.ok(s.wait_log(r'plugin=clamav clamav result=clean client=127\.0\.0\.1 '
                    r'from=<bob@localhost> size=\d+ scanned=\d+ ms=\d+'),
         'one log line: result, client, sender, size, bytes scanned, ms')

    r = send(s, msg('eicar', 'look:\r\n' + EICAR + '\r\n'))
    refused(r, 554, '5.7.1', 'EICAR: 554 5.7.1 naming the signature',
            re.escape(SIG))
    t.ok(s.wait_log(r'([0-9A-F]+): plugin=clamav clamav result=infected signature=%s\S* '
                    r'action=reject client=127\.0\.0\.1 from=<bob@localhost> .* '
                    r'kept=viruslog/[0-9A-F]+ notice=[0-9A-F]+\(3_rcpt\)' % re.escape(SIG)),
         'logged: infected, signature, kept, notice with 3 recipients')
    m = re.search(r'([0-9A-F]+): plugin=clamav clamav result=infected', s.log())
    qid = m.group(1) if m else 'none'
    vpath = os.path.join(s.home, 'viruslog', qid)
    t.ok(os.path.isfile(vpath) and not os.path.islink(vpath),
         'keep: the message is in HOME/viruslog/QUEUEID')
    if os.path.isfile(vpath):
        st = os.stat(vpath)
        t.is_(stat.S_IMODE(st.st_mode), 0o640, 'keep: mode 0640')
        with open(vpath, 'rb') as f:
            kept = f.read()
        t.ok(EICAR.encode() in kept and b'Subject: eicar' in kept,
             'keep: the whole message')
    else:
        t.ok(False, 'keep: mode 0640')
        t.ok(False, 'keep: the whole message')

    t.ok(s.wait_mail('admin', 1), 'notice: delivered to admin@localhost')
    notice = email.message_from_bytes(s.mails('admin')[0]) if s.mails('admin') else None
    t.is_(notice and notice['To'], '<admin@localhost>', 'notice: the first address in To:')
    cc = notice and re.sub(r'\s+', ' ', notice['Cc'] or '')
    t.is_(cc, '<alice@localhost>, <bob@localhost>',
          'notice: &RCV and &SND in Cc:, in order')
    t.like(notice and notice['Subject'], re.escape(SIG), 'notice: Subject names the virus')
    t.is_(notice and notice['X-Yubin-Notice'], 'clamav', 'notice: marked')
    t.is_(notice and notice['Auto-Submitted'], 'auto-generated', 'notice: auto-generated')
    t.like(notice and notice['Return-Path'], r'<postmaster@localhost>',
           'notice: envelope sender is notify_from (postmaster@server.domain)')
    body = notice.get_payload() if notice else ''
    t.ok('Client:      127.0.0.1 (HELO client.test)' in body and
         'Sender:      <bob@localhost>' in body and
         'Recipients:  <alice@localhost>' in body and ('Queue id:    ' + qid) in body,
         'notice: body gives client, envelope and queue id')
    t.ok(s.wait_mail('alice', 2) and s.wait_mail('bob', 1),
         'notice: Cc recipients get it too')
    t.is_(len([x for x in s.mails('alice') if EICAR.encode() in x]), 0,
          'the infected message was not stored')

    r = send(s, msg('auto', EICAR + '\r\n', extra='Auto-Submitted: auto-replied\r\n'))
    refused(r, 554, '5.7.1', 'automatic EICAR: refused too')
    t.ok(s.wait_log(r'result=infected .* notice=no\(automatic_message\)'),
         'but no notice for an automatic message (no loops)')

    r = send(s, msg('notice-like', EICAR + '\r\n', extra='X-Yubin-Notice: clamav\r\n'))
    refused(r, 554, '5.7.1', 'EICAR marked as a notice: refused')
    t.ok(wait_until(lambda: len(re.findall(r'notice=no\(automatic_message\)', s.log())) >= 2),
         'and it makes no notice either')

    try:
        send_authed(s, 'alice@localhost', ['bob@localhost'], msg('authed', EICAR + '\r\n'),
                    user='alice', password='pw')
        r = (250, '')
    except smtplib.SMTPDataError as e:
        r = (e.smtp_code, e.smtp_error.decode(errors='replace'))
    refused(r, 554, '5.7.1', 'authenticated mail is scanned too')

    r = send(s, msg('exempt', EICAR + '\r\n'), source='127.0.0.9')
    t.is_(r, (250, ''), 'exempt client 127.0.0.9: EICAR passes unscanned')
    t.ok(s.wait_log(r'clamav result=skipped reason=exempt client=127\.0\.0\.9'),
         'logged as skipped')
    t.ok(wait_until(lambda: any(EICAR.encode() in x for x in s.mails('alice'))),
         'and it is stored')

    # ---- B: TCP socket ----------------------------------------------------
    restart(s, socket='127.0.0.1:%d' % clamd.port, notify='')
    refused(send(s, msg('tcp eicar', EICAR + '\r\n')), 554, '5.7.1',
            'TCP socket: EICAR 554 5.7.1', re.escape(SIG))
    t.is_(send(s, msg('tcp clean')), (250, ''), 'TCP socket: clean mail taken')
    r = send(s, msg('too big for clamd', big(1200 * 1024)))
    refused(r, 451, '4.7.1', 'past clamd StreamMaxLength (max_size above it): 451 4.7.1')
    t.ok(s.wait_log(r'clamav result=(error|fail) action=tempfail'),
         'logged as a tempfail with the reason')

    # ---- C: max_size below StreamMaxLength ----------------------------------
    restart(s, max_size='512K', notify='')
    r = send(s, msg('late eicar', big(800 * 1024, eicar_at=700 * 1024)))
    t.is_(r, (250, ''), 'max_size 512K: EICAR after 700 KiB is not seen (first 512 KiB)')
    t.ok(s.wait_log(r'clamav result=clean .* scanned=524288 partial=1'),
         'logged: scanned=524288 partial=1')
    refused(send(s, msg('early eicar', big(800 * 1024, eicar_at=1000))), 554, '5.7.1',
            'max_size 512K: EICAR in the first bytes: 554')

    # ---- D: clamd down ------------------------------------------------------
    clamd.stop()
    refused(send(s, msg('clamd down')), 451, '4.7.1', 'clamd stopped: 451 4.7.1')
    t.ok(s.wait_log(r'clamav result=fail action=tempfail .* why="connect'),
         'logged: connect failed, tempfail')
    restart(s, on_error='accept', notify='')
    t.ok(s.wait_log(r'clamav clamd=\S+ does not answer PING'),
         'start: a warning that clamd does not answer PING (start not refused)')
    n = len(s.mails('alice'))
    t.is_(send(s, msg('accepted unscanned')), (250, ''), 'on_error = accept: taken')
    t.ok(s.wait_mail('alice', n + 1), 'and stored')
    t.ok(s.wait_log(r'clamav result=fail action=accept_unscanned'),
         'logged as accept_unscanned')

    # ---- E: a clamd that misbehaves ------------------------------------------
    fake = FakeClamd()
    restart(s, socket='127.0.0.1:%d' % fake.port, timeout='2s', notify='')
    for mode, body in (('garbage', 'x\r\n'), ('long', 'x\r\n'), ('stall', 'x\r\n'),
                       ('close', big(300 * 1024))):
        fake.mode = mode
        t0 = time.time()
        refused(send(s, msg(mode, body)), 451, '4.7.1', 'fake clamd %s: 451 4.7.1' % mode)
        if mode == 'stall':
            t.ok(time.time() - t0 < 20, 'stall: the timeout (2s) ended the wait')
        fake.mode = 'ok'
        t.is_(send(s, msg('after ' + mode)), (250, ''),
              'after %s: the next mail is taken' % mode)
        t.ok(s.proc.poll() is None, 'after %s: yubind is running' % mode)
    t.like(s.log(), r'result=fail action=tempfail .*why="unexpected reply',
           'garbage: logged as an unexpected reply')
    t.like(s.log(), r'why="answer too long', 'long answer: logged as too long')
    t.like(s.log(), r'why="read: timed out', 'stall: logged as timed out')
finally:
    s.cleanup()
    clamd.cleanup()
    if fake:
        fake.close()

# ---- F: bad values name FILE:LINE and the key ---------------------------------
BAD = [
    ({'socket': 'run/clamd.ctl'}, 'socket'),
    ({'socket': '127.0.0.1:99999'}, 'socket'),
    ({'socket': '::1:3310'}, 'socket'),
    ({'on_error': 'maybe'}, 'on_error'),
    ({'notify': 'admin@localhost, &XX'}, 'notify'),
    ({'notify': 'not-an-address'}, 'notify'),
    ({'notify_from': 'nobody'}, 'notify_from'),
    ({'exempt': '10.0.0.0/33'}, 'exempt'),
    ({'timeout': 'soon'}, 'timeout'),
    ({'timeout': '0'}, 'timeout'),
    ({'max_size': '10'}, 'max_size'),
    ({'keep': 'perhaps'}, 'keep'),
    ({'keep_max': '-1'}, 'keep_max'),
    ({'sokcet': '/tmp/x'}, 'sokcet'),
]
clamd = Clamd()     # not started: only its paths
for kv, key in BAD:
    s = Server(conf=conf(**kv), accounts={}, tls=False, start=False)
    r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True,
                       text=True)
    with open(s.conf_path) as f:
        lines = f.read().split('\n')
    line = next(i + 1 for i, l in enumerate(lines) if l.startswith(key + ' = '))
    label = ', '.join('%s=%s' % kv_ for kv_ in kv.items())
    t.is_(r.returncode, 1, '%s: yubind -t fails' % label)
    if not t.like(r.stderr, r'%s:%d: .*%s' % (re.escape(s.conf_path), line, key),
                  '%s: names yubin.conf:%d and the key' % (label, line)):
        t.diag(r.stderr)
    if key == 'socket' and kv['socket'] == 'run/clamd.ctl':
        try:
            p = subprocess.run([binary('yubind'), '-c', s.conf_path, '-f'],
                               capture_output=True, text=True, timeout=30)
            t.is_(p.returncode, 1, 'start with a bad socket: refused (exit 1)')
            t.like(p.stderr, r'%s:%d: .*socket' % (re.escape(s.conf_path), line),
                   'start: the error names FILE:LINE and the key')
        except subprocess.TimeoutExpired:
            t.ok(False, 'start with a bad socket: refused (exit 1)')
    s.cleanup()

s = Server(conf=conf(), accounts={}, tls=False, start=False)
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'], capture_output=True, text=True)
s.cleanup()
clamd.cleanup()
t.is_(r.returncode, 0, 'the test configuration itself passes yubind -t (%s)' % r.stderr.strip())

t.done()
