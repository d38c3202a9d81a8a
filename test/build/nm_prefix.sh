#!/usr/bin/env bash
# test/build/nm_prefix.sh - every extern symbol that the static library
# defines carries the weft_ (public) or weft__ (internal) prefix, so that
# linking libweft.a into a program can never clash with the program's own
# names.  Fails listing the offenders.
#
# Usage: nm_prefix.sh LIBWEFT_A
set -u
lib=$1
command -v nm >/dev/null 2>&1 || { echo "skip: nm not installed"; exit 77; }
syms=$(nm -g --defined-only "$lib") || { echo "FAIL: nm $lib"; exit 1; }
# Lines are "address type name"; member headers and blank lines have fewer
# fields.  Sanitizer instrumentation adds its own __asan/__tsan/__odr_asan
# globals, which are the compiler's, not ours.
bad=$(printf '%s\n' "$syms" | awk 'NF == 3 && $3 !~ /^weft_/ && $3 !~ /^(__odr_asan|__asan|__tsan|__ubsan|__sancov)/ { print $2, $3 }')
count=$(printf '%s\n' "$syms" | awk 'NF == 3' | wc -l)
if [ "$count" -eq 0 ]; then
	echo "FAIL: no defined global symbol in $lib"
	exit 1
fi
if [ -n "$bad" ]; then
	echo "FAIL: extern symbols without the weft_ prefix:"
	printf '%s\n' "$bad"
	exit 1
fi
echo "$count extern symbols, all prefixed"
