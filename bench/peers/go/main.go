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
//	impl,case,workers,median_ns,min_ns,p90_ns,iters,bytes_per_op,allocs_per_op,mean_ns,max_ns,p99_ns,unit
//
// Timed cases (benchCase): times are nanoseconds per iteration as Tokio's
// bench defines one iteration. A sample runs `batch` iterations back to back
// (batch is 1 except for the sub-microsecond cases) and is divided by batch.
// Value-mode cases (valueCase) measure each sample themselves and return
// its value in their unit (a latency in ns, bytes per goroutine). The
// median is the middle sample (mean of the two middle ones for an even
// count); p90 and p99 are nearest-rank percentiles, mean the arithmetic
// mean. Figures of 100 and more print as integers, smaller ones with three
// decimals (as bench/harness.h does). Without --iters / --warmup the case's
// defaults apply, multiplied by WEFT_BENCH_SCALE when that is set.
// Allocations are not counted, so bytes_per_op and allocs_per_op are empty.
// GOMAXPROCS is set to the case's worker count. Diagnostics go to stderr; an
// unknown case exits with status 2, a failed counter check with status 1.
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

// valueFunc takes one sample of a value-mode case and returns its value.
type valueFunc func() (float64, error)

// valueCase is a case that measures each sample itself (cases_extra.go).
type valueCase struct {
	name    string
	workers int
	iters   int
	warmup  int
	unit    string
	setup   func(workers int) valueFunc
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

// percentile is the nearest-rank pct-th percentile of sorted samples.
func percentile(sorted []float64, pct int) float64 {
	n := len(sorted)
	rank := (n*pct + 99) / 100
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	return sorted[rank-1]
}

// fig formats one CSV figure: an integer from 100 up, three decimals below.
func fig(v float64) string {
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// printResult sorts the samples and prints the CSV line.
func printResult(name string, workers int, samples []float64, unit string) error {
	sort.Float64s(samples)
	n := len(samples)
	median := samples[n/2]
	if n%2 == 0 {
		median = (samples[n/2-1] + samples[n/2]) / 2
	}
	sum := 0.0
	for _, v := range samples {
		sum += v
	}
	_, err := fmt.Printf("%s,%s,%d,%s,%s,%s,%d,,,%s,%s,%s,%s\n",
		implName, name, workers, fig(median), fig(samples[0]), fig(percentile(samples, 90)),
		n, fig(sum/float64(n)), fig(samples[n-1]), fig(percentile(samples, 99)), unit)
	return err
}

func resolveWorkers(w int) int {
	if w == 0 {
		return runtime.NumCPU()
	}
	return w
}

func runValueCase(c *valueCase, iters, warmup int) error {
	workers := resolveWorkers(c.workers)
	runtime.GOMAXPROCS(workers)
	fmt.Fprintf(os.Stderr, "%s: %s workers=%d warmup=%d iters=%d batch=1 (value mode)\n",
		implName, c.name, workers, warmup, iters)
	sample := c.setup(workers)
	for i := 0; i < warmup; i++ {
		if _, err := sample(); err != nil {
			return err
		}
	}
	samples := make([]float64, 0, iters)
	for i := 0; i < iters; i++ {
		v, err := sample()
		if err != nil {
			return err
		}
		samples = append(samples, v)
	}
	return printResult(c.name, workers, samples, c.unit)
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
	return printResult(c.name, workers, samples, "ns/iter")
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
	table := append(allCases(), extraCases()...)
	values := valueCases()
	if list {
		for _, c := range table {
			fmt.Println(c.name)
		}
		for _, c := range values {
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
	var foundValue *valueCase
	for i := range values {
		if values[i].name == name {
			foundValue = &values[i]
		}
	}
	if found == nil && foundValue == nil {
		fmt.Fprintf(os.Stderr, "weft-peer-go: unknown case '%s' (see --list)\n", name)
		os.Exit(2)
	}
	defIters, defWarmup := 0, 0
	if found != nil {
		defIters, defWarmup = found.iters, found.warmup
	} else {
		defIters, defWarmup = foundValue.iters, foundValue.warmup
	}
	if iters < 0 {
		floor := 3 // or the default itself when that is smaller
		if defIters < floor {
			floor = defIters
		}
		iters = scaled(defIters, floor)
	}
	if warmup < 0 {
		floor := 0
		if defWarmup > 0 {
			floor = 1
		}
		warmup = scaled(defWarmup, floor)
	}
	var err error
	if found != nil {
		err = runCase(found, iters, warmup)
	} else {
		err = runValueCase(foundValue, iters, warmup)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "weft-peer-go: %s: FAILED: %v\n", name, err)
		os.Exit(1)
	}
	// Exit at once: some cases leave goroutines looping forever, as Tokio's
	// benches leave tasks.
	os.Exit(0)
}
