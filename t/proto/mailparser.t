#!/usr/bin/env python3
# yubin-mailparser (F147): real message files in, parts out.  A file, a
# folder, a Maildir; decoding (quoted-printable, base64, RFC 2231 and
# RFC 2047 names), duplicates numbered, hostile names kept inside OUTDIR,
# malformed MIME (no closing boundary, bad base64) still split with a
# warning, a huge header refused, links never followed.
import os
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import TAP, binary

t = TAP()
tmp = tempfile.mkdtemp(prefix='yubin-mp-')
PROG = binary('yubin-mailparser')


def run(*args):
    r = subprocess.run([PROG] + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def tree(top):
    out = set()
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(d, n), top))
    return out


MULTI = (
    'From: a@example.org\r\n'
    'Subject: =?UTF-8?B?5pel5pys?=\r\n'
    'MIME-Version: 1.0\r\n'
    'Content-Type: multipart/mixed; boundary="==outer"\r\n'
    '\r\n'
    'preamble\r\n'
    '--==outer\r\n'
    'Content-Type: multipart/alternative; boundary=inner\r\n'
    '\r\n'
    '--inner\r\n'
    'Content-Type: text/plain; charset=utf-8\r\n'
    'Content-Transfer-Encoding: quoted-printable\r\n'
    '\r\n'
    'caf=C3=A9 soft=\r\n'
    'break\r\n'
    '--inner\r\n'
    'Content-Type: text/html\r\n'
    'Content-Transfer-Encoding: base64\r\n'
    '\r\n'
    'PHA+aGk8L3A+\r\n'
    '--inner--\r\n'
    '--==outer\r\n'
    'Content-Type: application/pdf\r\n'
    'Content-Disposition: attachment;\r\n'
    " filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf\r\n"
    'Content-Transfer-Encoding: base64\r\n'
    '\r\n'
    'JVBERi0xLjQK\r\n'
    '--==outer\r\n'
    'Content-Type: application/pdf; name="=?ISO-2022-JP?B?GyRCSnM5cBsoQg==?=.pdf"\r\n'
    'Content-Disposition: attachment\r\n'
    '\r\n'
    'second\r\n'
    '--==outer\r\n'
    'Content-Type: application/octet-stream\r\n'
    'Content-Disposition: attachment; filename="../../etc/passwd"\r\n'
    '\r\n'
    'root:x:0:0\r\n'
    '--==outer\r\n'
    'Content-Disposition: attachment; filename=".hidden"\r\n'
    '\r\n'
    'dot\r\n'
    '--==outer\r\n'
    'Content-Disposition: attachment; filename="headers.txt"\r\n'
    '\r\n'
    'not the headers\r\n'
    '--==outer--\r\n'
    'epilogue\r\n')

# 1: one file, every kind of part
src = write(os.path.join(tmp, 'in', 'msg1.eml'), MULTI)
out = os.path.join(tmp, 'out')
before = tree(tmp)
rc, so, se = run('-i', src, '-o', out)
t.is_(rc, 0, 'a well-formed message: exit 0')
t.is_(se, '', 'no warning')
d = os.path.join(out, 'msg1.eml')
t.ok(os.path.isdir(d), 'OUTDIR/NAME made')
t.is_(read(os.path.join(d, 'headers.txt')),
      MULTI.split('\r\n\r\n', 1)[0].encode() + b'\r\n', 'headers.txt is the header block')
t.is_(read(os.path.join(d, 'part1.txt')), 'café softbreak'.encode(), 'quoted-printable decoded')
t.is_(read(os.path.join(d, 'part2.html')), b'<p>hi</p>', 'base64 html decoded')
t.is_(read(os.path.join(d, '報告.pdf')), b'%PDF-1.4\n', 'RFC 2231 UTF-8 name, base64 body')
t.is_(read(os.path.join(d, '報告-2.pdf')), b'second', 'RFC 2047 ISO-2022-JP name; duplicate numbered')
t.is_(read(os.path.join(d, '___.._etc_passwd')), b'root:x:0:0', '../../etc/passwd stays inside')
t.is_(read(os.path.join(d, '_hidden')), b'dot', 'no leading dot')
t.is_(read(os.path.join(d, 'headers-2.txt')), b'not the headers', 'an attachment never replaces headers.txt')
after = tree(tmp)
t.is_(sorted(after - before - {'out'}), sorted(
    ['out/msg1.eml'] + ['out/msg1.eml/' + n for n in
                        ('headers.txt', 'part1.txt', 'part2.html', '報告.pdf', '報告-2.pdf',
                         '___.._etc_passwd', '_hidden', 'headers-2.txt', 'parts.txt')]),
    'nothing written anywhere else')
idx = read(os.path.join(d, 'parts.txt')).decode().splitlines()
t.is_(idx[0], '1\ttext/plain\tquoted-printable\t15\tpart1.txt', 'parts.txt line')
t.is_(len(idx), 7, 'parts.txt: seven parts')
t.like(so, r'msg1\.eml\tmsg1\.eml\n', 'stdout names the input and its folder')

# 2: the same message again: the folder exists and is not overwritten
rc, so, se = run('-i', src, '-o', out)
t.is_(rc, 2, 'an existing folder: exit 2')
t.like(se, r'msg1\.eml already exists in the output folder; not overwritten', 'says why')

# 3: a link planted as OUTDIR/NAME is not followed
victim = os.path.join(tmp, 'victim')
os.mkdir(victim)
src2 = write(os.path.join(tmp, 'in2', 'planted'), 'Subject: x\n\nbody\n')
os.symlink(victim, os.path.join(out, 'planted'))
rc, so, se = run('-i', src2, '-o', out)
t.is_(rc, 2, 'a planted link: exit 2')
t.is_(os.listdir(victim), [], 'nothing written through the link')

# 4: a Maildir: new/ and cur/, not tmp/
md = os.path.join(tmp, 'Maildir')
write(os.path.join(md, 'new', '1700000000.1.host,S=20'), 'Subject: n\n\nnew mail\n')
write(os.path.join(md, 'cur', '1700000001.2.host,S=20:2,S'), 'Subject: c\n\ncur mail\n')
write(os.path.join(md, 'tmp', '1700000002.3.host'), 'Subject: t\n\ntmp\n')
out2 = os.path.join(tmp, 'out2')
rc, so, se = run('-i', md, '-o', out2)
t.is_(rc, 0, 'a Maildir: exit 0')
t.is_(sorted(os.listdir(out2)), ['1700000000.1.host,S=20', '1700000001.2.host,S=20:2,S'],
      'new/ and cur/ split, tmp/ left alone')
t.is_(read(os.path.join(out2, '1700000000.1.host,S=20', 'part1.txt')), b'new mail\n',
      'a plain message is one text part')

# 5: a folder: files by name, dot files and links skipped, sub-folders not walked
fd = os.path.join(tmp, 'folder')
write(os.path.join(fd, 'a'), 'Subject: a\n\nA\n')
write(os.path.join(fd, '.skip'), 'Subject: s\n\nS\n')
write(os.path.join(fd, 'sub', 'deep'), 'Subject: d\n\nD\n')
os.symlink(os.path.join(fd, 'a'), os.path.join(fd, 'link'))
out3 = os.path.join(tmp, 'out3')
rc, so, se = run('-i', fd, '-o', out3)
t.is_(rc, 0, 'a folder: exit 0 (a link is skipped, not an error)')
t.is_(sorted(os.listdir(out3)), ['a'], 'only the regular file')
t.like(se, r'link: a symbolic link; skipped', 'the link is named')

# 6: malformed MIME: no closing boundary, bad base64
bad = write(os.path.join(tmp, 'in3', 'broken'),
            'Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n'
            'Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=x.bin\n\n'
            'aGVs*bG8=\n')
out4 = os.path.join(tmp, 'out4')
rc, so, se = run('-i', bad, '-o', out4)
t.is_(rc, 0, 'malformed MIME still splits: exit 0')
t.like(se, r'broken: warning: multipart without its closing boundary', 'warns: no closing boundary')
t.like(se, r'broken: warning: part 2: bad base64 \(1 characters not decoded\)', 'warns: bad base64')
t.is_(read(os.path.join(out4, 'broken', 'x.bin')), b'hello', 'the valid base64 decoded')
t.like(read(os.path.join(out4, 'broken', 'parts.txt')).decode(),
       r'warning: multipart without its closing boundary', 'warning kept in parts.txt')

# 7: a huge header block is refused, nothing made for it
huge = write(os.path.join(tmp, 'in4', 'huge'), 'X-Big: ' + 'a' * 300000 + '\n\nbody\n')
out5 = os.path.join(tmp, 'out5')
rc, so, se = run('-i', huge, '-o', out5)
t.is_(rc, 2, 'a huge header: exit 2')
t.like(se, r'huge: header block longer than 262144 bytes', 'says why')
t.is_(os.listdir(out5), [], 'no folder for it')

# 8: deep nesting is bounded
deep = ''.join('Content-Type: multipart/mixed; boundary="n%d"\n\n--n%d\n' % (i, i)
               for i in range(40)) + 'Content-Type: text/plain\n\nleaf\n'
src8 = write(os.path.join(tmp, 'in5', 'deep'), deep)
rc, so, se = run('-i', src8, '-o', os.path.join(tmp, 'out6'))
t.is_(rc, 0, 'deep nesting: exit 0')
t.like(se, r'MIME nesting deeper than 16', 'warns about the depth')

# 9: usage and input errors
for args, code, pat, why in (([], 1, r'^usage: yubin-mailparser -i FILE\|DIR -o OUTDIR\n$', 'no options'),
                             (['-i', src], 1, r'^usage:', 'no -o'),
                             (['-i', src, '-o', out, 'extra'], 1, r'^usage:', 'extra word'),
                             (['-i', os.path.join(tmp, 'missing'), '-o', out], 1,
                              r'missing: No such file or directory\n$', 'missing input'),
                             (['-i', src, '-o', os.path.join(src, 'x')], 2,
                              r'mkdir: Not a directory', 'OUTDIR under a file')):
    rc, so, se = run(*args)
    t.is_(rc, code, 'exit %d: %s' % (code, why))
    t.like(se, pat, 'message: %s' % why)

subprocess.run(['rm', '-rf', tmp])
t.done()
