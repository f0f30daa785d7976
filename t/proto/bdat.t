#!/usr/bin/env python3
"""CHUNKING / BDAT (RFC 3030) in the SMTP server: one chunk and several
(a CRLF cut across two chunks, a line across three), no dot-unstuffing,
pipelined chunks, BDAT 0 LAST, the refusals (before MAIL, without RCPT,
after a refused chunk, DATA and RCPT after BDAT) each read the chunk first
so the session stays in step, a malformed size closes the session (its
chunk's end is unknown), the size limit, bare CR and LF refused as in
DATA, a client gone inside a chunk, and the data hook of a plugin."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from smtp_lib import (Server, TAP, Session, conf, expect, message, lf,  # noqa: E402
                      received_split, count_accepted, queued_id)
from yubintest import BUILD, wait_until  # noqa: E402

t = TAP()
LIMIT = 20000       # smtp.max_message_size here


def bdat(data, last=False):
    return b'BDAT %d%s\r\n' % (len(data), b' LAST' if last else b'') + data


def open_txn(c, rcpt='alice@localhost'):
    c.ehlo()
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0', 'MAIL')
    return c.cmd('RCPT TO:<%s>' % rcpt)


def stored(s, account, qid):
    """The stored message of ACCOUNT queued as QID, below its Received."""
    for m in s.mails(account):
        if qid and (b' id ' + qid.encode()) in m:
            return received_split(m)[1]
    return None


with Server(conf=conf({'smtp': {'max_message_size': str(LIMIT)}}),
            accounts={'alice': 'pw-alice', 'bob': 'pw-bob'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-4000:]))

    # 1. EHLO offers CHUNKING (and not BINARYMIME: the queue stores text)
    c = Session(s)
    code, text = c.ehlo()
    t.ok(code == 250 and '250-CHUNKING' in text.split('\n'), 'EHLO offers CHUNKING')
    t.ok('BINARYMIME' not in text, 'and not BINARYMIME')

    # 2. one chunk, LAST: stored byte for byte (LF line ends)
    m = message('one chunk', body='line one\r\nline two\r\n')
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0', 'MAIL')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 250, '2.1.5', 'RCPT')
    c.send(bdat(m, last=True))
    r = c.reply()
    expect(t, r, 250, '2.0.0', 'BDAT LAST: queued', text='queued as')
    q1 = queued_id(r)
    t.ok(wait_until(lambda: stored(s, 'alice', q1) is not None), 'delivered')
    t.is_(stored(s, 'alice', q1), lf(m), 'one chunk stored byte-exact')

    # 3. several chunks: a CRLF cut between CR and LF, a line across three
    #    chunks, running octet counts in the replies
    m = message('several', body='first line\r\n' + 'x' * 50 + '\r\nlast\r\n')
    cut1 = m.index(b'\r\n\r\n') + 1          # chunk 1 ends with the header's CR
    parts = [m[:cut1], m[cut1:cut1 + 10], m[cut1 + 10:cut1 + 30], m[cut1 + 30:]]
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0', 'MAIL')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 250, '2.1.5', 'RCPT')
    n = 0
    for i, p in enumerate(parts[:-1]):
        c.send(bdat(p))
        n += len(p)
        expect(t, c.reply(), 250, '2.0.0', 'chunk %d: 250 with the octets so far' % (i + 1),
               text=r'\b%d octets' % n)
    c.send(bdat(parts[-1], last=True))
    r = c.reply()
    expect(t, r, 250, '2.0.0', 'last chunk: queued', text='queued as')
    q2 = queued_id(r)
    t.ok(wait_until(lambda: stored(s, 'alice', q2) is not None), 'delivered')
    t.is_(stored(s, 'alice', q2), lf(m), 'CRLF across chunks becomes one LF, byte-exact')

    # 4. lines with a leading dot are stored as sent: BDAT has no stuffing
    m = message('dots', body='.\r\n..\r\n.hidden\r\nend\r\n')
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0', 'MAIL')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 250, '2.1.5', 'RCPT')
    c.send(bdat(m, last=True))
    r = c.reply()
    expect(t, r, 250, '2.0.0', 'message with dot lines queued')
    q3 = queued_id(r)
    t.ok(wait_until(lambda: stored(s, 'alice', q3) is not None), 'delivered')
    t.ok(stored(s, 'alice', q3) is not None and
         stored(s, 'alice', q3).endswith(b'\n\n.\n..\n.hidden\nend\n'),
         'dot lines stored as sent (no un-stuffing)')

    # 5. a whole transaction pipelined in one send, ending in BDAT 0 LAST
    m = message('pipelined', to='bob@localhost')
    c.send(b'MAIL FROM:<sender@example.org>\r\nRCPT TO:<bob@localhost>\r\n' +
           bdat(m[:7]) + bdat(m[7:]) + b'BDAT 0 LAST\r\nNOOP\r\n')
    expect(t, c.reply(), 250, '2.1.0', 'pipelined MAIL')
    expect(t, c.reply(), 250, '2.1.5', 'pipelined RCPT')
    expect(t, c.reply(), 250, '2.0.0', 'pipelined chunk 1', text=r'\b7 octets')
    expect(t, c.reply(), 250, '2.0.0', 'pipelined chunk 2', text=r'\b%d octets' % len(m))
    r = c.reply()
    expect(t, r, 250, '2.0.0', 'BDAT 0 LAST ends the message', text='queued as')
    expect(t, c.reply(), 250, '2.0.0', 'NOOP after it answered in order')
    q4 = queued_id(r)
    t.ok(wait_until(lambda: stored(s, 'bob', q4) is not None), 'pipelined message delivered')
    t.is_(stored(s, 'bob', q4), lf(m), 'and byte-exact')

    # 6. an unfinished last line gets its line end in the queue
    m = b'Subject: no end\r\n\r\nlast line without CRLF'
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0', 'MAIL')
    expect(t, c.cmd('RCPT TO:<bob@localhost>'), 250, '2.1.5', 'RCPT')
    c.send(bdat(m, last=True))
    r = c.reply()
    expect(t, r, 250, '2.0.0', 'message without a final CRLF queued')
    q5 = queued_id(r)
    t.ok(wait_until(lambda: stored(s, 'bob', q5) is not None), 'delivered')
    t.is_(stored(s, 'bob', q5), lf(m) + b'\n', 'stored with a final LF')
    c.cmd('QUIT')

    # 7. BDAT before MAIL: the chunk is read, then 503; its bytes never run
    #    as commands (they would say QUIT)
    c = Session(s)
    c.ehlo()
    c.send(bdat(b'RSET\r\nQUIT\r\n', last=True))
    expect(t, c.reply(), 503, '5.5.1', 'BDAT before MAIL: 503', text='need MAIL')
    expect(t, c.cmd('NOOP'), 250, '2.0.0', 'the chunk was read, not run: NOOP answered')

    # 8. BDAT without an accepted recipient
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0', 'MAIL')
    expect(t, c.cmd('RCPT TO:<nobody@localhost>'), 550, '5.1.1', 'RCPT refused')
    c.send(bdat(b'QUIT\r\n') + bdat(b'QUIT\r\n', last=True))
    expect(t, c.reply(), 503, '5.5.1', 'BDAT without RCPT: 503', text='need RCPT')
    expect(t, c.reply(), 503, '5.5.1', 'and the pipelined next one too')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 250, '2.1.5',
           'the transaction is still open for RCPT')
    c.send(bdat(message('late rcpt'), last=True))
    expect(t, c.reply(), 250, '2.0.0', 'then BDAT takes the message')

    # 9. DATA and RCPT after BDAT: 503; the BDAT transaction goes on
    open_txn(c)
    m = message('data after bdat')
    c.send(bdat(m[:20]))
    expect(t, c.reply(), 250, '2.0.0', 'first chunk')
    expect(t, c.cmd('DATA'), 503, '5.5.1', 'DATA after BDAT: 503', text='DATA after BDAT')
    expect(t, c.cmd('RCPT TO:<bob@localhost>'), 503, '5.5.1', 'RCPT after BDAT: 503',
           text='RCPT after BDAT')
    c.send(bdat(m[20:], last=True))
    r = c.reply()
    expect(t, r, 250, '2.0.0', 'the message still completes with BDAT LAST')
    q6 = queued_id(r)
    t.ok(wait_until(lambda: stored(s, 'alice', q6) is not None), 'delivered')
    t.is_(stored(s, 'alice', q6), lf(m), 'byte-exact, nothing of the refused commands in it')

    # 10. RSET in the middle drops the chunks; BDAT after LAST needs MAIL
    open_txn(c)
    c.send(bdat(b'Subject: dropped\r\n'))
    expect(t, c.reply(), 250, '2.0.0', 'chunk')
    expect(t, c.cmd('RSET'), 250, '2.0.0', 'RSET')
    c.send(bdat(b'x\r\n', last=True))
    expect(t, c.reply(), 503, '5.5.1', 'BDAT after RSET: 503', text='need MAIL')
    expect(t, c.cmd('NOOP'), 250, '2.0.0', 'still in step')
    # DATA and BDAT may share a session, not a transaction
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0', 'MAIL')
    expect(t, c.cmd('RCPT TO:<alice@localhost>'), 250, '2.1.5', 'RCPT')
    expect(t, c.cmd('DATA'), 354, '2.0.0', 'DATA in a later transaction')
    expect(t, c.data(message('by DATA')), 250, '2.0.0', 'queued by DATA')
    c.cmd('QUIT')

    # 11. malformed sizes: 501, then 421 and the connection closes
    for arg in ('-1', 'x', '99999999999999999999', '', '10 NOTLAST', '9007199254740993'):
        c = Session(s)
        c.ehlo()
        c.send(('BDAT %s\r\n' % arg).encode())
        expect(t, c.reply(), 501, '5.5.4', 'BDAT %r: 501' % arg, text='Syntax: BDAT')
        expect(t, c.reply(), 421, '4.5.0', 'BDAT %r: then 421' % arg,
               text='end of the chunk')
        t.ok(c.closed(), 'BDAT %r: connection closed' % arg)

    # 12. over smtp.max_message_size: the chunk is read and thrown away,
    #     552 at that chunk, the transaction is over; nothing delivered
    before = count_accepted(s)
    c = Session(s)
    open_txn(c)
    c.send(bdat(b'Subject: big\r\n\r\n' + b'y' * 98 + b'\r\n'))
    expect(t, c.reply(), 250, '2.0.0', 'first chunk under the limit')
    big = (b'z' * 998 + b'\r\n') * (LIMIT // 1000 + 5)
    c.send(bdat(big) + bdat(b'more\r\n', last=True) + b'NOOP\r\n')
    expect(t, c.reply(), 552, '5.3.4', 'chunk past the limit: 552', text='too big')
    expect(t, c.reply(), 503, '5.5.1', 'the pipelined chunk after it: 503')
    expect(t, c.reply(), 250, '2.0.0', 'the pipelined NOOP: in step after 552')
    expect(t, c.cmd('MAIL FROM:<sender@example.org>'), 250, '2.1.0',
           'a new transaction may start')
    c.cmd('RSET')
    # one chunk that alone is too big, declared LAST
    open_txn(c)
    c.send(bdat(big, last=True))
    expect(t, c.reply(), 552, '5.3.4', 'one chunk past the limit: 552')
    expect(t, c.cmd('NOOP'), 250, '2.0.0', 'server still serving')
    c.cmd('QUIT')
    t.is_(count_accepted(s), before, 'nothing over the limit was accepted')

    # 13. bare LF, bare CR: refused as DATA refuses them
    for name, body in (('bare LF', b'Subject: lf\r\n\r\none\ntwo\r\n'),
                       ('bare CR', b'Subject: cr\r\n\r\none\rtwo\r\n'),
                       ('CR at the very end', b'Subject: cr\r\n\r\none\r')):
        c = Session(s)
        open_txn(c)
        c.send(bdat(body, last=True))
        expect(t, c.reply(), 550, '5.6.0', '%s: 550' % name, text='bare CR or LF')
        expect(t, c.cmd('NOOP'), 250, '2.0.0', '%s: in step' % name)
        c.cmd('QUIT')
    c = Session(s)
    open_txn(c)
    c.send(bdat(b'Subject: lf\r\n\r\none\ntwo') + bdat(b'\r\n', last=True))
    expect(t, c.reply(), 550, '5.6.0', 'bare LF: refused at its chunk')
    expect(t, c.reply(), 503, '5.5.1', 'the chunk after it: 503')
    c.cmd('QUIT')
    t.is_(count_accepted(s), before, 'no bare CR/LF message accepted')

    # 14. a client gone inside a chunk: nothing queued, the next one served
    c = Session(s)
    open_txn(c)
    c.send(b'BDAT 5000 LAST\r\nSubject: cut\r\n\r\nonly part of it\r\n')
    c.close()
    t.ok(s.wait_log(r'lost connection after BDAT'), 'logged: lost connection after BDAT')
    c = Session(s)
    open_txn(c, 'bob@localhost')
    m = message('after the cut', to='bob@localhost')
    c.send(bdat(m, last=True))
    r = c.reply()
    expect(t, r, 250, '2.0.0', 'the next client is served')
    q7 = queued_id(r)
    c.cmd('QUIT')
    t.ok(wait_until(lambda: stored(s, 'bob', q7) is not None), 'and its message delivered')
    t.ok(not any(b'only part of it' in x for x in s.mails('alice') + s.mails('bob')),
         'the cut message was never delivered')
    t.ok(wait_until(lambda: s.queue_files() == []), 'no queue file left behind')
    t.is_(count_accepted(s), 9, 'accepted: the 9 messages answered "queued", no other')

# 15. a plugin's data hook sees a BDAT message as it sees a DATA one
PDIR = os.path.join(BUILD, 't', 'plugin')
with Server(accounts={'alice': 'pw'},
            conf=conf({'server': {'plugin_dir': PDIR, 'plugins': 'testhooks',
                                  'hook_timeout': '2s'}})) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    c = Session(s)
    open_txn(c)
    m = b'Subject: refused\r\nX-Test-Data: deny\r\n\r\nbody\r\n'
    c.send(bdat(m[:10]) + bdat(m[10:], last=True))
    expect(t, c.reply(), 250, '2.0.0', 'hook: first chunk')
    expect(t, c.reply(), 554, '5.7.9', 'the data hook refuses at the last chunk',
           text='testhooks says deny')
    open_txn(c)
    m = b'Subject: taken\r\nX-Test-Data: declined\r\n\r\nbody\r\n'
    c.send(bdat(m, last=True))
    r = c.reply()
    expect(t, r, 250, '2.0.0', 'declined: queued')
    c.cmd('QUIT')
    t.ok(s.wait_mail('alice', 1), 'delivered')
    t.ok(len(s.mails('alice')) == 1 and b'X-Test-Seen: taken' in s.mails('alice')[0],
         'with the header the data hook added')
    t.ok(b'refused' not in b''.join(s.mails('alice')), 'the refused one is not stored')

# 16. a chunk that stops coming: DATA's deadline cuts it (421 4.4.2)
with Server(conf=conf({'smtp': {'timeout_data': '2s'}}),
            accounts={'alice': 'pw-alice'}) as s:
    t.on_fail.append(lambda: t.diag(s.log()[-3000:]))
    c = Session(s)
    open_txn(c)
    c.send(b'BDAT 1000 LAST\r\nSubject: stalled\r\n')
    expect(t, c.reply(), 421, '4.4.2', 'a stalled chunk: 421 at the data deadline')
    t.ok(c.closed(), 'and the connection is closed')
    t.ok(s.wait_log(r'timeout after BDAT'), 'logged: timeout after BDAT')
    c = Session(s)
    open_txn(c)
    c.send(bdat(message('after the stall'), last=True))
    expect(t, c.reply(), 250, '2.0.0', 'the next client is served')
    c.cmd('QUIT')
    t.ok(s.wait_mail('alice', 1), 'its message delivered')
    t.ok(not any(b'stalled' in m for m in s.mails('alice')), 'the stalled one never')

t.done()
