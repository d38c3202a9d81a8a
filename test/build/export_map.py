#!/usr/bin/env python3
"""test/build/export_map.py - src/weft.map lists exactly the public
functions: every function declared in a header under include/ (found at run
time, so a new header is covered) is in the map, every name in the map is
declared, and the shared library, when there is one, exports exactly the
map's names, each with a WEFT_ version.

Usage: export_map.py MAP SRC_INCLUDE BUILD_INCLUDE [LIBWEFT_SO]
"""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import public_functions  # noqa: E402


def map_symbols(path):
    """The names in the map's global: sections, per version node."""
    with open(path, encoding='utf-8') as f:
        text = re.sub(r'/\*.*?\*/', ' ', f.read(), flags=re.S)
    nodes = {}
    for node, body in re.findall(r'(WEFT_[0-9.]+)\s*{(.*?)}', text, flags=re.S):
        glob_part = re.search(r'global:(.*?)(local:|$)', body, flags=re.S)
        names = re.findall(r'([A-Za-z_][A-Za-z0-9_*\[\]-]*)\s*;', glob_part.group(1)) if glob_part else []
        nodes[node] = names
    return nodes


def main():
    map_path, src_inc, build_inc = sys.argv[1:4]
    lib = sys.argv[4] if len(sys.argv) > 4 else None
    headers = sorted(glob.glob(os.path.join(src_inc, '*.h')) +
                     glob.glob(os.path.join(src_inc, 'weft', '*.h')) +
                     glob.glob(os.path.join(build_inc, 'weft', '*.h')))
    declared = {}
    for h in headers:
        for name in public_functions.functions(h):
            declared[name] = os.path.relpath(h, os.path.dirname(h) + '/..')
    nodes = map_symbols(map_path)
    listed = {}
    failed = False
    for node, names in nodes.items():
        for n in names:
            if any(c in n for c in '*?['):
                print(f'FAIL: {node} uses a wildcard ({n}); list names explicitly')
                failed = True
            if n in listed:
                print(f'FAIL: {n} is listed in {listed[n]} and {node}')
                failed = True
            listed[n] = node
    if not declared:
        print('FAIL: no public function found in', src_inc)
        return 1
    for n in sorted(set(declared) - set(listed)):
        print(f'FAIL: {n} ({declared[n]}) is not in {map_path}: add it to the newest node')
        failed = True
    for n in sorted(set(listed) - set(declared)):
        print(f'FAIL: {n} is in the map but no public header declares it')
        failed = True
    if lib and os.path.exists(lib):
        out = subprocess.run(['nm', '-D', '--defined-only', lib], check=True,
                             capture_output=True, text=True).stdout
        exported = {}
        for line in out.split('\n'):
            parts = line.split()
            if len(parts) == 3 and parts[1] in 'TDBRWVi' and not parts[2].startswith('WEFT_'):
                name, _, version = parts[2].partition('@')
                exported[name] = version.lstrip('@')
        for n in sorted(set(exported) - set(listed)):
            print(f'FAIL: {lib} exports {n}, which the map does not list')
            failed = True
        for n in sorted(set(listed) - set(exported)):
            print(f'FAIL: {n} is in the map but {lib} does not export it')
            failed = True
        for n, v in sorted(exported.items()):
            if n in listed and v != listed[n]:
                print(f'FAIL: {n} is exported as version "{v}", the map says {listed[n]}')
                failed = True
    if failed:
        return 1
    print(f'{len(declared)} public functions, all in the map'
          + (f' and exported from {os.path.basename(lib)}' if lib and os.path.exists(lib) else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
