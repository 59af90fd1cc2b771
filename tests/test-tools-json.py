#!/usr/bin/env python3
# test-tools-json.py POST-PATHS POST-POLICY POLICY-DIR: the --json output of
# post-paths and post-policy (TAP), parsed with python3's json and held to
# the schemas of docs/man/post-paths.1 and docs/man/post-policy.1.
#
# - post-policy --json explain, check, dump, files and options on the fixtures of
#   POLICY-DIR (tests/policy): the same facts as the text output;
# - post-paths --json lists the loopback with 127.0.0.1;
# - post-paths --json --monitor in a network namespace of its own
#   (unshare -n, root only; the namespace ends with the process) prints an
#   event a line for a link brought up, an address and an interface added
#   and a default route.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

paths_tool, policy_tool, policy_dir = sys.argv[1:4]
n = 0
failures = 0


def result(ok, description, details=''):
    global n, failures
    n += 1
    if ok:
        print(f'ok {n} - {description}')
    else:
        failures += 1
        print(f'not ok {n} - {description}')
        for line in str(details).splitlines():
            print(f'# {line}')


def skip(description, why):
    global n
    n += 1
    print(f'ok {n} # SKIP {description}: {why}')


def policy(directory, *args):
    env = dict(os.environ, POST_POLICY_PATH=os.path.join(policy_dir, directory))
    run = subprocess.run([policy_tool, '--json', *args], capture_output=True, text=True, env=env)
    try:
        document = json.loads(run.stdout)
    except ValueError as e:
        document = None
        run.stderr += f'\nnot JSON: {e}: {run.stdout!r}'
    return run.returncode, document, run.stderr


def types_ok(value, schema):
    """schema: a type, a tuple of types, a dict (an object with exactly
    these members) or a one-element list (an array of that)"""
    if isinstance(schema, dict):
        return (isinstance(value, dict) and set(value) == set(schema)
                and all(types_ok(value[k], s) for k, s in schema.items()))
    if isinstance(schema, list):
        return isinstance(value, list) and all(types_ok(v, schema[0]) for v in value)
    if schema is int and isinstance(value, bool):
        return False
    return isinstance(value, schema)


S, I, B, NONE = str, int, bool, type(None)
PATH_INFO = {'interface': (S, NONE), 'kind': S, 'mtu': I, 'metered': B, 'pvd': (S, NONE),
             'temporary': B}
CANDIDATE = {'candidate': S, 'rank': (I, NONE), 'removed': B, 'stack': (S, NONE),
             'remote': (S, NONE), 'local': (S, NONE), 'path': (dict, NONE), 'score': I,
             'reasons': [S], 'options': [S]}
EXPLAIN = {'uri': S, 'application': S, 'policy': {'rules': I, 'files': [S], 'problems': I},
           'candidates': [dict], 'kept': I}

print('1..10')

# 1: explain: the candidates in order, with their reasons, as the text says
rc, doc, err = policy('explain', 'explain', 'tcp://127.0.0.1:443')
ok = (rc == 0 and types_ok(doc, EXPLAIN) and all(types_ok(c, CANDIDATE) for c in doc['candidates'])
      and all(c['path'] is None or types_ok(c['path'], PATH_INFO) for c in doc['candidates']))
if ok:
    first = doc['candidates'][0]
    ok = (doc['kept'] == 1 and doc['policy']['rules'] == 5 and first['rank'] == 1
          and first['stack'] == 'tcp' and first['remote'] == '127.0.0.1:443' and first['score'] == 4
          and first['path']['kind'] == 'loopback'
          and any(r.startswith('set secure=prefer by rule web-prefers-secure (') for r in first['reasons']))
result(ok, 'post-policy --json explain: the ranked candidates, their reasons and paths', f'{rc} {doc} {err}')

# 2: explain with no candidate left: removed, rank null, exit 1
rc, doc, err = policy('explain', 'explain', 'tcp://127.0.0.1:23')
ok = (rc == 1 and types_ok(doc, EXPLAIN) and doc['kept'] == 0 and doc['candidates']
      and all(c['removed'] and c['rank'] is None for c in doc['candidates'])
      and any(r.startswith('removed: is a stack (prohibited by ') for r in doc['candidates'][0]['reasons']))
result(ok, 'post-policy --json explain: every candidate removed, exit 1', f'{rc} {doc} {err}')

# 3: explain -o and a rule's options: the effective options of the candidate
rc, doc, err = policy('settings', 'explain', 'tcp://127.0.0.1:80', '-o', 'tcp.user-timeout=5')
ok = rc == 0 and types_ok(doc, EXPLAIN) and 'tcp.user-timeout=uint32 5' in doc['candidates'][0]['options']
result(ok, 'post-policy --json explain -o: the candidate\'s options', f'{rc} {doc} {err}')

# 4: check, good and broken
rc, doc, err = policy('explain', 'check')
rc2, doc2, err2 = policy('broken', 'check')
schema = {'files': [S], 'rules': I, 'problems': [S], 'ok': B}
ok = (rc == 0 and types_ok(doc, schema) and doc['ok'] and doc['rules'] == 5 and len(doc['files']) == 3
      and rc2 == 1 and types_ok(doc2, schema) and not doc2['ok'] and len(doc2['problems']) == 5
      and any('tcp.user-timeout' in p for p in doc2['problems']))
result(ok, 'post-policy --json check: files, rules and problems; exit 1 on problems',
       f'{rc} {doc} {err}\n{rc2} {doc2} {err2}')

# 5: dump: the rules in order with origin, application and keys; a value
# with quotes and backslashes comes through (as written in the file)
rc, doc, err = policy('explain', 'dump')
rc2, doc2, err2 = policy('settings', 'dump')
rule = {'name': S, 'origin': S, 'only_for_application': (S, NONE), 'keys': [{'key': S, 'value': S}]}
schema = {'application': S, 'directories': [S], 'files': [S], 'problems': I, 'rules': [rule]}
ok = rc == 0 and types_ok(doc, schema) and rc2 == 0 and types_ok(doc2, schema)
if ok:
    names = [r['name'] for r in doc['rules']]
    telnet = doc['rules'][names.index('no-telnet')] if 'no-telnet' in names else None
    pinned = [r for r in doc['rules'] if r['only_for_application']]
    description = [k['value'] for k in doc2['rules'][0]['keys'] if k['key'] == 'description']
    ok = (len(names) == 5 and telnet is not None and telnet['origin'].endswith('/10-site.conf:10')
          and {'key': 'stacks', 'value': 'tcp:prohibit'} in telnet['keys']
          and [r['only_for_application'] for r in pinned] == ['org.example.Pinned']
          and description == ['Say "hi" to C:\\\\temp'])
result(ok, 'post-policy --json dump: the rules, their origin and keys', f'{rc} {doc} {err}\n{doc2}')

# 6: options: the configuration keys, and tcp.user-timeout of the tcp stack
rc, doc, err = policy('explain', 'options')
option = {'key': S, 'type': S, 'default': (S, NONE), 'blurb': S}
ok = (rc == 0 and isinstance(doc, dict) and set(doc) == {'configuration', 'stacks'}
      and types_ok(doc['configuration'], [{'key': S, 'values': S, 'default': S, 'blurb': S}]))
if ok:
    keys = {c['key']: c for c in doc['configuration']}
    stacks = {s['stack']: s['options'] for s in doc['stacks']}
    tcp = {o['key']: o for o in stacks.get('tcp', [])}
    timeout = tcp.get('tcp.user-timeout', {})
    ok = (keys.get('reliability', {}).get('default') == 'require'
          and keys.get('keep-alive-timeout', {}).get('values') == 'milliseconds, 0..86400000'
          and timeout.get('type') == 'u' and timeout.get('min') == 0 and timeout.get('max') == 4294967295
          and all(types_ok({k: v for k, v in o.items() if k not in ('min', 'max', 'choices')}, option)
                  for opts in stacks.values() for o in opts))
result(ok, 'post-policy --json options: configuration keys and stack options', f'{rc} {doc} {err}')

# 7: files: the directories (present or not) and the files loaded
rc, doc, err = policy('explain', 'files')
ok = (rc == 0 and types_ok(doc, {'directories': [{'path': S, 'present': B}], 'files': [S]})
      and [d['path'] for d in doc['directories']] == [os.path.join(policy_dir, 'explain')]
      and doc['directories'][0]['present'] and len(doc['files']) == 3
      and doc['files'][0].endswith('/10-site.conf'))
result(ok, 'post-policy --json files: the directories and the files loaded', f'{rc} {doc} {err}')

# 8: post-paths --json: the loopback with 127.0.0.1
run = subprocess.run([paths_tool, '--json'], capture_output=True, text=True)
interface = {'name': S, 'index': I, 'kind': S, 'link_type': (S, NONE), 'up': B, 'running': B,
             'mtu': I, 'metered': B}
address = {'address': S, 'family': S, 'prefix_length': I, 'interface': (S, NONE), 'flags': [S]}
route = {'family': S, 'gateway': (S, NONE), 'interface': (S, NONE), 'table': I, 'metric': I}
if run.returncode == 1 and 'netlink is not available' in run.stderr:
    skip('post-paths --json', 'netlink is not available here')
else:
    try:
        lines = run.stdout.splitlines()
        doc = json.loads(lines[0]) if len(lines) == 1 else None
    except ValueError:
        doc = None
    ok = (run.returncode == 0 and isinstance(doc, dict) and set(doc) == {'interfaces', 'default_routes', 'network'}
          and types_ok(doc['network'], {'monitor': (S, NONE), 'connectivity': S, 'metered': B})
          and doc['network']['connectivity'] in ('local', 'limited', 'portal', 'full')
          and types_ok(doc['interfaces'], [dict(interface, addresses=[address])])
          and types_ok(doc['default_routes'], [route])
          and any(i['kind'] == 'loopback' and any(a['address'] == '127.0.0.1' for a in i['addresses'])
                  for i in doc['interfaces']))
    result(ok, 'post-paths --json: one line, the interfaces with their addresses, the routes',
           run.stdout + run.stderr)

# 9-10: post-paths --json --monitor in a network namespace of its own
unshare, ip = shutil.which('unshare'), shutil.which('ip')
if os.geteuid() != 0 or unshare is None or ip is None:
    skip('post-paths --json --monitor', 'needs root, unshare and ip')
    skip('post-paths --json --monitor events', 'needs root, unshare and ip')
else:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'monitor.out')
        script = f'''
            "$0" --json --monitor >"{out}" 2>&1 & p=$!
            for i in $(seq 100); do [ -s "{out}" ] && break; sleep 0.1; done
            ip link set lo up && ip addr add 10.9.0.1/8 dev lo &&
            ip link add pj0 type veth peer name pj1 && ip route add default via 10.9.0.2 dev lo
            rc=$?
            for i in $(seq 100); do grep -q default-route-changed "{out}" && break; sleep 0.1; done
            kill $p; wait $p
            exit $rc
        '''
        run = subprocess.run([unshare, '-n', 'sh', '-c', script, paths_tool], capture_output=True,
                             text=True, timeout=60)
        with open(out, encoding='utf-8') as f:
            text = f.read()
        events = []
        try:
            lines = text.splitlines()
            first = json.loads(lines[0])
            events = [json.loads(line) for line in lines[1:]]
        except (ValueError, IndexError) as e:
            first = None
            text += f'\nnot JSON lines: {e}'
        result(run.returncode == 0 and isinstance(first, dict)
               and [i['name'] for i in first['interfaces']] == ['lo'] and first['default_routes'] == []
               and all(isinstance(e.get('event'), str) and isinstance(e.get('time'), str) for e in events),
               'post-paths --json --monitor: the list, then JSON lines with event and time',
               text + run.stderr)

        def has(event, test):
            return any(e['event'] == event and test(e) for e in events)

        ok = (has('interface-changed', lambda e: types_ok(e['interface'], interface)
                  and e['interface']['name'] == 'lo' and e['interface']['up'])
              and has('address-added', lambda e: types_ok(e['address'], address)
                      and e['address']['address'] == '10.9.0.1' and e['address']['prefix_length'] == 8)
              and has('interface-added', lambda e: e['interface']['name'] in ('pj0', 'pj1')
                      and e['interface']['link_type'] == 'veth')
              and has('default-route-changed', lambda e: e['family'] == 'ipv4'
                      and types_ok(e['default_routes'], [route])
                      and [r['gateway'] for r in e['default_routes']] == ['10.9.0.2']))
        result(ok, 'post-paths --json --monitor: link up, address, interface and default route events', text)

sys.exit(1 if failures else 0)
