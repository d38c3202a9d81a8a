#!/usr/bin/env bash
# test/build/subproject.sh - a parent meson project builds weft as a
# subproject with default_library=static: the program links libweft.a (ldd
# shows no libweft.so), no shared library is built, and weft builds no
# tests, benchmarks, examples or reference of its own.
#
# Usage: subproject.sh SOURCE_ROOT
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/parent/subprojects"
cp "$src/test/build/consumer/meson.build" "$src/test/build/consumer/app.c" "$tmp/parent/"
# A copy of the sources (not the caller's build directories).
mkdir -p "$tmp/parent/subprojects/weft"
tar -C "$src" --exclude='./build*' --exclude='./.git' -cf - . |
	tar -C "$tmp/parent/subprojects/weft" -xf - || { echo "FAIL: copying the sources"; exit 1; }
b=$tmp/parent/build
if ! meson setup "$b" "$tmp/parent" -Ddefault_library=static >"$tmp/setup.log" 2>&1 ||
	! ninja -C "$b" >"$tmp/build.log" 2>&1; then
	cat "$tmp/setup.log" "$tmp/build.log" 2>/dev/null | tail -40
	echo "FAIL: the parent project does not build"
	exit 1
fi
fail=0
"$b/app" || { echo "FAIL: the program failed"; fail=1; }
if ldd "$b/app" | grep -q libweft; then
	echo "FAIL: the program loads libweft.so"
	fail=1
fi
if find "$b" -name 'libweft.so*' | grep -q .; then
	echo "FAIL: a shared libweft was built"
	fail=1
fi
extra=$(find "$b/subprojects" -type f -perm -u+x \( -name 'test_*' -o -name 'weft-bench' -o -name 'await_chain' \) ; find "$b/subprojects" -name html -type d)
if [ -n "$extra" ]; then
	echo "FAIL: the subproject built what nobody asked for:"
	echo "$extra"
	fail=1
fi
[ -f "$(find "$b/subprojects" -name libweft.a | head -1)" ] || { echo "FAIL: no libweft.a"; fail=1; }
exit $fail
