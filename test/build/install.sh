#!/usr/bin/env bash
# test/build/install.sh - `meson install` into a temporary directory, then
# builds a program against the installed headers and library through
# pkg-config, once with the shared library and once with the static one,
# and runs both.  Also checks what was installed: the generated version
# header (and no build files) under include/, the shared library's soname,
# and the man pages when the reference was built.
#
# Usage: install.sh BUILD_ROOT SOURCE_ROOT
set -u
src=$2
command -v pkg-config >/dev/null 2>&1 || { echo "skip: pkg-config not installed"; exit 77; }
. "$(dirname "$0")/install_lib.sh"
cc=${CC:-cc}
app=$src/test/build/consumer/app.c
fail=0

inc=$(find "$dest" -type d -path '*/include/weft' | head -1)
for h in version.h future.h task.h; do
	[ -f "$inc/$h" ] || { echo "FAIL: $h not installed"; fail=1; }
done
for f in meson.build version.h.in; do
	[ -e "$inc/$f" ] && { echo "FAIL: $f installed with the headers"; fail=1; }
done
so=$(find "$libdir" -maxdepth 1 -name 'libweft.so.*.*.*' | head -1)
if [ -n "$so" ]; then
	soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
	echo "shared library $(basename "$so"), soname $soname"
	[ "$soname" = "libweft.so.0.1" ] || { echo "FAIL: soname $soname"; fail=1; }
fi
if [ -f "$build/docs/man/man3/weft_spawn.3" ] &&
	! find "$dest" -path '*/man3/weft_spawn.3' | grep -q .; then
	echo "FAIL: the man pages were built but not installed"
	fail=1
fi

# Shared: the default link picks libweft.so.
if [ -n "$so" ]; then
	# shellcheck disable=SC2046
	if "$cc" -std=c11 "$app" $(pkg-config --cflags --libs weft) -o "$tmp/app_shared"; then
		if ! LD_LIBRARY_PATH=$libdir "$tmp/app_shared"; then
			echo "FAIL: the shared program failed"
			fail=1
		fi
		LD_LIBRARY_PATH=$libdir ldd "$tmp/app_shared" | grep -q "$libdir/libweft.so" ||
			{ echo "FAIL: the shared program does not load the installed libweft.so"; fail=1; }
	else
		echo "FAIL: building against the shared library"
		fail=1
	fi
fi

# Static: pkg-config --static adds the private libraries; -Bstatic makes
# the linker take libweft.a.
if [ -f "$libdir/libweft.a" ]; then
	libs=$(pkg-config --libs --static weft | sed 's/-lweft/-Wl,-Bstatic -lweft -Wl,-Bdynamic/')
	# shellcheck disable=SC2046,SC2086
	if "$cc" -std=c11 "$app" $(pkg-config --cflags weft) $libs -o "$tmp/app_static"; then
		"$tmp/app_static" || { echo "FAIL: the static program failed"; fail=1; }
		if ldd "$tmp/app_static" | grep -q libweft; then
			echo "FAIL: the static program loads libweft.so"
			fail=1
		fi
	else
		echo "FAIL: building against the static library"
		fail=1
	fi
fi
if [ -z "$so" ] && [ ! -f "$libdir/libweft.a" ]; then
	echo "FAIL: no library installed"
	fail=1
fi
exit $fail
