#!/usr/bin/env python3
# test-man-pages.py GROFF MANDIR POLICY-RULE-C post-cat post-paths post-policy
#
# The manual pages of docs/man (TAP):
# - each renders with groff -man -ww without a warning;
# - a tool's page lists under OPTIONS exactly the options of the tool's
#   --help (short and long names), and names no option elsewhere that the
#   tool does not have, so that neither can drift from the other;
# - post-policy.conf(5) lists under KEYS only keys the policy parser takes
#   (post-policy check reports no "unknown key" for a rule with each), and
#   every key it takes: the literal keys of policy/post-policy-rule.c and
#   the selection properties post-policy names.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import re
import subprocess
import sys
import tempfile

groff, mandir, rule_c = sys.argv[1:4]
tools = {os.path.basename(path): path for path in sys.argv[4:]}
n = 0
failures = 0


def result(good, description, details=''):
    global n, failures
    n += 1
    if good:
        print(f'ok {n} - {description}')
    else:
        failures += 1
        print(f'not ok {n} - {description}')
        for line in details.rstrip().splitlines():
            print(f'# {line}')


def plain(line):
    """The text of a man(7) source line, without macro, fonts and quotes;
    the arguments of the font-alternating macros (.BR, .IB...) joined as
    groff prints them"""
    macro = re.match(r'^\.([A-Za-z]+)\s*', line)
    if macro:
        line = line[macro.end():]
        if re.fullmatch(r'[BIR][BIR]', macro.group(1)):
            line = ''.join(a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', line))
    line = re.sub(r'\\f[BIRP]', '', line)
    line = line.replace('\\-', '-').replace('\\&', '').replace('\\|', '')
    return line.replace('"', '')


def section(source, name):
    """The lines of section NAME (.SH NAME up to the next .SH)"""
    match = re.search(r'^\.SH ' + re.escape(name) + r'\n(.*?)(?=^\.SH |\Z)',
                      source, re.S | re.M)
    return match.group(1).splitlines() if match else []


def tagged(lines):
    """The tag lines of a section: the lines right after each .TP"""
    return [plain(lines[i + 1]) for i, line in enumerate(lines[:-1])
            if line.startswith('.TP')]


def options_of_tags(tags):
    options = set()
    for tag in tags:
        long = re.findall(r'(?<![\w-])--([a-z0-9][a-z0-9-]*)', tag)
        short = re.findall(r'(?<![\w-])-([A-Za-z0-9])(?![\w-])', tag)
        if long:
            options.add((short[0] if short else None, long[0]))
    return options


def options_of_help(text):
    options = set()
    for match in re.finditer(r'^\s+(?:-(\w), )?--([a-z0-9][a-z0-9-]*)', text, re.M):
        options.add((match.group(1), match.group(2)))
    return options


def show(options):
    return ', '.join(sorted((f'-{s}/' if s else '') + f'--{l}' for s, l in options))


pages = sorted(p for p in os.listdir(mandir) if re.match(r'.*\.[1-8]$', p))
result(len(pages) >= 4, f'{len(pages)} pages in {mandir}', ' '.join(pages))

for page in pages:
    path = os.path.join(mandir, page)
    run = subprocess.run([groff, '-man', '-Tutf8', '-ww', '-z', path],
                         capture_output=True, text=True)
    result(run.returncode == 0 and run.stderr == '',
           f'{page}: groff -man -ww renders it without a warning',
           f'exit status {run.returncode}\n{run.stderr}')

    with open(path, encoding='utf-8') as f:
        source = f.read()
    tool = page.rsplit('.', 1)[0]
    if page.endswith('.1'):
        if tool not in tools:
            result(False, f'{page}: the test knows the program {tool}', ' '.join(tools))
            continue
        run = subprocess.run([tools[tool], '--help'], capture_output=True, text=True)
        helped = options_of_help(run.stdout)
        result(run.returncode == 0 and len(helped) > 1,
               f'{page}: {tool} --help lists {len(helped)} options', run.stdout + run.stderr)
        documented = options_of_tags(tagged(section(source, 'OPTIONS')))
        result(documented == helped,
               f'{page}: OPTIONS lists the options of {tool} --help',
               f'only in --help: {show(helped - documented)}\n'
               f'only in the page: {show(documented - helped)}')
        named = set(re.findall(r'(?<![\w-])--([a-z0-9][a-z0-9-]*)',
                               '\n'.join(plain(line) for line in source.splitlines()
                                         if not line.startswith('.\\"'))))
        unknown = named - {long for _, long in helped}
        result(not unknown, f'{page}: every option it names is one of {tool}',
               'not options of ' + tool + ': ' + ', '.join(sorted(unknown)))

    if page == 'post-policy.conf.5':
        policy = tools['post-policy']
        keys = set()
        for tag in tagged(section(source, 'KEYS')):
            keys.update(re.findall(r'(?<![\w.-])([a-z][a-z0-9-]*)(?![\w.-])', tag))
        result(len(keys) > 20, f'{page}: KEYS lists {len(keys)} keys', ' '.join(sorted(keys)))

        unknown = []
        with tempfile.TemporaryDirectory() as directory:
            for key in sorted(keys):
                with open(os.path.join(directory, '50-key.conf'), 'w') as f:
                    f.write(f'[rule]\n{key}=x\n')
                run = subprocess.run([policy, '--directory', directory, 'check'],
                                     capture_output=True, text=True)
                if 'unknown key' in run.stdout or 'unknown key' in run.stderr \
                   or run.returncode not in (0, 1):
                    unknown.append(f'{key}: {run.stdout}{run.stderr}')
        result(not unknown, f'{page}: the policy parser takes every key of KEYS',
               '\n'.join(unknown))

        with open(rule_c, encoding='utf-8') as f:
            literal = set(re.findall(r'strcmp \(key, "([a-z][a-z0-9-]*)"\)', f.read()))
        result(len(literal) >= 10, f'{rule_c}: {len(literal)} literal keys',
               ' '.join(sorted(literal)))
        run = subprocess.run([policy, '--directory', '/nonexistent', 'explain',
                              '127.0.0.1:1', '--set', 'no-such-property=require'],
                             capture_output=True, text=True)
        match = re.search(r'\(known: ([^)]*)\)', run.stderr)
        properties = set(match.group(1).split(', ')) if match else set()
        result(len(properties) >= 10,
               f'post-policy --set names {len(properties)} selection properties', run.stderr)
        missing = (literal | properties) - keys
        result(not missing, f'{page}: KEYS lists every key the parser takes',
               'not in KEYS: ' + ', '.join(sorted(missing)))

print(f'1..{n}')
sys.exit(1 if failures else 0)
