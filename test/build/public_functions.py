#!/usr/bin/env python3
"""test/build/public_functions.py - lists the functions that the public
headers declare (extern prototypes, not static inline helpers), one per
line: "name header".  Shared by the export-map and reference tests.

Usage: public_functions.py HEADER...
"""
import re
import sys


def strip(text):
    """Removes comments, C++ guard blocks and preprocessor lines."""
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'#ifdef __cplusplus.*?#endif', ' ', text, flags=re.S)
    lines = []
    cont = False
    for line in text.split('\n'):
        if cont or line.lstrip().startswith('#'):
            cont = line.rstrip().endswith('\\')
            continue
        lines.append(line)
    return '\n'.join(lines)


def declarations(text):
    """Yields each file-level statement; skips bodies of inline functions."""
    depth = 0
    stmt = []
    in_function = False
    for ch in text:
        if ch == '{':
            if depth == 0 and re.search(r'\)\s*$', ''.join(stmt)):
                in_function = True
            depth += 1
        elif ch == '}':
            depth -= 1
            if depth == 0 and in_function:
                in_function = False
                stmt = []
                continue
        if in_function:
            continue
        if ch == ';' and depth == 0:
            yield ''.join(stmt).strip()
            stmt = []
            continue
        stmt.append(ch)


def functions(path):
    with open(path, encoding='utf-8') as f:
        text = strip(f.read())
    for stmt in declarations(text):
        if stmt.startswith('typedef') or '(' not in stmt or '{' in stmt:
            continue
        if re.match(r'(static|extern\s+inline)\b', stmt):
            continue
        m = re.search(r'\b([A-Za-z_][A-Za-z0-9_]*)\s*\(', stmt)
        if m:
            yield m.group(1)


def main():
    for path in sys.argv[1:]:
        for name in functions(path):
            print(name, path)


if __name__ == '__main__':
    main()
