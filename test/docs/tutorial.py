#!/usr/bin/env python3
"""test/docs/tutorial.py - runs every tutorial program and compares what it
prints with what docs/tutorial.md shows for it.

The tutorial shows each program's output in a console block whose first
line is "$ examples/tutorial/NAME"; the rest of the block is the expected
standard output, line for line.  Every program must have exactly one such
block and exit 0; every block must name a program that exists.

Usage: tutorial.py TUTORIAL_MD PROGRAM...
(a program's NAME is its file name without the "tutorial_" prefix)
"""
import os
import re
import subprocess
import sys


def expected_outputs(path):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    blocks = {}
    for body in re.findall(r'^```console\n(.*?)^```', text, flags=re.S | re.M):
        lines = body.rstrip('\n').split('\n')
        m = re.match(r'^\$ examples/tutorial/(\S+)$', lines[0])
        if not m:
            continue
        name = m.group(1)
        if name in blocks:
            print(f'FAIL: two output blocks for {name}')
            sys.exit(1)
        blocks[name] = lines[1:]
    return blocks


def main():
    blocks = expected_outputs(sys.argv[1])
    programs = {os.path.basename(p).replace('tutorial_', '', 1): p for p in sys.argv[2:]}
    failed = False
    for name in sorted(set(blocks) - set(programs)):
        print(f'FAIL: the tutorial shows examples/tutorial/{name}, which is not built')
        failed = True
    for name, exe in sorted(programs.items()):
        if name not in blocks:
            print(f'FAIL: docs/tutorial.md shows no output for {name}')
            failed = True
            continue
        try:
            run = subprocess.run([exe], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            print(f'FAIL: {name} did not finish in 60 s')
            failed = True
            continue
        got = run.stdout.rstrip('\n').split('\n')
        if run.returncode != 0:
            print(f'FAIL: {name} exited with {run.returncode}\n{run.stdout}{run.stderr}')
            failed = True
        elif got != blocks[name]:
            print(f'FAIL: {name} printed:')
            print('\n'.join(got))
            print('the tutorial says:')
            print('\n'.join(blocks[name]))
            failed = True
        else:
            print(f'{name}: ok')
    if not programs:
        print('FAIL: no tutorial program given')
        failed = True
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
