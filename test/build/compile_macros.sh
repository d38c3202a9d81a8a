#!/usr/bin/env bash
# test/build/compile_macros.sh - builds a user-style file that uses every
# await macro with each available C and C++ compiler and
# -Wall -Wextra -Wimplicit-fallthrough -Werror, links it with the static
# library and runs it.  A compiler that is not installed is skipped; the
# test is skipped (77) when none is.
#
# Usage: compile_macros.sh SOURCE LIBWEFT_A INCDIR...
set -u
src=$1
lib=$2
shift 2
incs=()
for d in "$@"; do incs+=("-I$d"); done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
warn=(-Wall -Wextra -Wimplicit-fallthrough -Werror)
ran=0
fail=0
for cc in gcc clang g++ clang++; do
	if ! command -v "$cc" >/dev/null 2>&1; then
		echo "skip: $cc not installed"
		continue
	fi
	case $cc in
	*++) lang=(-x c++ -std=c++17) ;;
	*) lang=(-x c -std=c11) ;;
	esac
	ran=$((ran + 1))
	if ! "$cc" "${lang[@]}" "${warn[@]}" "${incs[@]}" -c "$src" -o "$tmp/$cc.o"; then
		echo "FAIL: $cc does not compile the macros cleanly"
		fail=1
		continue
	fi
	if ! "$cc" "$tmp/$cc.o" "$lib" -lpthread -o "$tmp/$cc"; then
		echo "FAIL: $cc: link"
		fail=1
		continue
	fi
	if ! out=$("$tmp/$cc"); then
		echo "FAIL: $cc: the program failed: $out"
		fail=1
		continue
	fi
	echo "$cc: $out"
done
[ $ran -eq 0 ] && exit 77
exit $fail
