package main

// The rows that are not Tokio's own benches but that weft-bench has
// (BENCH_EXTRA_CASES in bench/harness.h): the single-thread primitives
// (st/), two contended rows, the memory row, and the timer, wake-up,
// blocking and combinator rows. bench/README.md says what each does and how
// close each Go form is to weft's.
//
// Go cannot poll an operation by hand: the st/ rows run on the main
// goroutine with GOMAXPROCS=1, using the std form of each primitive; where
// weft's operation hands a wake-up to a waiting future, the Go row hands it
// to a waiting goroutine (a real goroutine switch), the closest analogue.

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func extraCases() []benchCase {
	const st = 20_000
	const grow = 5_000
	return []benchCase{
		// name                                workers iters warmup batch setup
		{"st/mutex_lock_unlock", 1, 200, 10, st, stMutexLockUnlock},
		{"st/mutex_try_lock_unlock", 1, 200, 10, st, stMutexTryLockUnlock},
		{"st/rwlock_read", 1, 200, 10, st, stRwlockRead},
		{"st/rwlock_write", 1, 200, 10, st, stRwlockWrite},
		{"st/semaphore_acquire_release", 1, 200, 10, st, stSemaphore},
		{"st/notify_one_permit", 1, 200, 10, st, stNotifyPermit},
		{"st/notify_one_waiter", 1, 200, 10, st, stNotifyWaiter},
		{"st/barrier_wait_1", 1, 200, 10, st, stBarrier1},
		{"st/barrier_wait_2", 1, 200, 10, st, stBarrier2},
		{"st/once_cell_get", 1, 200, 10, st, stOnceGet},
		{"st/once_cell_get_or_init_set", 1, 200, 10, st, stOnceGet},
		{"st/once_cell_init_set", 1, 200, 10, st, stOnceInit},
		{"st/once_cell_init_get_or_init", 1, 200, 10, st, stOnceInit},
		{"st/cancel_token_is_cancelled", 1, 200, 10, st, stCancelIsCancelled},
		{"st/cancel_token_child_cancel", 1, 200, 10, st, stCancelChild},
		{"st/mpsc_send", 1, 200, 10, grow, stMpscSend},
		{"st/mpsc_recv", 1, 200, 10, grow, stMpscRecv},
		{"st/mpsc_roundtrip", 1, 200, 10, st, stMpscRoundtrip},
		{"st/mpsc_try_roundtrip", 1, 200, 10, st, stMpscTryRoundtrip},
		{"st/oneshot", 1, 200, 10, st, stOneshot},
		{"st/oneshot_heap", 1, 200, 10, st, stOneshot},
		{"st/broadcast_4rx", 1, 200, 10, st, stBroadcast4},
		{"st/watch", 1, 200, 10, st, stWatch},
		{"st/select2", 1, 200, 10, st, stSelect2},
		{"chan/mpsc_4x4", 4, 50, 3, 1, chanMpsc4x4},
		{"sync_mutex/contended_4x2500", 4, 200, 10, 1, mutexContended},
		{"time/timer_churn", 0, 50, 3, 10_000, timerChurn},
		{"spawn_blocking/burst_100k", 0, 10, 1, 1, spawnBlockingBurst},
		{"combinators/join_all_10k", 1, 100, 5, 1, joinAll10k},
		{"time/timer_churn_4tasks", 4, 100, 5, 10_000, timerChurn4},
		{"io/block_on_read", 2, 2000, 50, 10, ioBlockOnRead},
		// Go has no current-thread runtime: GOMAXPROCS=1 is the closest.
		{"io/ct_block_on_read", 1, 2000, 50, 10, ioBlockOnRead},
		// Go's spawn_blocking row is already goroutines (cases.go).
		{"spawn_blocking/spawn_fn", 0, 50, 3, 1, spawnBlocking},
	}
}

func valueCases() []valueCase {
	return []valueCase{
		// name                        workers iters warmup unit setup
		{"mem/idle_task_bytes", 0, 1, 0, "bytes", memIdleTaskBytes},
		{"time/sleep_lateness_1ms", 0, 1000, 10, "ns", sleepLateness1ms},
		{"wake/remote_idle", 0, 1000, 10, "ns", wakeRemoteIdle},
	}
}

// ---------------------------------------------------------------------------
// st/: sync (bench/sync_cases.c)

func stMutexLockUnlock(int) runFunc {
	var m sync.Mutex
	return func(n int) error {
		for i := 0; i < n; i++ {
			m.Lock()
			m.Unlock()
		}
		return nil
	}
}

func stMutexTryLockUnlock(int) runFunc {
	var m sync.Mutex
	return func(n int) error {
		for i := 0; i < n; i++ {
			if !m.TryLock() {
				return errors.New("try_lock failed")
			}
			m.Unlock()
		}
		return nil
	}
}

func stRwlockRead(int) runFunc {
	var l sync.RWMutex
	return func(n int) error {
		for i := 0; i < n; i++ {
			l.RLock()
			l.RUnlock()
		}
		return nil
	}
}

func stRwlockWrite(int) runFunc {
	var l sync.RWMutex
	return func(n int) error {
		for i := 0; i < n; i++ {
			l.Lock()
			l.Unlock()
		}
		return nil
	}
}

// A semaphore of 10 permits: acquire sends, release receives.
func stSemaphore(int) runFunc {
	sem := make(chan struct{}, 10)
	return func(n int) error {
		for i := 0; i < n; i++ {
			sem <- struct{}{}
			<-sem
		}
		return nil
	}
}

// notifyOne stores the permit; notified consumes it.
func stNotifyPermit(int) runFunc {
	nt := newNotifier()
	return func(n int) error {
		for i := 0; i < n; i++ {
			nt.notifyOne()
			nt.notified()
		}
		return nil
	}
}

// notifyOne hands the notification to a goroutine waiting in notified,
// which answers on an unbuffered channel: one goroutine switch each way.
func stNotifyWaiter(int) runFunc {
	nt := newNotifier()
	done := make(chan struct{})
	go func() {
		for {
			nt.notified()
			done <- struct{}{}
		}
	}()
	return func(n int) error {
		for i := 0; i < n; i++ {
			nt.notifyOne()
			<-done
		}
		return nil
	}
}

// barrier: Go's std has none; the closest is a mutex, a count and a channel
// closed when the last party arrives.
type barrier struct {
	mu      sync.Mutex
	n, seen int
	release chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, release: make(chan struct{})} }

// wait returns true for the party that released the others (the leader).
func (b *barrier) wait() bool {
	b.mu.Lock()
	b.seen++
	if b.seen == b.n {
		close(b.release)
		b.release = make(chan struct{})
		b.seen = 0
		b.mu.Unlock()
		return true
	}
	ch := b.release
	b.mu.Unlock()
	<-ch
	return false
}

func stBarrier1(int) runFunc {
	b := newBarrier(1)
	return func(n int) error {
		for i := 0; i < n; i++ {
			if !b.wait() {
				return errors.New("a one-party barrier had no leader")
			}
		}
		return nil
	}
}

// One generation of a two-party barrier: a helper goroutine is the other
// party of every generation.
func stBarrier2(int) runFunc {
	b := newBarrier(2)
	go func() {
		for {
			b.wait()
		}
	}()
	return func(n int) error {
		for i := 0; i < n; i++ {
			b.wait()
		}
		return nil
	}
}

// onceCell: sync.Once and the value it sets, the std form of a once cell.
// A get and a get_or_init on a set cell are the same call in Go (Do's fast
// path, then the read), as are set and get_or_init on a fresh cell.
type onceCell struct {
	once  sync.Once
	value int
}

func stOnceGet(int) runFunc {
	c := &onceCell{}
	c.once.Do(func() { c.value = 7 })
	return func(n int) error {
		sum := 0
		for i := 0; i < n; i++ {
			c.once.Do(func() { c.value = 8 })
			sum += c.value
		}
		return check(blackBox(sum) == 7*n, "get_or_init misread the cell")
	}
}

func stOnceInit(int) runFunc {
	return func(n int) error {
		sum := 0
		for i := 0; i < n; i++ {
			var c onceCell
			c.once.Do(func() { c.value = i })
			sum += c.value - i
		}
		return check(blackBox(sum) == 0, "get_or_init failed")
	}
}

// The cancellation token is a context.WithCancel context.
func stCancelIsCancelled(int) runFunc {
	ctx, cancel := context.WithCancel(context.Background())
	return func(n int) error {
		hits := 0
		for i := 0; i < n; i++ {
			if ctx.Err() != nil {
				hits++
			}
		}
		_ = cancel
		return check(blackBox(hits) == 0, "the root token was cancelled")
	}
}

// A child context made, its Done channel taken (weft's future registers
// here), cancelled, and Done received.
func stCancelChild(int) runFunc {
	parent, cancelParent := context.WithCancel(context.Background())
	return func(n int) error {
		for i := 0; i < n; i++ {
			child, cancel := context.WithCancel(parent)
			done := child.Done()
			select {
			case <-done:
				return errors.New("a fresh token was cancelled")
			default:
			}
			cancel()
			<-done
		}
		_ = cancelParent
		return nil
	}
}

// ---------------------------------------------------------------------------
// st/: channels (bench/chan_cases.c)

// tryRecv takes a value if one is queued.
func (q *unboundedQueue) tryRecv() (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head < len(q.items) {
		v := q.items[q.head]
		q.head++
		return v, true
	}
	return 0, false
}

// One send into an unbounded queue nobody drains during the samples.
func stMpscSend(int) runFunc {
	q := newUnboundedQueue()
	return func(n int) error {
		for i := 0; i < n; i++ {
			q.send(i)
		}
		return nil
	}
}

// One receive from a queue filled in setup (topped up when a run asks for
// more samples than that).
func stMpscRecv(int) runFunc {
	const prefill = (200+10)*5_000 + 5_000
	q := newUnboundedQueue()
	for i := 0; i < prefill; i++ {
		q.send(i)
	}
	return func(n int) error {
		last := 0
		for i := 0; i < n; i++ {
			v, ok := q.tryRecv()
			if !ok {
				for k := 0; k < 5_000; k++ {
					q.send(k)
				}
				continue
			}
			last = v
		}
		blackBox(last)
		return nil
	}
}

func stMpscRoundtrip(int) runFunc {
	ch := make(chan int, 1)
	return func(n int) error {
		for i := 0; i < n; i++ {
			ch <- i
			if <-ch != i {
				return errors.New("recv lost the value")
			}
		}
		return nil
	}
}

func stMpscTryRoundtrip(int) runFunc {
	ch := make(chan int, 1)
	return func(n int) error {
		for i := 0; i < n; i++ {
			select {
			case ch <- i:
			default:
				return errors.New("try_send failed")
			}
			select {
			case v := <-ch:
				if v != i {
					return errors.New("try_recv lost the value")
				}
			default:
				return errors.New("try_recv found nothing")
			}
		}
		return nil
	}
}

// A fresh channel of capacity 1, one send, one receive. Go's receive
// cannot register and wait on the same goroutine that sends, so st/oneshot
// and st/oneshot_heap are this same operation here.
func stOneshot(int) runFunc {
	return func(n int) error {
		for i := 0; i < n; i++ {
			ch := make(chan int, 1)
			ch <- i
			if <-ch != i {
				return errors.New("oneshot lost the value")
			}
		}
		return nil
	}
}

// One send to 4 subscribers (one buffered channel each), each receiving it.
func stBroadcast4(int) runFunc {
	var subs [4]chan int
	for k := range subs {
		subs[k] = make(chan int, 16)
	}
	return func(n int) error {
		for i := 0; i < n; i++ {
			for _, s := range subs {
				s <- i
			}
			for _, s := range subs {
				if <-s != i {
					return errors.New("a receiver missed the value")
				}
			}
		}
		return nil
	}
}

func stWatch(int) runFunc {
	w := newWatch(0)
	var seen uint64
	return func(n int) error {
		for i := 0; i < n; i++ {
			w.send(i)
			w.waitChanged(&seen)
			if w.borrow() != i {
				return errors.New("watch read a stale value")
			}
		}
		return nil
	}
}

// A select over two receives, one of which has a value (alternating).
func stSelect2(int) runFunc {
	a := make(chan int, 16)
	b := make(chan int, 16)
	return func(n int) error {
		for i := 0; i < n; i++ {
			which := i & 1
			if which == 1 {
				b <- i
			} else {
				a <- i
			}
			won := -1
			select {
			case <-a:
				won = 0
			case <-b:
				won = 1
			}
			if won != which {
				return errors.New("select picked the wrong branch")
			}
		}
		return nil
	}
}

// ---------------------------------------------------------------------------
// Contended rows

// 4 producers and 4 consumers over 4 channels of capacity 256; each
// producer sends 25,000 values round-robin over the channels.
func chanMpsc4x4(int) runFunc {
	const channels = 4
	const perProducer = 25_000
	return func(n int) error {
		for it := 0; it < n; it++ {
			var chans [channels]chan int
			got := make(chan int, channels)
			for k := range chans {
				chans[k] = make(chan int, 256)
				go func(ch chan int) {
					c := 0
					for range ch {
						c++
					}
					got <- c
				}(chans[k])
			}
			var producers sync.WaitGroup
			producers.Add(4)
			for p := 0; p < 4; p++ {
				go func() {
					for i := 0; i < perProducer; i++ {
						chans[i%channels] <- i
					}
					producers.Done()
				}()
			}
			producers.Wait()
			for _, ch := range chans {
				close(ch)
			}
			for k := 0; k < channels; k++ {
				if <-got != 4*perProducer/channels {
					return errors.New("messages were lost")
				}
			}
		}
		return nil
	}
}

// 4 goroutines each lock/unlock one sync.Mutex 2,500 times.
func mutexContended(int) runFunc {
	var m sync.Mutex
	counter := 0
	return func(n int) error {
		for it := 0; it < n; it++ {
			var wg sync.WaitGroup
			wg.Add(4)
			for t := 0; t < 4; t++ {
				go func() {
					for i := 0; i < 2_500; i++ {
						m.Lock()
						counter++
						m.Unlock()
					}
					wg.Done()
				}()
			}
			wg.Wait()
			if counter != 10_000 {
				return errors.New("lost increments")
			}
			counter = 0
		}
		return nil
	}
}

// ---------------------------------------------------------------------------
// mem/idle_task_bytes

// rssBytes is the resident memory of the process (Linux), 0 when unknown.
func rssBytes() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return 0
	}
	return pages * float64(os.Getpagesize())
}

// Bytes of resident memory per idle goroutine: 10^6 goroutines each
// blocked receiving from a channel nobody sends on, (RSS after they all
// blocked - RSS before) / 10^6. Then the channel is closed and all finish.
func memIdleTaskBytes(int) valueFunc {
	const tasks = 1_000_000
	return func() (float64, error) {
		never := make(chan struct{})
		var started atomic.Int64
		var finished sync.WaitGroup
		finished.Add(tasks)
		before := rssBytes()
		for i := 0; i < tasks; i++ {
			go func() {
				started.Add(1)
				<-never
				finished.Done()
			}()
		}
		for started.Load() < tasks {
			time.Sleep(time.Millisecond)
		}
		// Let the last ones reach the receive and block.
		time.Sleep(20 * time.Millisecond)
		after := rssBytes()
		close(never)
		finished.Wait()
		if before == 0 {
			return 0, errors.New("no resident-memory figure (/proc/self/statm)")
		}
		return (after - before) / tasks, nil
	}
}

// ---------------------------------------------------------------------------
// time/

// One iteration: a 1 s timer made (started) and stopped, on one goroutine.
func timerChurn(int) runFunc {
	return func(n int) error {
		stopped := 0
		for i := 0; i < n; i++ {
			t := time.NewTimer(time.Second)
			if t.Stop() {
				stopped++
			}
		}
		return check(stopped == n, "a 1 s timer fired at once")
	}
}

// One iteration as in timerChurn, from 4 goroutines at once (GOMAXPROCS 4),
// the iterations split between them.
func timerChurn4(int) runFunc {
	const tasks = 4
	return func(n int) error {
		per := n / tasks
		var stopped atomic.Int64
		var wg sync.WaitGroup
		wg.Add(tasks)
		for g := 0; g < tasks; g++ {
			go func() {
				defer wg.Done()
				k := int64(0)
				for i := 0; i < per; i++ {
					t := time.NewTimer(time.Second)
					if t.Stop() {
						k++
					}
				}
				stopped.Add(k)
			}()
		}
		wg.Wait()
		return check(stopped.Load() == int64(per*tasks), "a 1 s timer fired at once")
	}
}

// io/block_on_read, io/ct_block_on_read: the main goroutine writes one byte
// to a pipe and reads it back through an os.File, which os.Pipe makes
// non-blocking and registers with the runtime's netpoller (a read that
// would block parks the goroutine, as a task waits on its reactor).
func ioBlockOnRead(int) runFunc {
	r, w, err := os.Pipe()
	if err != nil {
		return func(int) error { return err }
	}
	one := []byte{'r'}
	buf := make([]byte, 1)
	return func(n int) error {
		for i := 0; i < n; i++ {
			if _, err := w.Write(one); err != nil {
				return err
			}
			got, err := r.Read(buf)
			if err != nil {
				return err
			}
			if err := check(got == 1 && buf[0] == 'r', "read"); err != nil {
				return err
			}
		}
		return nil
	}
}

// One sample: a goroutine sleeps 1 ms; the value is how late it woke (ns
// after the deadline).
func sleepLateness1ms(int) valueFunc {
	res := make(chan float64, 1)
	return func() (float64, error) {
		go func() {
			deadline := time.Now().Add(time.Millisecond)
			time.Sleep(time.Until(deadline))
			res <- float64(time.Since(deadline).Nanoseconds())
		}()
		return <-res, nil
	}
}

// ---------------------------------------------------------------------------
// wake/remote_idle

// One sample: a goroutine waits on a channel receive on the idle runtime;
// after ~1 ms (so the Ps go idle) the main goroutine, locked to its OS
// thread, takes t0 and sends; the goroutine takes t1 when it runs. The
// value is t1 - t0.
func wakeRemoteIdle(int) valueFunc {
	runtime.LockOSThread()
	return func() (float64, error) {
		ch := make(chan struct{}, 1)
		back := make(chan time.Time, 1)
		go func() {
			<-ch
			back <- time.Now()
		}()
		time.Sleep(time.Millisecond)
		t0 := time.Now()
		ch <- struct{}{}
		t1 := <-back
		return float64(t1.Sub(t0).Nanoseconds()), nil
	}
}

// ---------------------------------------------------------------------------
// spawn_blocking/burst_100k, combinators/join_all_10k

// One iteration: 100,000 goroutines doing nothing, joined with a WaitGroup.
// Go has no blocking pool (a goroutine that blocks in a system call gives
// its P to another thread), so this is the closest analogue.
func spawnBlockingBurst(int) runFunc {
	const jobs = 100_000
	return func(n int) error {
		for it := 0; it < n; it++ {
			var done atomic.Int64
			var wg sync.WaitGroup
			wg.Add(jobs)
			for i := 0; i < jobs; i++ {
				go func() {
					done.Add(int64(blackBox(1)))
					wg.Done()
				}()
			}
			wg.Wait()
			if done.Load() != jobs {
				return errors.New("blocking jobs were lost")
			}
		}
		return nil
	}
}

// One iteration: 10,000 goroutines that each yield once (Gosched) and
// store their index, joined with a WaitGroup. Go has no futures to join in
// one task; goroutines on GOMAXPROCS=1 are the closest analogue.
func joinAll10k(int) runFunc {
	const futs = 10_000
	results := make([]int, futs)
	return func(n int) error {
		for it := 0; it < n; it++ {
			var wg sync.WaitGroup
			wg.Add(futs)
			for i := 0; i < futs; i++ {
				go func(i int) {
					runtime.Gosched()
					results[i] = i
					wg.Done()
				}(i)
			}
			wg.Wait()
			sum := 0
			for _, v := range results {
				sum += v
			}
			if sum != futs*(futs-1)/2 {
				return errors.New("a joined goroutine was lost")
			}
		}
		return nil
	}
}
