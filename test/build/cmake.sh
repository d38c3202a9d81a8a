#!/usr/bin/env bash
# test/build/cmake.sh - a CMake project finds the installed weft with
# pkg_check_modules(WEFT REQUIRED IMPORTED_TARGET weft) (the README's
# snippet, test/build/consumer/CMakeLists.txt), builds and runs.
#
# Usage: cmake.sh BUILD_ROOT SOURCE_ROOT
set -u
src=$2
command -v cmake >/dev/null 2>&1 || { echo "skip: cmake not installed"; exit 77; }
command -v pkg-config >/dev/null 2>&1 || { echo "skip: pkg-config not installed"; exit 77; }
. "$(dirname "$0")/install_lib.sh"
mkdir -p "$tmp/proj"
cp "$src/test/build/consumer/CMakeLists.txt" "$src/test/build/consumer/app.c" "$tmp/proj/"
if ! cmake -S "$tmp/proj" -B "$tmp/proj/build" >"$tmp/cmake.log" 2>&1 ||
	! cmake --build "$tmp/proj/build" >>"$tmp/cmake.log" 2>&1; then
	cat "$tmp/cmake.log"
	echo "FAIL: the CMake project does not build"
	exit 1
fi
LD_LIBRARY_PATH=$libdir "$tmp/proj/build/app" || { echo "FAIL: the CMake program failed"; exit 1; }
