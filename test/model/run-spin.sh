#!/bin/sh
# test/model/run-spin.sh - model-checks the local run queue protocol
# (test/model/queue.pml, a model of src/sched/queue.c) with Spin.
#
#   run-spin.sh           exhaustive search of each configuration: exit 0
#                         when every search completed with no error and took
#                         every path it should, 1 otherwise, 77 (skip) when
#                         spin is not installed.
#   run-spin.sh --mutant  checks the model is not vacuous: each seeded bug
#                         (queue.pml's MUTANT list) must be caught by the
#                         core properties alone (-DCORE_ONLY).  Exit 0 when
#                         all are.
#   run-spin.sh --full    the default configurations plus larger ones
#                         (about 8 minutes and 5 GB; not for CI).
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
spin -V

# config NAME: sets `defs`, the model's -D options for configuration NAME,
# and `skipped`, the labelled paths that cannot be taken in it (any other
# unreached statement is a failure).
config()
{
	case $1 in
	two_stealers)
		# Two stealers race each other, the owner's pops and both of
		# its overflow paths; their own queues start empty, so the
		# dst check never refuses.
		defs="-DNSTEALERS=2 -DNSTEALS=1 -DNTASKS=6 -DNPOPS=2 -DMOD=8"
		skipped="dst_full" ;;
	steal_twice)
		# One stealer whose own queue starts with two tasks steals up
		# to twice: its queue fills exactly, or the dst check refuses.
		defs="-DNSTEALERS=1 -DNSTEALS=2 -DNTASKS=7 -DNPOPS=3 -DDST_INIT=2 -DMOD=16"
		skipped="steal_busy" ;;
	two_stealers_long)	# --full only
		defs="-DNSTEALERS=2 -DNSTEALS=1 -DNTASKS=7 -DNPOPS=3 -DMOD=8"
		skipped="dst_full" ;;
	two_stealers_twice)	# --full only
		defs="-DNSTEALERS=2 -DNSTEALS=2 -DNTASKS=6 -DNPOPS=2 -DMOD=8"
		skipped="dst_full" ;;
	esac
}

# build DEFINES...: generates and compiles the verifier into ./pan.  The
# exhaustive searches want -O2; a mutant's search stops at its first error,
# so there compiling fast matters more.
opt=-O2
[ $mode = mutant ] && opt=-O0
build()
{
	rm -f pan pan.[bchmpt] pan.out
	spin "$@" -a queue.pml >spin.out 2>&1 || { cat spin.out; return 1; }
	# SAFETY: assertions and end states only; COLLAPSE compresses the
	# stored states losslessly, so the search stays exhaustive.
	# shellcheck disable=SC2086 # CFLAGS is a list of options
	$cc $opt ${CFLAGS:-} -DSAFETY -DCOLLAPSE -o pan pan.c >cc.out 2>&1 ||
		{ cat cc.out; return 1; }
}

# search: runs the verifier; its report is in pan.out.  The hash table
# (2^w slots) is sized for the configurations' state counts.
hashw=24
[ $mode = full ] && hashw=27
search()
{
	./pan -m200000 -w$hashw >pan.out 2>&1
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
	config "$1"
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
		# The last steps of the counterexample, up to the violation.
		# shellcheck disable=SC2086
		[ -f queue.pml.trail ] &&
			spin $defs -t -p queue.pml 2>&1 |
			sed -n '1,/assertion violated/p' | tail -n 60
		return 1
	fi
	if grep -Eq 'not completed|too small|out of memory|aborted' pan.out; then
		cat pan.out
		echo "FAIL: $1: the search did not complete"
		return 1
	fi
	missed=$(paths_missed "$skipped" | tr "\n" " ")
	if [ -n "$missed" ]; then
		sed -n '/^unreached/,$p' pan.out
		echo "FAIL: $1: paths never taken:" "$missed"
		return 1
	fi
	states=$(sed -n 's/^ *\([0-9e+.]*\) states, stored.*/\1/p' pan.out)
	trans=$(sed -n 's/^ *\([0-9e+.]*\) transitions.*/\1/p' pan.out)
	depth=$(sed -n 's/.*depth reached \([0-9]*\),.*/\1/p' pan.out)
	echo "ok: exhaustive search (full state space, partial-order reduced):" \
		"$states states, $trans transitions, depth $depth, ${secs}s, no errors"
	return 0
}

# mutant N CONFIG...: builds mutant N with only the core assertions and
# searches the given configurations in turn.  Returns 0 when one of them
# reports an error.
mutant()
{
	m=$1
	shift
	for name in "$@"; do
		config "$name"
		# shellcheck disable=SC2086
		build $defs -DCORE_ONLY "-DMUTANT=$m" || return 1
		search
		if grep -Eq 'errors: [1-9]' pan.out; then
			what=$(grep -m1 -E '^pan:[0-9]+:' pan.out)
			depth=$(sed -n 's/.*depth reached \([0-9]*\),.*/\1/p' pan.out)
			echo "mutant $m: caught in $name: $what (trail depth $depth)"
			return 0
		fi
	done
	echo "mutant $m: not caught"
	return 1
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
	# Mutant 8 needs a stealer whose own queue is not empty.
	for m in 1 2 3 4 5 6 7 8; do
		confs="two_stealers steal_twice"
		[ $m = 8 ] && confs="steal_twice"
		# shellcheck disable=SC2086
		mutant $m $confs || { echo "FAIL: mutant $m was not caught"; fail=1; }
	done
	;;
esac
exit $fail
