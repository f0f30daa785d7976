#!/usr/bin/env python3
"""yubind -t refuses configurations that would not do what they say, each
with exit 1 and file:line (or the file for TLS): policy keys whose plugin
is not loaded (server.plugins defaults to "relay quota"), keys nothing
reads yet, misspelt keys in a plugin's section, and what start-up would
refuse (TLS files, listen addresses) or delivery would (config.def)."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from yubintest import Server, TAP, binary  # noqa: E402

t = TAP()


def check(conf, files=None, defs=()):
    """yubind -t on the test defaults merged with CONF: (exit, stderr)."""
    s = Server(files=files, start=False)
    sections = {k: dict(v) for k, v in s.sections.items()}
    for sec, kv in conf.items():
        sections.setdefault(sec, {}).update(kv)
    s.write_conf(sections)
    argv = [binary('yubind'), '-c', s.conf_path, '-t']
    for d in defs:
        argv += ['-D', d]
    r = subprocess.run(argv, capture_output=True, text=True)
    out = (r.returncode, r.stdout, r.stderr, s.conf_path)
    s.cleanup()
    return out


def refused(conf, pattern, name, files=None):
    code, _, err, path = check(conf, files)
    t.is_(code, 1, name + ': exit 1')
    if not t.like(err, re.escape(path) + r':\d+: ' + pattern, name + ': file:line'):
        t.diag(err)


def accepted(conf, name, files=None):
    code, out, err, _ = check(conf, files)
    if not t.is_(code, 0, name):
        t.diag(err)


# item 9: keys read only by a plugin that is not loaded
accepted({}, 'the test defaults pass')
accepted({'smtp': {'relay': '1', 'address_permits_relay': '10.0.0.0/8',
                   'send_max_during_a_day': '10'}},
         'relay and quota keys pass with the default plugins')
NOPLUG = {'server': {'plugins': ''}}
for sec, key, val, plugin in (
        ('smtp', 'relay', '1', 'relay'),
        ('smtp', 'address_permits_relay', '10.0.0.0/8', 'relay'),
        ('smtp', 'pop_before_smtp', '1', 'relay'),
        ('smtp', 'reject_domain', 'spam.example', 'relay'),
        ('smtp', 'reject_mailaddress', 'a@spam.example', 'relay'),
        ('smtp', 'send_max_during_a_day', '10', 'quota'),
        ('server', 'mailbox_capacity_mail_count', '100', 'quota'),
        ('server', 'mailbox_capacity_mail_size', '10M', 'quota'),
        ('server', 'forward_address', 'a@example.org', 'forward'),
        ('server', 'mailing_list_from_kind', '1', 'ml'),
        ('server', 'mailing_list_to_kind', '1', 'ml'),
        ('server', 'mailing_list_mail_header_x_element', '1', 'ml'),
        ('server', 'mailing_list_public_level', '0', 'ml'),
        ('server', 'mailing_list_subject_header', '0', 'ml'),
        ('server', 'mailing_list_filter_string', 'x', 'ml')):
    conf = {'server': {'plugins': ''}}
    conf.setdefault(sec, {})[key] = val
    refused(conf, r'%s\.%s: only the %s plugin acts on it' % (sec, key, plugin),
            '%s.%s without %s' % (sec, key, plugin))
accepted({'server': {'plugins': ''}, 'smtp': {'relay': '0'}},
         'a plugin key at its default value passes')
accepted({'server': {'plugins': 'relay quota ml', 'mailing_list_to_kind': '1',
                      'mailing_list_public_level': '-1',
                      'mailing_list_filter_string': 'spam, ad'}},
         'the server-wide mailing_list_* keys pass with the ml plugin')

# item 10: keys nothing reads yet are refused, not ignored
for sec, key, val in (('smtp', 'use_dustbox', '1'), ('queue', 'scan_interval', '60')):
    refused({sec: {key: val}}, r'%s\.%s: not supported yet' % (sec, key),
            '%s.%s refused' % (sec, key))
with Server(start=False) as s:
    for kv in ('use_dustbox=1', 'dustbox=1'):
        r = s.ctl('account', 'set', 'postmaster', kv, check=False)
        t.is_(r.returncode, 1, 'config.def %s refused' % kv)
        t.like(r.stderr, r'config\.def:\d+: %s: not supported yet' % kv.split('=')[0],
               'config.def %s: file:line' % kv)

# item 11: each shipped plugin refuses a key it does not know
for plugin, key in (('relay', 'fiel'), ('quota', 'quota_full_tempfial'),
                    ('maildat', 'scan_limt'), ('exec', 'timout'),
                    ('forward', 'keep'), ('autoreply', 'perod')):
    conf = {'server': {'plugins': 'relay quota ' + plugin if plugin not in
                       ('relay', 'quota') else 'relay quota'},
            'plugin ' + plugin: {key: '1'}}
    refused(conf, r"unknown key '%s' in \[plugin %s\]" % (key, plugin),
            '[plugin %s] %s' % (plugin, key))
accepted({'server': {'plugins': 'relay quota maildat exec forward autoreply'},
          'plugin quota': {'quota_full_tempfail': '1'},
          'plugin exec': {'timeout': '5s'},
          'plugin autoreply': {'period': '1d'}},
         'known plugin keys pass', files={'mail.dat': ''})

# declared keys: the core checks every plugin's section with the parser of
# yubin.conf itself, one message form for every plugin, before init runs
ALL = 'relay quota maildat exec forward autoreply'
for plugin, key, value, why in (
        ('relay', 'fiel', '1', r"unknown key 'fiel' in \[plugin relay\], did you mean 'file'\?"),
        ('relay', 'trust_local_sender', 'perhaps',
         r'\[plugin relay\] trust_local_sender: expected a boolean \(1/0, true/false, yes/no, '
         r'on/off\), got "perhaps"'),
        ('quota', 'quota_full_tempfail', '2',
         r'\[plugin quota\] quota_full_tempfail: expected a boolean'),
        ('exec', 'timeout', '5x',
         r'\[plugin exec\] timeout: expected a duration \(a number with ms, s, m, h or d '
         r'suffix; a bare number is in seconds\), got "5x"'),
        ('exec', 'timeout', '0',
         r'\[plugin exec\] timeout: expected a duration from 1ms to 1d, got "0"'),
        ('exec', 'max_running', '5000',
         r'\[plugin exec\] max_running: expected an integer from 1 to 1024, got "5000"'),
        ('exec', 'output_max', '2G',
         r'\[plugin exec\] output_max: expected a size from 0 to 1M, got "2G"'),
        ('maildat', 'scan_limit', '12',
         r'\[plugin maildat\] scan_limit: expected a size from 1K to 64M, got "12"'),
        ('maildat', 'per_account', 'maybe',
         r'\[plugin maildat\] per_account: expected a boolean'),
        ('autoreply', 'period', '1y',
         r'\[plugin autoreply\] period: expected a duration'),
        ('autoreply', 'program_timeout', '500ms',
         r'\[plugin autoreply\] program_timeout: expected a duration from 1s to 1d, got "500ms"'),
        ('forward', 'anything', '1', r"unknown key 'anything' in \[plugin forward\]$")):
    refused({'server': {'plugins': ALL}, 'plugin ' + plugin: {key: value}}, why,
            '[plugin %s] %s = %s' % (plugin, key, value), files={'mail.dat': ''})
# every form the parser takes, for each type
accepted({'server': {'plugins': ALL},
          'plugin relay': {'trust_local_sender': 'No'},
          'plugin quota': {'quota_full_tempfail': 'on'},
          'plugin exec': {'timeout': '1500ms', 'kill_grace': '0', 'max_running': '3',
                          'output_max': '4K', 'stdin': 'yes'},
          'plugin maildat': {'scan_limit': '2M', 'exempt': '10.0.0.0/8, ::1 192.0.2.1',
                             'register_ttl': '1h'},
          'plugin autoreply': {'period': '0', 'program_timeout': '2m'}},
         'every form of every type passes', files={'mail.dat': ''})
# all the errors of one check are reported, not only the first plugin's
code, _, err, _ = check({'server': {'plugins': ALL},
                         'plugin exec': {'timeout': 'x'},
                         'plugin autoreply': {'perod': '1d'}}, files={'mail.dat': ''})
t.ok(code == 1 and 'timeout: expected a duration' in err and "unknown key 'perod'" in err,
     'errors of two plugins in one run of -t')

# item 12: what start-up would refuse, -t refuses too
code, _, err, _ = check({'server': {'tls_key': ''}})
t.is_(code, 1, 'tls_cert without tls_key: exit 1')
t.like(err, r'server\.tls_cert and server\.tls_key must both be set',
       'tls_cert without tls_key: says so')
code, _, err, _ = check({'server': {'tls_cert': '/nonexistent/cert.pem'}})
t.is_(code, 1, 'a tls_cert that does not exist: exit 1')
t.like(err, r'cannot load certificate /nonexistent/cert\.pem',
       'a tls_cert that does not exist: names the file')
code, _, err, _ = check({'server': {'tls_cert': '/etc/hostname'}})
t.is_(code, 1, 'a tls_cert that does not load: exit 1')
t.like(err, r'cannot load certificate /etc/hostname', 'and names the file')
refused({'smtp': {'listen': '*.*.*.*'}},
        r'smtp\.listen: "\*\.\*\.\*\.\*" is not "\*" or a numeric',
        'listen = *.*.*.*')
refused({'pop3': {'listen': 'localhost'}}, r'pop3\.listen: "localhost" is not',
        'pop3 listen = localhost')
accepted({'smtp': {'listen': '127.0.0.1, ::1'}}, 'numeric listen addresses pass')
s = Server(accounts={'alice': 'pw'}, start=False)
cdef = os.path.join(s.home, 'mailbox', 'alice', 'config.def')
with open(cdef, 'w') as f:
    f.write('send_max_during_a_day=5\nport=25\n')
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'],
                   capture_output=True, text=True)
t.is_(r.returncode, 1, 'a config.def with a server-only key: exit 1')
t.like(r.stderr, re.escape(cdef) + r":2: key 'port' cannot be set per account",
       'config.def: file:line')
with open(cdef, 'w') as f:
    f.write('send_max_during_a_day=5\n')
r = subprocess.run([binary('yubind'), '-c', s.conf_path, '-t'],
                   capture_output=True, text=True)
t.is_(r.returncode, 0, 'a good config.def passes')
s.cleanup()

t.done()
