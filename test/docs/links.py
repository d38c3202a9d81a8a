#!/usr/bin/env python3
"""test/docs/links.py - every document a header or a page refers to exists.

Checks, in the public headers, each mention of docs/NAME.md; in README.md,
CHANGELOG.md and docs/*.md, each relative Markdown link (to a page, a
program or a directory, anchors ignored).  Fails listing the dangling ones.

Usage: links.py SOURCE_ROOT
"""
import glob
import os
import re
import sys


def main():
    root = sys.argv[1]
    bad = []
    headers = glob.glob(os.path.join(root, 'include', '**', '*.h'), recursive=True)
    for h in headers:
        with open(h, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                for ref in re.findall(r'\bdocs/[A-Za-z0-9_.-]+\.md', line):
                    if not os.path.exists(os.path.join(root, ref)):
                        bad.append(f'{os.path.relpath(h, root)}:{n}: {ref}')
    pages = [os.path.join(root, 'README.md'), os.path.join(root, 'CHANGELOG.md')]
    pages += glob.glob(os.path.join(root, 'docs', '*.md'))
    checked = 0
    for page in pages:
        if not os.path.exists(page):
            bad.append(f'{os.path.relpath(page, root)} is missing')
            continue
        with open(page, encoding='utf-8') as f:
            text = f.read()
        text = re.sub(r'^```.*?^```', '', text, flags=re.S | re.M)
        for target in re.findall(r'\]\(([^)\s]+)\)', text):
            if re.match(r'[a-z]+:', target) or target.startswith('#'):
                continue
            path = target.split('#')[0]
            checked += 1
            if not os.path.exists(os.path.join(os.path.dirname(page), path)):
                bad.append(f'{os.path.relpath(page, root)}: {target}')
    if bad:
        print('FAIL: dangling references:')
        print('\n'.join(bad))
        return 1
    print(f'{checked} links and every docs/ reference in the headers resolve')
    return 0


if __name__ == '__main__':
    sys.exit(main())
