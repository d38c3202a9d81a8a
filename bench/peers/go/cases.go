package main

// The cases, one function each, following tokio/benches/*.rs with the same
// constants and the same work per iteration. Each setup function builds what
// Tokio builds outside b.iter and returns a function that runs n iterations of
// what Tokio puts inside it, plus a check that every goroutine ran and every
// message arrived.
//
// Mapping (see bench/README.md, "The Go peer"):
//   tokio::spawn / rt.spawn          go statement
//   rt.block_on(f)                   run f on the calling goroutine
//   JoinHandle awaited for a value   channel of capacity 1
//   join of a set of tasks           sync.WaitGroup
//   yield_now                        runtime.Gosched
//   mpsc bounded(n)                  chan of capacity n
//   mpsc unbounded                   unboundedQueue (mutex + slice + signal)
//   oneshot                          chan of capacity 1
//   Semaphore(n)                     chan struct{} of capacity n
//   Notify (notify_one)              notifier: chan struct{} of capacity 1
//   RwLock                           sync.RWMutex
//   broadcast                        one buffered chan per subscriber
//   watch                            watchValue (RWMutex + version + closed chan)
//   timeout                          context.WithTimeout
//   spawn_blocking                   go statement (Go has no blocking pool)

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func allCases() []benchCase {
	return []benchCase{
		// name                                           workers iters warmup batch setup
		{"rt_multi/spawn_many_local", 4, 100, 5, 1, spawnManyLocal},
		{"rt_multi/spawn_many_remote_idle", 4, 100, 5, 1, spawnManyRemoteIdle},
		{"rt_multi/spawn_many_remote_busy1", 4, 50, 3, 1, spawnManyRemoteBusy1},
		{"rt_multi/spawn_many_remote_busy2", 4, 20, 2, 1, spawnManyRemoteBusy2},
		{"rt_multi/ping_pong", 4, 300, 10, 1, pingPong},
		{"rt_multi/yield_many", 4, 25, 2, 1, yieldMany},
		{"rt_multi/chained_spawn", 4, 1000, 20, 1, chainedSpawn},
		{"spawn/spawn", 1, 3000, 50, 20, spawnOne},
		{"spawn/spawn10", 1, 1000, 50, 10, spawnTen},
		{"sync_mpsc/contention_bounded", 6, 150, 10, 1, mpscContentionBounded},
		{"sync_mpsc/contention_bounded_full", 6, 300, 10, 1, mpscContentionBoundedFull},
		{"sync_mpsc/contention_unbounded", 6, 500, 10, 1, mpscContentionUnbounded},
		{"sync_mpsc/uncontended_bounded", 6, 150, 10, 1, mpscUncontendedBounded},
		{"sync_mpsc/uncontended_unbounded", 6, 1000, 10, 1, mpscUncontendedUnbounded},
		{"sync_mpsc_oneshot/request_reply", 1, 100, 5, 1, requestReply},
		{"sync_semaphore/uncontended_multi", 6, 500, 20, 1000, semaphoreUncontendedMulti},
		{"sync_semaphore/uncontended_concurrent_multi", 6, 2000, 100, 10, semaphoreUncontendedConcurrentMulti},
		{"sync_semaphore/contention_concurrent_multi", 6, 2000, 100, 10, semaphoreContentionConcurrentMulti},
		{"sync_notify/notify_one_10", 6, 200, 10, 1, notifyOne10},
		{"sync_notify/notify_one_100", 6, 500, 10, 1, notifyOne100},
		{"sync_rwlock/read_uncontended", 6, 500, 20, 1000, rwlockReadUncontended},
		{"sync_rwlock/read_concurrent_uncontended_multi", 6, 2000, 100, 10, rwlockReadConcurrentUncontendedMulti},
		{"sync_rwlock/read_concurrent_contended_multi", 6, 2000, 100, 10, rwlockReadConcurrentContendedMulti},
		{"sync_rwlock/read_concurrent_contended", 1, 2000, 100, 100, rwlockReadConcurrentContended},
		{"sync_broadcast/contended_10", 6, 100, 5, 1, broadcastContended10},
		{"sync_broadcast/contended_100", 6, 20, 2, 1, broadcastContended100},
		{"sync_watch/contention_resubscribe_10", 6, 100, 5, 1, watchResubscribe10},
		{"sync_watch/contention_resubscribe_100", 6, 20, 2, 1, watchResubscribe100},
		// Not Tokio's rows: the four above without doWork (bench/README.md).
		{"sync_broadcast/contended_10_bare", 6, 100, 5, 1, broadcastContended10Bare},
		{"sync_broadcast/contended_100_bare", 6, 20, 2, 1, broadcastContended100Bare},
		{"sync_watch/contention_resubscribe_10_bare", 6, 100, 5, 1, watchResubscribe10Bare},
		{"sync_watch/contention_resubscribe_100_bare", 6, 20, 2, 1, watchResubscribe100Bare},
		{"time/timeout", 8, 30, 3, 16000, timeTimeout},
		{"spawn_blocking/spawn_blocking", 0, 50, 3, 1, spawnBlocking},
		{"remote_spawn/threads_1", 0, 40, 3, 1, remoteSpawn1},
		{"remote_spawn/threads_2", 0, 40, 3, 1, remoteSpawn2},
		{"remote_spawn/threads_4", 0, 40, 3, 1, remoteSpawn4},
		{"current_thread/spawn_join_10k", 1, 100, 5, 1, ctSpawnJoin10k},
		{"current_thread/yield_1m", 1, 10, 2, 1, ctYield1m},
	}
}

// ---------------------------------------------------------------------------
// Helpers

// blackBox keeps the compiler from discarding a value.
//
//go:noinline
func blackBox(x int) int { return x }

func check(ok bool, what string) error {
	if ok {
		return nil
	}
	return errors.New(what)
}

// splitMix64 stands in for rand's StdRng in Tokio's broadcast and watch
// benches; the Rust and C versions use the same generator and seeds.
type splitMix64 uint64

func (s *splitMix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// nextF64 is uniform in [0, 1) with 53 random bits, like rand's gen::<f64>().
func (s *splitMix64) nextF64() float64 {
	return float64(s.next()>>11) * (1.0 / (1 << 53))
}

// doWork is the per-message work of the broadcast and watch benches: format
// ten random floats into a fresh buffer and add up its bytes. 'f' with
// precision -1 prints the shortest round-trip form, as Rust's Display does.
func doWork(rng *splitMix64) uint32 {
	var msg []byte
	for i := 1; i <= 10; i++ {
		msg = append(msg, ' ')
		msg = strconv.AppendInt(msg, int64(i), 10)
		msg = append(msg, '=')
		msg = strconv.AppendFloat(msg, rng.nextF64(), 'f', -1, 64)
	}
	var sum uint32
	for _, c := range msg {
		sum += uint32(c)
	}
	return sum
}

// stall is Tokio's stall(): burn 10 µs, yielding the OS thread in between.
func stall() {
	start := time.Now()
	for time.Since(start) < 10*time.Microsecond {
		yieldThread()
	}
}

// notifier is the closest std-only Go form of tokio::sync::Notify used with
// notify_one: a channel holding at most one permit. notifyOne hands the
// permit to a waiting goroutine, or stores it when none waits, or drops it
// when one is already stored; notified waits for (and consumes) a permit.
type notifier chan struct{}

func newNotifier() notifier { return make(notifier, 1) }

func (n notifier) notifyOne() {
	select {
	case n <- struct{}{}:
	default:
	}
}

func (n notifier) notified() { <-n }

// unboundedQueue is the closest std-only Go form of an unbounded mpsc
// channel (Go channels are always bounded): a mutex-protected slice, and a
// notifier that wakes the single receiver when it found the queue empty.
type unboundedQueue struct {
	mu     sync.Mutex
	items  []int
	head   int
	signal notifier
}

func newUnboundedQueue() *unboundedQueue {
	return &unboundedQueue{signal: newNotifier()}
}

func (q *unboundedQueue) send(v int) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.signal.notifyOne()
}

func (q *unboundedQueue) recv() int {
	for {
		q.mu.Lock()
		if q.head < len(q.items) {
			v := q.items[q.head]
			q.head++
			if q.head == len(q.items) {
				q.items = q.items[:0]
				q.head = 0
			}
			q.mu.Unlock()
			return v
		}
		q.mu.Unlock()
		q.signal.notified()
	}
}

// watchValue is the closest std-only Go form of tokio::sync::watch: the
// value and a version under an RWMutex, and a channel that is closed (and
// replaced) on every send to wake every receiver at once.
type watchValue struct {
	mu      sync.RWMutex
	value   int
	version uint64
	changed chan struct{}
}

func newWatch(v int) *watchValue {
	return &watchValue{value: v, changed: make(chan struct{})}
}

func (w *watchValue) send(v int) {
	w.mu.Lock()
	w.value = v
	w.version++
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

// waitChanged returns once the version differs from *seen, and records it.
func (w *watchValue) waitChanged(seen *uint64) {
	for {
		w.mu.RLock()
		if w.version != *seen {
			*seen = w.version
			w.mu.RUnlock()
			return
		}
		ch := w.changed
		w.mu.RUnlock()
		<-ch
	}
}

func (w *watchValue) borrow() int {
	w.mu.RLock()
	v := w.value
	w.mu.RUnlock()
	return v
}

// ---------------------------------------------------------------------------
// rt_multi_threaded.rs

const numSpawn = 10_000

// busySettle is how long the busy cases let their background load run
// before the first sample. Criterion's 3 s warm-up gives Tokio's own run the
// same; without it the first samples of busy2 run before the load has built
// up and are 100x faster than the rest.
const busySettle = 100 * time.Millisecond

func spawnManyLocal(workers int) runFunc {
	done := make(chan struct{}, 1000)
	var rem atomic.Int64
	return func(n int) error {
		for it := 0; it < n; it++ {
			rem.Store(numSpawn)
			for i := 0; i < numSpawn; i++ {
				go func() {
					if rem.Add(-1) == 0 {
						done <- struct{}{}
					}
				}()
			}
			<-done
			if err := check(rem.Load() == 0, "not every spawned goroutine ran"); err != nil {
				return err
			}
		}
		return nil
	}
}

// spawnAndJoin spawns count empty goroutines and waits for all of them.
func spawnAndJoin(count int) error {
	var wg sync.WaitGroup
	wg.Add(count)
	for i := 0; i < count; i++ {
		go func() {
			wg.Done()
		}()
	}
	wg.Wait() // returns only after count Done calls: every goroutine ran
	return nil
}

func spawnManyRemote(count int) runFunc {
	return func(n int) error {
		for it := 0; it < n; it++ {
			if err := spawnAndJoin(count); err != nil {
				return err
			}
		}
		return nil
	}
}

func spawnManyRemoteIdle(workers int) runFunc {
	return spawnManyRemote(numSpawn)
}

func spawnManyRemoteBusy1(workers int) runFunc {
	var flag atomic.Bool
	flag.Store(true)
	// Keep the Ps busy with goroutines that yield, then burn CPU.
	for i := 0; i < 2*workers; i++ {
		go func() {
			for flag.Load() {
				runtime.Gosched()
				stall()
			}
		}()
	}
	time.Sleep(busySettle)
	return spawnManyRemote(numSpawn)
}

func busyChain(flag *atomic.Bool) {
	go func() {
		if flag.Load() {
			stall()
			busyChain(flag)
		}
	}()
}

func spawnManyRemoteBusy2(workers int) runFunc {
	var flag atomic.Bool
	flag.Store(true)
	// Keep the Ps busy with goroutines that burn CPU and spawn their successor.
	for i := 0; i < workers; i++ {
		go busyChain(&flag)
	}
	time.Sleep(busySettle)
	return spawnManyRemote(1_000)
}

func yieldMany(workers int) runFunc {
	const numYield = 1_000
	const tasks = 200
	done := make(chan struct{}, tasks)
	return func(n int) error {
		for it := 0; it < n; it++ {
			for t := 0; t < tasks; t++ {
				go func() {
					for i := 0; i < numYield; i++ {
						runtime.Gosched()
					}
					done <- struct{}{}
				}()
			}
			for t := 0; t < tasks; t++ {
				<-done
			}
		}
		return nil
	}
}

func pingPong(workers int) runFunc {
	const numPings = 1_000
	done := make(chan struct{}, 1000)
	var rem atomic.Int64
	return func(n int) error {
		for it := 0; it < n; it++ {
			rem.Store(numPings)
			go func() {
				for i := 0; i < numPings; i++ {
					go func() {
						ping := make(chan struct{}, 1)
						pong := make(chan struct{}, 1)
						go func() {
							<-ping
							pong <- struct{}{}
						}()
						ping <- struct{}{}
						<-pong
						if rem.Add(-1) == 0 {
							done <- struct{}{}
						}
					}()
				}
			}()
			<-done
			if err := check(rem.Load() == 0, "not every ping got its pong"); err != nil {
				return err
			}
		}
		return nil
	}
}

func chain(done chan<- int, left int) {
	if left == 0 {
		done <- 0
	} else {
		go chain(done, left-1)
	}
}

func chainedSpawn(workers int) runFunc {
	const iter = 1_000
	done := make(chan int, 1000)
	return func(n int) error {
		for it := 0; it < n; it++ {
			go chain(done, iter)
			if err := check(<-done == 0, "the spawn chain did not reach its end"); err != nil {
				return err
			}
		}
		return nil
	}
}

// ---------------------------------------------------------------------------
// spawn.rs (threaded_scheduler_spawn, threaded_scheduler_spawn10)

func work(result chan<- int) {
	val := 1 + 1
	runtime.Gosched()
	result <- blackBox(val)
}

func spawnOne(workers int) runFunc {
	return func(n int) error {
		for it := 0; it < n; it++ {
			h := make(chan int, 1)
			go work(h)
			if err := check(<-h == 2, "the goroutine returned the wrong value"); err != nil {
				return err
			}
		}
		return nil
	}
}

func spawnTen(workers int) runFunc {
	return func(n int) error {
		var handles [10]chan int
		for it := 0; it < n; it++ {
			for i := range handles {
				handles[i] = make(chan int, 1)
				go work(handles[i])
			}
			sum := 0
			for _, h := range handles {
				sum += <-h
			}
			if err := check(sum == 20, "a goroutine returned the wrong value"); err != nil {
				return err
			}
		}
		return nil
	}
}

// ---------------------------------------------------------------------------
// sync_mpsc.rs: five producers of 1000 values each, or one goroutine sending
// 5000 then receiving them.

const mpscSenders = 5
const mpscPerSender = 1_000

func mpscContentionBoundedCap(capacity int) runFunc {
	return func(n int) error {
		for it := 0; it < n; it++ {
			ch := make(chan int, capacity)
			for s := 0; s < mpscSenders; s++ {
				go func() {
					for i := 0; i < mpscPerSender; i++ {
						ch <- i
					}
				}()
			}
			sum := 0
			for i := 0; i < mpscSenders*mpscPerSender; i++ {
				sum += <-ch
			}
			want := mpscSenders * (mpscPerSender - 1) * mpscPerSender / 2
			if err := check(sum == want, "messages were lost"); err != nil {
				return err
			}
		}
		return nil
	}
}

func mpscContentionBounded(workers int) runFunc { return mpscContentionBoundedCap(1_000_000) }

func mpscContentionBoundedFull(workers int) runFunc { return mpscContentionBoundedCap(100) }

func mpscContentionUnbounded(workers int) runFunc {
	return func(n int) error {
		for it := 0; it < n; it++ {
			q := newUnboundedQueue()
			for s := 0; s < mpscSenders; s++ {
				go func() {
					for i := 0; i < mpscPerSender; i++ {
						q.send(i)
					}
				}()
			}
			sum := 0
			for i := 0; i < mpscSenders*mpscPerSender; i++ {
				sum += q.recv()
			}
			want := mpscSenders * (mpscPerSender - 1) * mpscPerSender / 2
			if err := check(sum == want, "messages were lost"); err != nil {
				return err
			}
		}
		return nil
	}
}

func mpscUncontendedBounded(workers int) runFunc {
	return func(n int) error {
		for it := 0; it < n; it++ {
			ch := make(chan int, 1_000_000)
			for i := 0; i < 5000; i++ {
				ch <- i
			}
			sum := 0
			for i := 0; i < 5000; i++ {
				sum += <-ch
			}
			if err := check(sum == 4999*5000/2, "messages were lost"); err != nil {
				return err
			}
		}
		return nil
	}
}

func mpscUncontendedUnbounded(workers int) runFunc {
	return func(n int) error {
		for it := 0; it < n; it++ {
			q := newUnboundedQueue()
			for i := 0; i < 5000; i++ {
				q.send(i)
			}
			sum := 0
			for i := 0; i < 5000; i++ {
				sum += q.recv()
			}
			if err := check(sum == 4999*5000/2, "messages were lost"); err != nil {
				return err
			}
		}
		return nil
	}
}

// ---------------------------------------------------------------------------
// sync_mpsc_oneshot.rs (request_reply_multi_threaded)

func requestReply(workers int) runFunc {
	requests := make(chan chan struct{}, 10)
	go func() {
		for reply := range requests {
			reply <- struct{}{}
		}
	}()
	return func(n int) error {
		for it := 0; it < n; it++ {
			replies := 0
			for i := 0; i < 1_000; i++ {
				reply := make(chan struct{}, 1)
				requests <- reply
				<-reply
				replies++
			}
			if err := check(replies == 1_000, "requests went unanswered"); err != nil {
				return err
			}
		}
		return nil
	}
}

// ---------------------------------------------------------------------------
// sync_semaphore.rs: a semaphore of n permits is a chan struct{} of capacity
// n; acquiring sends, releasing receives.

func semaphoreUncontendedMulti(workers int) runFunc {
	sem := make(chan struct{}, 10)
	return func(n int) error {
		for it := 0; it < n; it++ {
			for i := 0; i < 6; i++ {
				sem <- struct{}{}
				<-sem
			}
		}
		return check(len(sem) == 0, "permits leaked")
	}
}

func semaphoreConcurrent(permits int) runFunc {
	sem := make(chan struct{}, permits)
	return func(n int) error {
		var wg sync.WaitGroup
		for it := 0; it < n; it++ {
			wg.Add(6)
			for i := 0; i < 6; i++ {
				go func() {
					sem <- struct{}{}
					<-sem
					wg.Done()
				}()
			}
			wg.Wait()
			if err := check(len(sem) == 0, "permits leaked"); err != nil {
				return err
			}
		}
		return nil
	}
}

func semaphoreUncontendedConcurrentMulti(workers int) runFunc { return semaphoreConcurrent(10) }

func semaphoreContentionConcurrentMulti(workers int) runFunc { return semaphoreConcurrent(5) }

// ---------------------------------------------------------------------------
// sync_notify.rs (notify_one::<10>, notify_one::<100>)

func notifyOneN(waiters int) runFunc {
	const nIters = 500
	notify := newNotifier()
	var counter atomic.Int64
	for i := 0; i < waiters; i++ {
		go func() {
			for {
				notify.notified()
				counter.Add(1)
			}
		}()
	}
	return func(n int) error {
		for it := 0; it < n; it++ {
			counter.Store(0)
			for {
				notify.notifyOne()
				if counter.Load() >= nIters {
					break
				}
			}
		}
		return nil
	}
}

func notifyOne10(workers int) runFunc { return notifyOneN(10) }

func notifyOne100(workers int) runFunc { return notifyOneN(100) }

// ---------------------------------------------------------------------------
// sync_rwlock.rs

func readTask(lock *sync.RWMutex, wg *sync.WaitGroup) {
	lock.RLock()
	lock.RUnlock()
	wg.Done()
}

func rwlockReadUncontended(workers int) runFunc {
	var lock sync.RWMutex
	return func(n int) error {
		for it := 0; it < n; it++ {
			for i := 0; i < 6; i++ {
				lock.RLock()
				lock.RUnlock()
			}
		}
		return nil
	}
}

func rwlockReadConcurrentUncontendedMulti(workers int) runFunc {
	var lock sync.RWMutex
	return func(n int) error {
		var wg sync.WaitGroup
		for it := 0; it < n; it++ {
			wg.Add(6)
			for i := 0; i < 6; i++ {
				go readTask(&lock, &wg)
			}
			wg.Wait()
		}
		return nil
	}
}

// rwlockReadersAfterWriter takes the write lock, starts five readers, drops
// the write lock and waits for the readers; Tokio's try_join!/join! does the
// same in that order.
func rwlockReadersAfterWriter(lock *sync.RWMutex, n int) error {
	var wg sync.WaitGroup
	for it := 0; it < n; it++ {
		lock.Lock()
		wg.Add(5)
		for i := 0; i < 5; i++ {
			go readTask(lock, &wg)
		}
		lock.Unlock()
		wg.Wait()
	}
	if !lock.TryLock() {
		return errors.New("the lock was left held")
	}
	lock.Unlock()
	return nil
}

func rwlockReadConcurrentContendedMulti(workers int) runFunc {
	var lock sync.RWMutex
	return func(n int) error { return rwlockReadersAfterWriter(&lock, n) }
}

// Tokio runs this one on a current-thread runtime; here GOMAXPROCS is 1.
func rwlockReadConcurrentContended(workers int) runFunc {
	var lock sync.RWMutex
	return func(n int) error { return rwlockReadersAfterWriter(&lock, n) }
}

// ---------------------------------------------------------------------------
// sync_broadcast.rs (contention::<10>, ::<100>): a broadcast channel of
// capacity 1000 is one chan of capacity 1000 per subscriber, and a send is a
// send on each of them.

const fanoutIters = 100

// waitGroup is Tokio's (AtomicUsize, Notify) pair from these benches.
type waitGroup struct {
	count atomic.Int64
	done  notifier
}

func (wg *waitGroup) arrive() {
	if wg.count.Add(-1) == 0 {
		wg.done.notifyOne()
	}
}

func (wg *waitGroup) wait() {
	for wg.count.Load() > 0 {
		wg.done.notified()
	}
}

// bareWork is the per-message work of the _bare rows: one SplitMix64 step
// in place of doWork's formatting (weft's and Tokio's _bare rows do the same).
func bareWork(rng *splitMix64) uint32 { return uint32(rng.next()) }

func broadcastContended(tasks int) runFunc { return broadcastContendedWith(tasks, doWork) }

func broadcastContendedWith(tasks int, work func(*splitMix64) uint32) runFunc {
	subscribers := make([]chan int, tasks)
	wg := &waitGroup{done: newNotifier()}
	for i := range subscribers {
		rx := make(chan int, 1000)
		subscribers[i] = rx
		rng := splitMix64(i)
		go func() {
			for range rx {
				blackBox(int(work(&rng)))
				wg.arrive()
			}
		}()
	}
	return func(n int) error {
		for it := 0; it < n; it++ {
			for i := 0; i < fanoutIters; i++ {
				if wg.count.Add(int64(tasks)) != int64(tasks) {
					return errors.New("a receiver missed a message")
				}
				for _, tx := range subscribers {
					tx <- i
				}
				wg.wait()
			}
		}
		return nil
	}
}

func broadcastContended10(workers int) runFunc { return broadcastContended(10) }

func broadcastContended100(workers int) runFunc { return broadcastContended(100) }

func broadcastContended10Bare(workers int) runFunc { return broadcastContendedWith(10, bareWork) }

func broadcastContended100Bare(workers int) runFunc { return broadcastContendedWith(100, bareWork) }

// ---------------------------------------------------------------------------
// sync_watch.rs (contention_resubscribe::<10>, ::<100>)

func watchResubscribe(tasks int) runFunc { return watchResubscribeWith(tasks, doWork) }

func watchResubscribeWith(tasks int, work func(*splitMix64) uint32) runFunc {
	w := newWatch(0)
	wg := &waitGroup{done: newNotifier()}
	for i := 0; i < tasks; i++ {
		rng := splitMix64(i)
		go func() {
			var seen uint64
			for {
				w.waitChanged(&seen)
				blackBox(w.borrow()) // contend on the value's lock
				blackBox(int(work(&rng)))
				wg.arrive()
			}
		}()
	}
	return func(n int) error {
		for it := 0; it < n; it++ {
			result := make(chan error, 1)
			go func() {
				for i := 0; i < fanoutIters; i++ {
					if wg.count.Add(int64(tasks)) != int64(tasks) {
						result <- errors.New("a receiver missed a change")
						return
					}
					w.send(blackBox(42))
					wg.wait()
				}
				result <- nil
			}()
			if err := <-result; err != nil {
				return err
			}
		}
		return nil
	}
}

func watchResubscribe10(workers int) runFunc { return watchResubscribe(10) }

func watchResubscribe100(workers int) runFunc { return watchResubscribe(100) }

func watchResubscribe10Bare(workers int) runFunc { return watchResubscribeWith(10, bareWork) }

func watchResubscribe100Bare(workers int) runFunc { return watchResubscribeWith(100, bareWork) }

// ---------------------------------------------------------------------------
// time_timeout.rs (multi_thread_timeout-8): one iteration is one quick job
// run under a 1 s timeout; a sample splits n of them over `workers`
// goroutines. Go's idiom for a deadline on an operation is a context.

func quickJob(ctx context.Context) int {
	if ctx.Err() != nil {
		return 0
	}
	return 1
}

func timeTimeout(workers int) runFunc {
	return func(n int) error {
		perTask := n / workers
		results := make([]int, workers)
		var wg sync.WaitGroup
		wg.Add(workers)
		for t := 0; t < workers; t++ {
			go func(t int) {
				ok := 0
				for i := 0; i < perTask; i++ {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					if blackBox(quickJob(ctx)) == 1 {
						ok++
					}
					cancel()
				}
				results[t] = ok
				wg.Done()
			}(t)
		}
		wg.Wait()
		done := 0
		for _, r := range results {
			done += r
		}
		return check(done == perTask*workers, "a timeout fired or a job was lost")
	}
}

// ---------------------------------------------------------------------------
// spawn_blocking.rs (concurrency 1): one goroutine, 100 batches of 16 no-op
// jobs, each batch awaited before the next. Go has no separate blocking
// pool: blocking work simply runs in a goroutine.

func spawnBlocking(workers int) runFunc {
	const numBatches = 100
	const batchSize = 16
	return func(n int) error {
		for it := 0; it < n; it++ {
			result := make(chan int, 1)
			go func() {
				done := 0
				var jobs [batchSize]int
				var wg sync.WaitGroup
				for b := 0; b < numBatches; b++ {
					wg.Add(batchSize)
					for j := 0; j < batchSize; j++ {
						go func(j int) {
							jobs[j] = 1 + blackBox(0)
							wg.Done()
						}(j)
					}
					wg.Wait()
					for j := range jobs {
						done += jobs[j]
						jobs[j] = 0
					}
				}
				result <- done
			}()
			if err := check(<-result == numBatches*batchSize, "blocking jobs were lost"); err != nil {
				return err
			}
		}
		return nil
	}
}

// ---------------------------------------------------------------------------
// remote_spawn.rs: 12,800 empty goroutines spawned from `threads`
// goroutines, each locked to its own OS thread and released together, then
// all joined. Go has no "outside the runtime": the spawners hold Ps too.

const remoteTotal = 12_800

func remoteSpawn(threads int) runFunc {
	perThread := remoteTotal / threads
	return func(n int) error {
		for it := 0; it < n; it++ {
			var tasks, spawners, ready sync.WaitGroup
			start := make(chan struct{})
			tasks.Add(remoteTotal)
			spawners.Add(threads)
			ready.Add(threads)
			for t := 0; t < threads; t++ {
				go func() {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					ready.Done()
					<-start
					for i := 0; i < perThread; i++ {
						go func() {
							tasks.Done()
						}()
					}
					spawners.Done()
				}()
			}
			ready.Wait() // the barrier: every spawner is on its thread
			close(start)
			spawners.Wait()
			tasks.Wait() // every spawned goroutine ran
		}
		return nil
	}
}

func remoteSpawn1(workers int) runFunc { return remoteSpawn(1) }

func remoteSpawn2(workers int) runFunc { return remoteSpawn(2) }

func remoteSpawn4(workers int) runFunc { return remoteSpawn(4) }

// ---------------------------------------------------------------------------
// Current-thread rows: not in tokio/benches; the same work as weft's
// bench/rt_cases.c. workers is 1 in the table, so GOMAXPROCS is 1.

// ctSpawnJoin10k spawns 10,000 empty goroutines from the main goroutine and
// waits for all of them (the WaitGroup stands in for awaiting every handle:
// Wait returns only after all 10,000 ran), as spawn_many_remote_idle does.
func ctSpawnJoin10k(workers int) runFunc {
	return spawnManyRemote(numSpawn)
}

// ctYield1m starts one goroutine that yields 1,000,000 times and waits for
// the count it returns.
func ctYield1m(workers int) runFunc {
	const numYield1m = 1_000_000
	return func(n int) error {
		for it := 0; it < n; it++ {
			h := make(chan int, 1)
			go func() {
				yields := 0
				for i := 0; i < numYield1m; i++ {
					runtime.Gosched()
					yields++
				}
				h <- yields
			}()
			if err := check(<-h == numYield1m, "the yielding goroutine did not finish"); err != nil {
				return err
			}
		}
		return nil
	}
}
