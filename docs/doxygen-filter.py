#!/usr/bin/env python3
"""docs/doxygen-filter.py - doxygen INPUT_FILTER for weft's public headers.

The headers document every declaration with a plain C comment placed right
before it (see STYLE.md); doxygen reads only its own comment forms.  This
filter rewrites, on the fly and line for line (line numbers do not move):

  - the file's first comment into a doxygen file comment (@file);
  - a comment followed directly by a declaration (no blank line) into a
    doxygen comment for that declaration;
  - a trailing comment after a field or enumerator ("int x; /* ... */")
    into a doxygen member comment (/**< ... */);
  - a struct field with no comment of its own into a private member
    (/**< @private */): it is not API and stays out of the reference;
  - one comment before several one-line declarations in a row (two
    typedefs, say) into a member group whose members share the comment.

Comments followed by a blank line or by another comment (section banners,
long explanations) and comments inside function bodies (between a "{" and
a "}" in the first column) stay plain.
"""
import re
import sys

# Lines after a comment that do not start a documented declaration.
NOT_A_DECL = re.compile(r'^\s*(#\s*(ifndef|ifdef|if|endif|else|include|undef)\b|}|extern "C"|/\*|$)')
# A complete one-line declaration at file level (typedef, prototype).
ONE_LINE_DECL = re.compile(r'^[A-Za-z_].*;\s*$')
TRAILING = re.compile(r'^(\s*[^/\s].*?[;,])(\s*)/\*(?![*!<])(.*)$')


def comment_end(lines, i):
    """Index of the line on which the comment opened on line i closes."""
    start = lines[i].index('/*') + 2
    if '*/' in lines[i][start:]:
        return i
    j = i + 1
    while j < len(lines) and '*/' not in lines[j]:
        j += 1
    return j


def code_of(line):
    """The line without its comments (good enough for brace counting)."""
    return re.sub(r'/\*.*?(\*/|$)', '', line)


def group_declarations(lines, out, first):
    """Makes the one-line declarations from `first` on a member group."""
    last = first
    while last + 1 < len(lines) and ONE_LINE_DECL.match(lines[last + 1]) \
            and not lines[last + 1].startswith('#'):
        last += 1
    if last > first:
        out[first] = '/**@{*/ ' + out[first]
        out[last] = out[last] + ' /**@}*/'


def filter_lines(lines):
    out = list(lines)
    seen_code = False
    in_body = False
    first_comment = True
    depth = 0           # brace depth outside function bodies
    documented = False  # the previous line closed a doxygen comment
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if line.startswith('{'):
            in_body = True
        elif line.startswith('}') and in_body:
            in_body = False
            i += 1
            continue
        if stripped.startswith('/*') and not stripped.startswith(('/**', '/*!')):
            end = comment_end(lines, i)
            nxt = lines[end + 1] if end + 1 < len(lines) else ''
            indent = line[:len(line) - len(stripped)]
            documented = False
            if first_comment and not seen_code:
                out[i] = indent + '/** @file' + stripped[2:]
                # "weft/task.h - spawning tasks": doxygen names the file
                # itself, so the brief starts after the dash.
                for k in range(i, end + 1):
                    m = re.match(r'^(\s*(?:/\*\*\s*@file)?\s*\*?\s*)[\w./]+\.h - (.*)$', out[k])
                    if m:
                        out[k] = m.group(1) + m.group(2)[:1].upper() + m.group(2)[1:]
                        break
            elif not in_body and not NOT_A_DECL.match(nxt) and \
                    lines[end].rstrip().endswith('*/'):
                out[i] = indent + '/**' + stripped[2:]
                documented = True
                if depth == 0 and ONE_LINE_DECL.match(nxt):
                    group_declarations(lines, out, end + 1)
            first_comment = False
            i = end + 1
            continue
        if not stripped or in_body or stripped.startswith('#'):
            if stripped:
                seen_code = True
            i += 1
            continue
        seen_code = True
        first_comment = False
        m = TRAILING.match(line)
        code = code_of(line)
        # The extern "C" block of a C++ guard is no struct: not counted.
        if not code.startswith('extern "C"'):
            depth = max(0, depth + code.count('{') - code.count('}'))
        if m:
            out[i] = m.group(1) + m.group(2) + '/**<' + m.group(3)
        elif depth > 0 and not documented and code.rstrip().endswith(';'):
            out[i] = line + ' /**< @private */'
        documented = False
        i += 1
    return out


def main():
    with open(sys.argv[1], encoding='utf-8') as f:
        lines = f.read().split('\n')
    sys.stdout.write('\n'.join(filter_lines(lines)))


if __name__ == '__main__':
    main()
