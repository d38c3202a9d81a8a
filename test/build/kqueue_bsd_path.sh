#!/usr/bin/env bash
# test/build/kqueue_bsd_path.sh - src/driver/kqueue.c compiles on its real
# BSD path (<sys/event.h>, not the Linux emulation), with every C compiler
# found, against a <sys/event.h> made of the emulation header's BSD-shaped
# declarations (struct kevent, EV_SET, the constants) plus the kqueue(2)
# and kevent(2) prototypes.  This is the check docs/driver.md names: no BSD
# or macOS host exists here, so the real header is never compiled against.
#
# Usage: kqueue_bsd_path.sh SOURCE_ROOT BUILD_ROOT
set -u
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/sys"
{
	echo '#include <stdint.h>'
	echo '#include <time.h>'
	# The declarations between the includes and the emulation's functions.
	sed -n '/^struct kevent {/,/^\/\* Creates a queue/p' "$src/src/driver/emu/kqueue_emu.h" | sed '$d'
	echo 'int kqueue(void);'
	echo 'int kevent(int kq, const struct kevent *changelist, int nchanges,'
	echo '	   struct kevent *eventlist, int nevents, const struct timespec *timeout);'
} >"$tmp/sys/event.h"
grep -q 'define EV_SET' "$tmp/sys/event.h" || { echo "FAIL: no declarations found"; exit 1; }
ran=0
for c in "${CC:-cc}" gcc clang; do
	command -v "$c" >/dev/null 2>&1 || continue
	ran=1
	"$c" -std=c11 -Wall -Wextra -Werror -fsyntax-only -DWEFT_HAVE_KQUEUE -I"$tmp" \
		-I"$src/include" -I"$build" "$src/src/driver/kqueue.c" ||
		{ echo "FAIL: $c"; exit 1; }
	echo "$c: kqueue.c compiles on the <sys/event.h> path"
done
[ $ran -eq 1 ] || { echo "skip: no C compiler"; exit 77; }
