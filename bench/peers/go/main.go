// Command weft-peer-go runs Tokio's benchmarks (tokio/benches/*.rs) rewritten
// for Go's own runtime: goroutines, channels, the sync package. It shares the
// command-line interface of every weft benchmark binary:
//
//	weft-peer-go --list
//	weft-peer-go --case NAME [--iters N] [--warmup N]
//
// --case sets the case up (outside the timing), runs the warm-up samples,
// then the timed samples, and prints one CSV line on stdout:
//
//	impl,case,workers,median_ns,min_ns,p90_ns,iters,bytes_per_op,allocs_per_op
//
// Times are nanoseconds per iteration as Tokio's bench defines one iteration.
// A sample runs `batch` iterations back to back (batch is 1 except for the
// sub-microsecond cases) and is divided by batch. The median is the middle
// sample (mean of the two middle ones for an even count); p90 is the
// nearest-rank 90th percentile. Without --iters / --warmup the case's
// defaults apply, multiplied by WEFT_BENCH_SCALE when that is set. Allocations are not counted, so the last two
// columns are empty. GOMAXPROCS is set to the case's worker count. Diagnostics
// go to stderr; an unknown case exits with status 2, a failed counter check
// with status 1.
package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"time"
)

const implName = "go"

// runFunc runs n iterations of a case on state its setup prepared and
// returns an error when a counter check fails.
type runFunc func(n int) error

// benchCase is one row of the case table in cases.go; its numbers match
// bench/harness.h and bench/README.md.
type benchCase struct {
	name    string
	workers int // GOMAXPROCS; 0 means the number of CPUs
	iters   int // timed samples when --iters is not given
	warmup  int // untimed samples when --warmup is not given
	batch   int // iterations per sample
	setup   func(workers int) runFunc
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: weft-peer-go --list")
	fmt.Fprintln(os.Stderr, "       weft-peer-go --case NAME [--iters N] [--warmup N]")
	os.Exit(2)
}

func parseCount(flag string, args []string, i int) int {
	if i >= len(args) {
		fmt.Fprintf(os.Stderr, "weft-peer-go: %s needs a value\n", flag)
		usage()
	}
	n, err := strconv.Atoi(args[i])
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "weft-peer-go: %s needs a non-negative integer\n", flag)
		usage()
	}
	return n
}

// scaled multiplies a default sample count by WEFT_BENCH_SCALE when that is
// set (bench/run --quick sets 0.2), rounding up, never below floor.
func scaled(count, floor int) int {
	scale, err := strconv.ParseFloat(os.Getenv("WEFT_BENCH_SCALE"), 64)
	if err != nil || !(scale > 0) {
		return count
	}
	n := int(math.Ceil(float64(count) * scale))
	if n < floor {
		n = floor
	}
	return n
}

// summarize takes sorted per-iteration times and returns median, min, p90.
func summarize(sorted []float64) (median, min, p90 float64) {
	n := len(sorted)
	if n%2 == 1 {
		median = sorted[n/2]
	} else {
		median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	rank := (n*9 + 9) / 10 // nearest rank: ceil(0.9 n)
	if rank < 1 {
		rank = 1
	}
	return median, sorted[0], sorted[rank-1]
}

func runCase(c *benchCase, iters, warmup int) error {
	workers := c.workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	batch := c.batch
	if batch < 1 {
		batch = 1
	}
	runtime.GOMAXPROCS(workers)
	fmt.Fprintf(os.Stderr, "%s: %s workers=%d warmup=%d iters=%d batch=%d\n",
		implName, c.name, workers, warmup, iters, batch)
	run := c.setup(workers)
	for i := 0; i < warmup; i++ {
		if err := run(batch); err != nil {
			return err
		}
	}
	samples := make([]float64, 0, iters)
	for i := 0; i < iters; i++ {
		start := time.Now()
		if err := run(batch); err != nil {
			return err
		}
		samples = append(samples, float64(time.Since(start).Nanoseconds())/float64(batch))
	}
	sort.Float64s(samples)
	median, min, p90 := summarize(samples)
	_, err := fmt.Printf("%s,%s,%d,%.0f,%.0f,%.0f,%d,,\n",
		implName, c.name, workers, median, min, p90, iters)
	return err
}

func main() {
	args := os.Args[1:]
	list := false
	name := ""
	iters, warmup := -1, -1
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--list":
			list = true
		case "--case":
			i++
			if i >= len(args) {
				usage()
			}
			name = args[i]
		case "--iters":
			i++
			iters = parseCount("--iters", args, i)
			if iters < 1 {
				iters = 1
			}
		case "--warmup":
			i++
			warmup = parseCount("--warmup", args, i)
		case "-h", "--help":
			usage()
		default:
			fmt.Fprintf(os.Stderr, "weft-peer-go: unknown argument '%s'\n", args[i])
			usage()
		}
	}
	table := allCases()
	if list {
		for _, c := range table {
			fmt.Println(c.name)
		}
		return
	}
	if name == "" {
		usage()
	}
	var found *benchCase
	for i := range table {
		if table[i].name == name {
			found = &table[i]
		}
	}
	if found == nil {
		fmt.Fprintf(os.Stderr, "weft-peer-go: unknown case '%s' (see --list)\n", name)
		os.Exit(2)
	}
	if iters < 0 {
		iters = scaled(found.iters, 3)
	}
	if warmup < 0 {
		floor := 0
		if found.warmup > 0 {
			floor = 1
		}
		warmup = scaled(found.warmup, floor)
	}
	if err := runCase(found, iters, warmup); err != nil {
		fmt.Fprintf(os.Stderr, "weft-peer-go: %s: FAILED: %v\n", name, err)
		os.Exit(1)
	}
	// Exit at once: some cases leave goroutines looping forever, as Tokio's
	// benches leave tasks.
	os.Exit(0)
}
