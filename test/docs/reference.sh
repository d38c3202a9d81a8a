#!/usr/bin/env bash
# test/docs/reference.sh - builds the API reference with doxygen, warnings
# as errors, and checks that every public function (every extern prototype
# in include/, found at run time) has a man3 page and an HTML entry.  Then
# feeds the same configuration a header with an undocumented function and
# expects doxygen to fail on it, so the check cannot pass vacuously.
#
# Usage: reference.sh DOXYFILE SOURCE_ROOT BUILD_ROOT
set -u
doxyfile=$1
src=$2
build=$3
command -v doxygen >/dev/null 2>&1 || { echo "skip: doxygen not installed"; exit 77; }
[ -f "$doxyfile" ] || { echo "skip: the reference is not configured (-Ddocs=disabled)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. The real headers: no warning at all.
{ cat "$doxyfile"; echo "OUTPUT_DIRECTORY = $tmp/out"; echo "WARN_AS_ERROR = FAIL_ON_WARNINGS"; } >"$tmp/Doxyfile"
if ! doxygen "$tmp/Doxyfile" >"$tmp/log" 2>&1 || [ -s "$tmp/log" ]; then
	cat "$tmp/log"
	echo "FAIL: doxygen reported warnings on the public headers"
	exit 1
fi

# 2. Every public function has its pages.
funcs=$(python3 "$src/test/build/public_functions.py" \
	"$src"/include/*.h "$src"/include/weft/*.h "$build"/include/weft/*.h | awk '{ print $1 }' | sort -u)
[ -n "$funcs" ] || { echo "FAIL: no public function found"; exit 1; }
fail=0
n=0
for f in $funcs; do
	n=$((n + 1))
	[ -f "$tmp/out/man/man3/$f.3" ] || { echo "FAIL: no man page for $f"; fail=1; }
	grep -q "id=\"[^\"]*\"[^>]*>.*$f\|name=\"$f\"\|>$f<" "$tmp/out/html"/*.html ||
		{ echo "FAIL: $f is not in the HTML reference"; fail=1; }
done
[ $fail -eq 0 ] || exit 1
echo "$n public functions, each with a man page and an HTML entry"

# 3. A header with an undocumented function must fail.
mkdir -p "$tmp/fixture/weft"
cat >"$tmp/fixture/weft/fixture.h" <<'H'
/*
 * weft/fixture.h - a header for the reference test.
 */
#ifndef WEFT_FIXTURE_H
#define WEFT_FIXTURE_H

/* Returns 0.  Any thread. */
int weft_fixture_documented(void);

int weft_fixture_undocumented(void);

#endif
H
{ cat "$doxyfile"; echo "INPUT = $tmp/fixture"; echo "STRIP_FROM_PATH = $tmp/fixture";
  echo "OUTPUT_DIRECTORY = $tmp/fixture-out"; echo "WARN_AS_ERROR = FAIL_ON_WARNINGS"; } >"$tmp/Doxyfile.fixture"
if doxygen "$tmp/Doxyfile.fixture" >"$tmp/fixture.log" 2>&1; then
	cat "$tmp/fixture.log"
	echo "FAIL: doxygen accepted an undocumented public function"
	exit 1
fi
grep -q weft_fixture_undocumented "$tmp/fixture.log" ||
	{ cat "$tmp/fixture.log"; echo "FAIL: the warning does not name the function"; exit 1; }
grep -q weft_fixture_documented "$tmp/fixture.log" &&
	{ cat "$tmp/fixture.log"; echo "FAIL: a documented function was reported"; exit 1; }
echo "an undocumented function fails the build"
