#!/usr/bin/env python3
"""test/embed/example_output.py - runs an example program and compares what
it prints with the output a document shows for it.

Each document shows the program's output in a console block whose first
line is "$ examples/NAME"; the rest of the block is the expected standard
output, line for line.  The program must exit 0 and print exactly that,
and every document given must show the same output.
Exit 77 (skip) when WEFT_DRIVER=uring and the program could not create its
runtime (it says "weft_runtime_create" on stderr): no io_uring here.

Usage: example_output.py DOC.md... NAME PROGRAM
"""
import os
import re
import subprocess
import sys


def expected(path, name):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    found = None
    for body in re.findall(r'^```console\n(.*?)^```', text, flags=re.S | re.M):
        lines = body.rstrip('\n').split('\n')
        if lines[0] == f'$ examples/{name}':
            if found is not None:
                print(f'FAIL: two output blocks for {name} in {path}')
                sys.exit(1)
            found = lines[1:]
    if found is None:
        print(f'FAIL: {path} shows no output for examples/{name}')
        sys.exit(1)
    return found


def main():
    docs, name, exe = sys.argv[1:-2], sys.argv[-2], sys.argv[-1]
    want = expected(docs[0], name)
    for other in docs[1:]:
        if expected(other, name) != want:
            print(f'FAIL: {docs[0]} and {other} show different outputs for {name}')
            return 1
    doc = docs[0]
    try:
        run = subprocess.run([exe], capture_output=True, text=True, timeout=50)
    except subprocess.TimeoutExpired:
        print(f'FAIL: {name} did not finish in 50 s')
        return 1
    if (run.returncode != 0 and os.environ.get('WEFT_DRIVER') == 'uring'
            and 'weft_runtime_create' in run.stderr):
        print(f'skip: {run.stderr.strip()}')
        return 77
    if run.returncode != 0:
        print(f'FAIL: {name} exited with {run.returncode}\n{run.stdout}{run.stderr}')
        return 1
    got = run.stdout.rstrip('\n').split('\n')
    if got != want:
        print(f'FAIL: {name} printed:')
        print('\n'.join(got))
        print(f'{doc} says:')
        print('\n'.join(want))
        return 1
    print(f'{name}: ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
