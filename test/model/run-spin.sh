#!/bin/sh
# test/model/run-spin.sh - model-checks the local run queue protocol
# (test/model/queue.pml, a model of src/sched/queue.c) with Spin.
#
#   run-spin.sh           exhaustive search of each configuration: exit 0
#                         when every search completed with no error and took
#                         every path it should, 1 otherwise, 77 (skip) when
#                         spin is not installed.
#   run-spin.sh --mutant  checks the model is not vacuous: each seeded bug
#                         (queue.pml's MUTANT list) must be caught, and the
#                         one argued harmless must pass.  Exit 0 when so.
#   run-spin.sh --full    the default configurations plus larger ones
#                         (several minutes and about 4 GB; not for CI).
#
# Everything is built and run in a temporary directory.  CC and CFLAGS are
# honoured for compiling the verifier.
set -u

mode=check
case "${1:-}" in
'') ;;
--mutant) mode=mutant ;;
--full) mode=full ;;
*) echo "usage: $0 [--mutant | --full]" >&2; exit 2 ;;
esac

if ! command -v spin >/dev/null 2>&1; then
	echo "spin is not installed (Debian package 'spin'): skipping"
	exit 77
fi

here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-spin.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
cp "$here/queue.pml" "$tmp/queue.pml" || exit 1
cd "$tmp" || exit 1

# Configurations: a name, the model's -D options, and the labelled paths
# that cannot be taken in it (anything else unreached is a failure).
#  two-stealers: two stealers race each other, the owner's pops and its
#    overflows; their own queues start empty, so dst_full cannot happen.
#  steal-twice: one stealer whose own queue starts with two tasks steals
#    up to twice, so its queue fills exactly and the dst check refuses.
conf_two_stealers="-DNSTEALERS=2 -DNSTEALS=1 -DNTASKS=6 -DNPOPS=2 -DMOD=8"
skip_two_stealers="dst_full"
conf_steal_twice="-DNSTEALERS=1 -DNSTEALS=2 -DNTASKS=7 -DNPOPS=3 -DDST_INIT=2 -DMOD=16"
skip_steal_twice="steal_busy"
# Larger, for --full only.
conf_two_stealers_long="-DNSTEALERS=2 -DNSTEALS=1 -DNTASKS=7 -DNPOPS=3 -DMOD=8"
skip_two_stealers_long="dst_full"
conf_two_stealers_twice="-DNSTEALERS=2 -DNSTEALS=2 -DNTASKS=6 -DNPOPS=2 -DMOD=8"
skip_two_stealers_twice="dst_full"

# build DEFINES...: generates and compiles the verifier into ./pan.
build()
{
	rm -f pan pan.[bchmpt] pan.out
	spin "$@" -a queue.pml >spin.out 2>&1 || { cat spin.out; return 1; }
	# SAFETY: assertions and end states only; COLLAPSE compresses the
	# stored states losslessly, so the search stays exhaustive.
	$cc -O2 ${CFLAGS:-} -DSAFETY -DCOLLAPSE -o pan pan.c >cc.out 2>&1 ||
		{ cat cc.out; return 1; }
}

# search: runs the verifier; its report is in pan.out.
search()
{
	./pan -m200000 -w24 >pan.out 2>&1
}

# paths_missed SKIPPED: prints the labels of the unreached statements of
# the last search that are not in SKIPPED (and any unlabelled ones).
paths_missed()
{
	sed -n 's/^	queue\.pml:\([0-9]*\), state .*/\1/p' pan.out | sort -un |
	while read -r line; do
		label=$(sed -n "${line}s/^\([a-z_]*\):.*/\1/p" queue.pml)
		case " $1 " in
		*" ${label:-?} "*) ;;
		*) echo "${label:-line $line}" ;;
		esac
	done
}

# check NAME: exhaustive search of one configuration; returns 0 on pass.
check()
{
	eval "defs=\$conf_$1 skipped=\$skip_$1"
	echo "== $1: $defs"
	# shellcheck disable=SC2086 # defs is a list of options
	build $defs || return 1
	start=$(date +%s)
	search
	status=$?
	secs=$(($(date +%s) - start))
	if ! grep -q 'errors: 0$' pan.out || [ $status -ne 0 ]; then
		cat pan.out
		echo "FAIL: $1: spin found an error (pan exit $status)"
		[ -f queue.pml.trail ] &&
			spin $defs -t -p -g -l queue.pml | tail -n 80
		return 1
	fi
	if grep -Eq 'not completed|too small|out of memory|aborted' pan.out; then
		cat pan.out
		echo "FAIL: $1: the search did not complete"
		return 1
	fi
	missed=$(paths_missed "$skipped")
	if [ -n "$missed" ]; then
		sed -n '/^unreached/,$p' pan.out
		echo "FAIL: $1: paths never taken:" $missed
		return 1
	fi
	states=$(sed -n 's/^ *\([0-9e+.]*\) states, stored.*/\1/p' pan.out)
	trans=$(sed -n 's/^ *\([0-9e+.]*\) transitions.*/\1/p' pan.out)
	depth=$(sed -n 's/.*depth reached \([0-9]*\),.*/\1/p' pan.out)
	echo "ok: exhaustive search (full state space, partial-order reduced):" \
		"$states states, $trans transitions, depth $depth, ${secs}s, no errors"
	return 0
}

# mutant N EXPECT: builds mutant N and runs the default configurations in
# turn; EXPECT is "caught" (some configuration must report an error) or
# "harmless" (all must pass).  Returns 0 when the outcome is as expected.
mutant()
{
	for name in two_stealers steal_twice; do
		eval "defs=\$conf_$name"
		# shellcheck disable=SC2086
		build $defs "-DMUTANT=$1" || return 1
		search
		if ! grep -q 'errors: 0$' pan.out; then
			what=$(grep -m1 -E '^pan:[0-9]+:' pan.out)
			depth=$(sed -n 's/.*depth reached \([0-9]*\),.*/\1/p' pan.out)
			echo "mutant $1: caught in $name: $what (trail depth $depth)"
			[ "$2" = caught ]
			return
		fi
		if grep -Eq 'not completed|too small|out of memory|aborted' pan.out; then
			echo "mutant $1: the search of $name did not complete"
			return 1
		fi
	done
	echo "mutant $1: not caught"
	[ "$2" = harmless ]
}

fail=0
case $mode in
check|full)
	confs="two_stealers steal_twice"
	[ $mode = full ] &&
		confs="$confs two_stealers_long two_stealers_twice"
	for name in $confs; do
		check "$name" || fail=1
	done
	;;
mutant)
	for m in 1 2 3 4 5 6 8; do
		mutant $m caught || { echo "FAIL: mutant $m was not caught"; fail=1; }
	done
	mutant 7 harmless || { echo "FAIL: mutant 7 was expected to pass"; fail=1; }
	;;
esac
exit $fail
