//! The cases, one function each, following tokio/benches/*.rs: the same
//! runtime flavour and worker count, the same constants, the same work per
//! iteration. Each setup function builds what Tokio builds outside `b.iter`
//! and returns a closure that runs `n` iterations of what Tokio puts inside it,
//! plus a check that every task ran and every message arrived.

use crate::{Case, RunFn, Setup, ValueFn};

use std::fmt::Write;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{mpsc as std_mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

use tokio::runtime::{self, Runtime};
use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify, RwLock, Semaphore};

pub fn all() -> Vec<Case> {
    #[rustfmt::skip]
    let mut table = vec![
        //   name                                            workers iters warmup batch setup
        case("rt_multi/spawn_many_local",                      4,   100,   5,     1, spawn_many_local),
        case("rt_multi/spawn_many_remote_idle",                4,   100,   5,     1, spawn_many_remote_idle),
        case("rt_multi/spawn_many_remote_busy1",               4,    50,   3,     1, spawn_many_remote_busy1),
        case("rt_multi/spawn_many_remote_busy2",               4,    20,   2,     1, spawn_many_remote_busy2),
        case("rt_multi/ping_pong",                             4,   300,  10,     1, ping_pong),
        case("rt_multi/yield_many",                            4,    25,   2,     1, yield_many),
        case("rt_multi/chained_spawn",                         4,  1000,  20,     1, chained_spawn),
        case("spawn/spawn",                                    1,  3000,  50,    20, spawn_one),
        case("spawn/spawn10",                                  1,  1000,  50,    10, spawn_ten),
        case("sync_mpsc/contention_bounded",                   6,   150,  10,     1, mpsc_contention_bounded),
        case("sync_mpsc/contention_bounded_full",              6,   300,  10,     1, mpsc_contention_bounded_full),
        case("sync_mpsc/contention_unbounded",                 6,   500,  10,     1, mpsc_contention_unbounded),
        case("sync_mpsc/uncontended_bounded",                  6,   150,  10,     1, mpsc_uncontended_bounded),
        case("sync_mpsc/uncontended_unbounded",                6,  1000,  10,     1, mpsc_uncontended_unbounded),
        case("sync_mpsc_oneshot/request_reply",                1,   100,   5,     1, request_reply),
        case("sync_semaphore/uncontended_multi",               6,   500,  20,  1000, semaphore_uncontended_multi),
        case("sync_semaphore/uncontended_concurrent_multi",    6,  2000, 100,    10, semaphore_uncontended_concurrent_multi),
        case("sync_semaphore/contention_concurrent_multi",     6,  2000, 100,    10, semaphore_contention_concurrent_multi),
        case("sync_notify/notify_one_10",                      6,   200,  10,     1, notify_one_10),
        case("sync_notify/notify_one_100",                     6,   500,  10,     1, notify_one_100),
        case("sync_rwlock/read_uncontended",                   6,   500,  20,  1000, rwlock_read_uncontended),
        case("sync_rwlock/read_concurrent_uncontended_multi",  6,  2000, 100,    10, rwlock_read_concurrent_uncontended_multi),
        case("sync_rwlock/read_concurrent_contended_multi",    6,  2000, 100,    10, rwlock_read_concurrent_contended_multi),
        case("sync_rwlock/read_concurrent_contended",          1,  2000, 100,   100, rwlock_read_concurrent_contended),
        case("sync_broadcast/contended_10",                    6,   100,   5,     1, broadcast_contended_10),
        case("sync_broadcast/contended_100",                   6,    20,   2,     1, broadcast_contended_100),
        case("sync_watch/contention_resubscribe_10",           6,   100,   5,     1, watch_resubscribe_10),
        case("sync_watch/contention_resubscribe_100",          6,    20,   2,     1, watch_resubscribe_100),
        // Not Tokio's rows: the four above without do_work (bench/README.md).
        case("sync_broadcast/contended_10_bare",               6,   100,   5,     1, broadcast_contended_10_bare),
        case("sync_broadcast/contended_100_bare",              6,    20,   2,     1, broadcast_contended_100_bare),
        case("sync_watch/contention_resubscribe_10_bare",      6,   100,   5,     1, watch_resubscribe_10_bare),
        case("sync_watch/contention_resubscribe_100_bare",     6,    20,   2,     1, watch_resubscribe_100_bare),
        case("time/timeout",                                   8,    30,   3, 16000, time_timeout),
        case("spawn_blocking/spawn_blocking",                  0,    50,   3,     1, spawn_blocking),
        case("remote_spawn/threads_1",                         0,    40,   3,     1, remote_spawn_1),
        case("remote_spawn/threads_2",                         0,    40,   3,     1, remote_spawn_2),
        case("remote_spawn/threads_4",                         0,    40,   3,     1, remote_spawn_4),
        case("current_thread/spawn_join_10k",                  1,   100,   5,     1, ct_spawn_join_10k),
        case("current_thread/yield_1m",                        1,    10,   2,     1, ct_yield_1m),
    ];
    table.extend(crate::extra::all());
    table
}

pub(crate) fn case(
    name: &'static str,
    workers: usize,
    iters: u64,
    warmup: u64,
    batch: u64,
    setup: fn(usize) -> RunFn,
) -> Case {
    Case {
        name,
        workers,
        iters,
        warmup,
        batch,
        setup: Setup::Timed(setup),
        unit: "ns/iter",
    }
}

/// A value-mode case: `setup` returns a closure that takes one sample and
/// returns its value in `unit`.
pub(crate) fn vcase(
    name: &'static str,
    workers: usize,
    iters: u64,
    warmup: u64,
    unit: &'static str,
    setup: fn(usize) -> ValueFn,
) -> Case {
    Case {
        name,
        workers,
        iters,
        warmup,
        batch: 1,
        setup: Setup::Value(setup),
        unit,
    }
}

// ---------------------------------------------------------------------------
// Helpers

/// Keeps the optimiser from removing a value (std::hint::black_box needs
/// Rust 1.66; Debian 12 ships 1.63).
#[inline(never)]
pub(crate) fn black_box<T>(x: T) -> T {
    // SAFETY: reads a valid, initialised value and forgets the original, so
    // the value is moved exactly once.
    unsafe {
        let copy = std::ptr::read_volatile(&x);
        std::mem::forget(x);
        copy
    }
}

pub(crate) fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

pub(crate) fn rt_multi(workers: usize) -> Runtime {
    runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("building the runtime")
}

pub(crate) fn rt_multi_all(workers: usize) -> Runtime {
    runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("building the runtime")
}

fn rt_current() -> Runtime {
    runtime::Builder::new_current_thread()
        .build()
        .expect("building the runtime")
}

/// SplitMix64, standing in for rand's StdRng in Tokio's broadcast and watch
/// benches; the C and Go peers use the same generator and seeds.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits, as rand's `gen::<f64>()`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The per-message work of the broadcast and watch benches: format ten
/// random floats into a fresh string and add up its bytes.
fn do_work(rng: &mut SplitMix64) -> u32 {
    let mut message = String::new();
    for i in 1..=10 {
        let _ = write!(&mut message, " {}={}", i, rng.next_f64());
    }
    message
        .as_bytes()
        .iter()
        .map(|&c| c as u32)
        .fold(0, u32::wrapping_add)
}

/// Tokio's `stall()`: burn 10 µs, yielding the OS thread in between.
fn stall() {
    let start = Instant::now();
    while start.elapsed() < Duration::from_micros(10) {
        std::thread::yield_now();
    }
}

// ---------------------------------------------------------------------------
// rt_multi_threaded.rs

const NUM_SPAWN: usize = 10_000;

/// How long the busy cases let their background load run before the first
/// sample. Criterion's 3 s warm-up gives Tokio's own run the same; without it
/// the first samples run before the load has built up.
const BUSY_SETTLE: Duration = Duration::from_millis(100);

fn spawn_many_local(workers: usize) -> RunFn {
    let rt = rt_multi_all(workers);
    let (tx, rx) = std_mpsc::sync_channel::<()>(1000);
    let rem = Arc::new(AtomicUsize::new(0));
    Box::new(move |n| {
        for _ in 0..n {
            rem.store(NUM_SPAWN, Relaxed);
            rt.block_on(async {
                for _ in 0..NUM_SPAWN {
                    let tx = tx.clone();
                    let rem = rem.clone();
                    tokio::spawn(async move {
                        if rem.fetch_sub(1, Relaxed) == 1 {
                            tx.send(()).unwrap();
                        }
                    });
                }
                rx.recv().unwrap();
            });
            check(rem.load(Relaxed) == 0, "not every spawned task ran")?;
        }
        Ok(())
    })
}

fn spawn_remote_and_join(rt: &Runtime, count: usize) -> Result<(), String> {
    let mut handles = Vec::with_capacity(count);
    for _ in 0..count {
        handles.push(rt.spawn(async {}));
    }
    let joined = rt.block_on(async {
        let mut joined = 0usize;
        for handle in handles {
            if handle.await.is_ok() {
                joined += 1;
            }
        }
        joined
    });
    check(joined == count, "not every remotely spawned task completed")
}

fn spawn_many_remote_idle(workers: usize) -> RunFn {
    let rt = rt_multi_all(workers);
    Box::new(move |n| {
        for _ in 0..n {
            spawn_remote_and_join(&rt, NUM_SPAWN)?;
        }
        Ok(())
    })
}

fn spawn_many_remote_busy1(workers: usize) -> RunFn {
    let rt = rt_multi_all(workers);
    let flag = Arc::new(AtomicBool::new(true));
    // Keep the workers busy with tasks that yield, then burn CPU.
    for _ in 0..2 * workers {
        let flag = flag.clone();
        rt.spawn(async move {
            while flag.load(Relaxed) {
                tokio::task::yield_now().await;
                stall();
            }
        });
    }
    std::thread::sleep(BUSY_SETTLE);
    Box::new(move |n| {
        for _ in 0..n {
            spawn_remote_and_join(&rt, NUM_SPAWN)?;
        }
        Ok(())
    })
}

fn busy_chain(flag: Arc<AtomicBool>) {
    tokio::spawn(async move {
        if flag.load(Relaxed) {
            stall();
            busy_chain(flag);
        }
    });
}

fn spawn_many_remote_busy2(workers: usize) -> RunFn {
    const NUM_SPAWN_BUSY2: usize = 1_000;
    let rt = rt_multi_all(workers);
    let flag = Arc::new(AtomicBool::new(true));
    // Keep the workers busy with tasks that burn CPU and spawn their successor.
    for _ in 0..workers {
        let flag = flag.clone();
        rt.spawn(async move { busy_chain(flag) });
    }
    std::thread::sleep(BUSY_SETTLE);
    Box::new(move |n| {
        for _ in 0..n {
            spawn_remote_and_join(&rt, NUM_SPAWN_BUSY2)?;
        }
        Ok(())
    })
}

fn yield_many(workers: usize) -> RunFn {
    const NUM_YIELD: usize = 1_000;
    const TASKS: usize = 200;
    let rt = rt_multi_all(workers);
    let (tx, rx) = std_mpsc::sync_channel::<()>(TASKS);
    Box::new(move |n| {
        for _ in 0..n {
            for _ in 0..TASKS {
                let tx = tx.clone();
                rt.spawn(async move {
                    for _ in 0..NUM_YIELD {
                        tokio::task::yield_now().await;
                    }
                    tx.send(()).unwrap();
                });
            }
            let mut done = 0;
            for _ in 0..TASKS {
                if rx.recv().is_ok() {
                    done += 1;
                }
            }
            check(done == TASKS, "not every yielding task finished")?;
        }
        Ok(())
    })
}

fn ping_pong(workers: usize) -> RunFn {
    const NUM_PINGS: usize = 1_000;
    let rt = rt_multi_all(workers);
    let (done_tx, done_rx) = std_mpsc::sync_channel::<()>(1000);
    let rem = Arc::new(AtomicUsize::new(0));
    Box::new(move |n| {
        for _ in 0..n {
            let done_tx = done_tx.clone();
            let rem2 = rem.clone();
            rem.store(NUM_PINGS, Relaxed);
            rt.block_on(async {
                tokio::spawn(async move {
                    for _ in 0..NUM_PINGS {
                        let rem = rem2.clone();
                        let done_tx = done_tx.clone();
                        tokio::spawn(async move {
                            let (tx1, rx1) = oneshot::channel::<()>();
                            let (tx2, rx2) = oneshot::channel::<()>();
                            tokio::spawn(async move {
                                rx1.await.unwrap();
                                tx2.send(()).unwrap();
                            });
                            tx1.send(()).unwrap();
                            rx2.await.unwrap();
                            if rem.fetch_sub(1, Relaxed) == 1 {
                                done_tx.send(()).unwrap();
                            }
                        });
                    }
                });
                done_rx.recv().unwrap();
            });
            check(rem.load(Relaxed) == 0, "not every ping got its pong")?;
        }
        Ok(())
    })
}

fn chain(done_tx: std_mpsc::SyncSender<usize>, left: usize) {
    if left == 0 {
        done_tx.send(0).unwrap();
    } else {
        tokio::spawn(async move { chain(done_tx, left - 1) });
    }
}

fn chained_spawn(workers: usize) -> RunFn {
    const ITER: usize = 1_000;
    let rt = rt_multi_all(workers);
    let (done_tx, done_rx) = std_mpsc::sync_channel::<usize>(1000);
    Box::new(move |n| {
        for _ in 0..n {
            let done_tx = done_tx.clone();
            let left = rt.block_on(async {
                tokio::spawn(async move { chain(done_tx, ITER) });
                done_rx.recv().unwrap()
            });
            check(left == 0, "the spawn chain did not reach its end")?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// spawn.rs (threaded_scheduler_spawn, threaded_scheduler_spawn10)

async fn work() -> usize {
    let val = 1 + 1;
    tokio::task::yield_now().await;
    black_box(val)
}

fn spawn_one(workers: usize) -> RunFn {
    let rt = rt_multi(workers);
    Box::new(move |n| {
        for _ in 0..n {
            let v = rt.block_on(async { tokio::spawn(work()).await.unwrap() });
            check(v == 2, "the spawned task returned the wrong value")?;
        }
        Ok(())
    })
}

fn spawn_ten(workers: usize) -> RunFn {
    let rt = rt_multi(workers);
    Box::new(move |n| {
        for _ in 0..n {
            let sum = rt.block_on(async {
                let mut handles = Vec::with_capacity(10);
                for _ in 0..10 {
                    handles.push(tokio::spawn(work()));
                }
                let mut sum = 0;
                for handle in handles {
                    sum += handle.await.unwrap();
                }
                sum
            });
            check(sum == 20, "a spawned task returned the wrong value")?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// sync_mpsc.rs: five producers of 1000 values each, or one task sending 5000
// then receiving them.

const MPSC_SENDERS: usize = 5;
const MPSC_PER_SENDER: usize = 1_000;

fn mpsc_contention_bounded_cap(workers: usize, cap: usize) -> RunFn {
    let rt = rt_multi(workers);
    Box::new(move |n| {
        for _ in 0..n {
            let got = rt.block_on(async move {
                let (tx, mut rx) = mpsc::channel::<usize>(cap);
                for _ in 0..MPSC_SENDERS {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for i in 0..MPSC_PER_SENDER {
                            tx.send(i).await.unwrap();
                        }
                    });
                }
                let mut got = 0;
                for _ in 0..MPSC_SENDERS * MPSC_PER_SENDER {
                    if rx.recv().await.is_some() {
                        got += 1;
                    }
                }
                got
            });
            check(got == MPSC_SENDERS * MPSC_PER_SENDER, "messages were lost")?;
        }
        Ok(())
    })
}

fn mpsc_contention_bounded(workers: usize) -> RunFn {
    mpsc_contention_bounded_cap(workers, 1_000_000)
}

fn mpsc_contention_bounded_full(workers: usize) -> RunFn {
    mpsc_contention_bounded_cap(workers, 100)
}

fn mpsc_contention_unbounded(workers: usize) -> RunFn {
    let rt = rt_multi(workers);
    Box::new(move |n| {
        for _ in 0..n {
            let got = rt.block_on(async move {
                let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
                for _ in 0..MPSC_SENDERS {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for i in 0..MPSC_PER_SENDER {
                            tx.send(i).unwrap();
                        }
                    });
                }
                let mut got = 0;
                for _ in 0..MPSC_SENDERS * MPSC_PER_SENDER {
                    if rx.recv().await.is_some() {
                        got += 1;
                    }
                }
                got
            });
            check(got == MPSC_SENDERS * MPSC_PER_SENDER, "messages were lost")?;
        }
        Ok(())
    })
}

fn mpsc_uncontended_bounded(workers: usize) -> RunFn {
    let rt = rt_multi(workers);
    Box::new(move |n| {
        for _ in 0..n {
            let sum = rt.block_on(async move {
                let (tx, mut rx) = mpsc::channel::<usize>(1_000_000);
                for i in 0..5000 {
                    tx.send(i).await.unwrap();
                }
                let mut sum = 0;
                for _ in 0..5000 {
                    if let Some(v) = rx.recv().await {
                        sum += v;
                    }
                }
                sum
            });
            check(sum == 4999 * 5000 / 2, "messages were lost")?;
        }
        Ok(())
    })
}

fn mpsc_uncontended_unbounded(workers: usize) -> RunFn {
    let rt = rt_multi(workers);
    Box::new(move |n| {
        for _ in 0..n {
            let sum = rt.block_on(async move {
                let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
                for i in 0..5000 {
                    tx.send(i).unwrap();
                }
                let mut sum = 0;
                for _ in 0..5000 {
                    if let Some(v) = rx.recv().await {
                        sum += v;
                    }
                }
                sum
            });
            check(sum == 4999 * 5000 / 2, "messages were lost")?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// sync_mpsc_oneshot.rs (request_reply_multi_threaded)

fn request_reply(workers: usize) -> RunFn {
    let rt = rt_multi(workers);
    let tx = rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel::<oneshot::Sender<()>>(10);
        tokio::spawn(async move {
            while let Some(reply) = rx.recv().await {
                reply.send(()).unwrap();
            }
        });
        tx
    });
    Box::new(move |n| {
        for _ in 0..n {
            let task_tx = tx.clone();
            let replies = rt.block_on(async move {
                let mut replies = 0;
                for _ in 0..1_000 {
                    let (o_tx, o_rx) = oneshot::channel();
                    task_tx.send(o_tx).await.unwrap();
                    if o_rx.await.is_ok() {
                        replies += 1;
                    }
                }
                replies
            });
            check(replies == 1_000, "requests went unanswered")?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// sync_semaphore.rs

async fn acquire_release(s: Arc<Semaphore>) {
    let permit = s.acquire().await;
    drop(permit);
}

fn semaphore_uncontended_multi(workers: usize) -> RunFn {
    let rt = rt_multi(workers);
    let s = Arc::new(Semaphore::new(10));
    Box::new(move |n| {
        for _ in 0..n {
            let s = s.clone();
            let ok = rt.block_on(async move {
                let mut ok = 0;
                for _ in 0..6 {
                    let permit = s.acquire().await;
                    if permit.is_ok() {
                        ok += 1;
                    }
                    drop(permit);
                }
                ok
            });
            check(ok == 6, "an acquire failed")?;
        }
        Ok(())
    })
}

fn semaphore_concurrent(workers: usize, permits: usize) -> RunFn {
    let rt = rt_multi(workers);
    let s = Arc::new(Semaphore::new(permits));
    Box::new(move |n| {
        for _ in 0..n {
            let s2 = s.clone();
            let joined = rt.block_on(async move {
                let s = s2;
                tokio::try_join!(
                    tokio::spawn(acquire_release(s.clone())),
                    tokio::spawn(acquire_release(s.clone())),
                    tokio::spawn(acquire_release(s.clone())),
                    tokio::spawn(acquire_release(s.clone())),
                    tokio::spawn(acquire_release(s.clone())),
                    tokio::spawn(acquire_release(s.clone()))
                )
            });
            check(joined.is_ok(), "a task failed")?;
            check(s.available_permits() == permits, "permits leaked")?;
        }
        Ok(())
    })
}

fn semaphore_uncontended_concurrent_multi(workers: usize) -> RunFn {
    semaphore_concurrent(workers, 10)
}

fn semaphore_contention_concurrent_multi(workers: usize) -> RunFn {
    semaphore_concurrent(workers, 5)
}

// ---------------------------------------------------------------------------
// sync_notify.rs (notify_one::<10>, notify_one::<100>)

fn notify_one_n(workers: usize, waiters: usize) -> RunFn {
    const N_ITERS: usize = 500;
    let rt = rt_multi(workers);
    let notify = Arc::new(Notify::new());
    let counter = Arc::new(AtomicUsize::new(0));
    for _ in 0..waiters {
        let notify = notify.clone();
        let counter = counter.clone();
        rt.spawn(async move {
            loop {
                notify.notified().await;
                counter.fetch_add(1, Relaxed);
            }
        });
    }
    Box::new(move |n| {
        // The closure must own the runtime, or it would shut down right here.
        let _runtime = &rt;
        for _ in 0..n {
            counter.store(0, Relaxed);
            loop {
                notify.notify_one();
                if counter.load(Relaxed) >= N_ITERS {
                    break;
                }
            }
        }
        Ok(())
    })
}

fn notify_one_10(workers: usize) -> RunFn {
    notify_one_n(workers, 10)
}

fn notify_one_100(workers: usize) -> RunFn {
    notify_one_n(workers, 100)
}

// ---------------------------------------------------------------------------
// sync_rwlock.rs

async fn read_task(lock: Arc<RwLock<()>>) {
    let read = lock.read().await;
    let _read = black_box(read);
}

fn rwlock_read_uncontended(workers: usize) -> RunFn {
    let rt = rt_multi(workers);
    let lock = Arc::new(RwLock::new(()));
    Box::new(move |n| {
        for _ in 0..n {
            let lock = lock.clone();
            rt.block_on(async move {
                for _ in 0..6 {
                    let read = lock.read().await;
                    let _read = black_box(read);
                }
            });
        }
        Ok(())
    })
}

fn rwlock_read_concurrent_uncontended_multi(workers: usize) -> RunFn {
    let rt = rt_multi(workers);
    let lock = Arc::new(RwLock::new(()));
    Box::new(move |n| {
        for _ in 0..n {
            let lock = lock.clone();
            let joined = rt.block_on(async move {
                tokio::try_join!(
                    tokio::spawn(read_task(lock.clone())),
                    tokio::spawn(read_task(lock.clone())),
                    tokio::spawn(read_task(lock.clone())),
                    tokio::spawn(read_task(lock.clone())),
                    tokio::spawn(read_task(lock.clone())),
                    tokio::spawn(read_task(lock.clone()))
                )
            });
            check(joined.is_ok(), "a reader failed")?;
        }
        Ok(())
    })
}

fn rwlock_read_concurrent_contended_multi(workers: usize) -> RunFn {
    let rt = rt_multi(workers);
    let lock = Arc::new(RwLock::new(()));
    Box::new(move |n| {
        for _ in 0..n {
            let lock = lock.clone();
            let joined = rt.block_on(async move {
                let write = lock.write().await;
                tokio::try_join!(
                    async move {
                        drop(write);
                        Ok(())
                    },
                    tokio::spawn(read_task(lock.clone())),
                    tokio::spawn(read_task(lock.clone())),
                    tokio::spawn(read_task(lock.clone())),
                    tokio::spawn(read_task(lock.clone())),
                    tokio::spawn(read_task(lock.clone()))
                )
            });
            check(joined.is_ok(), "a reader failed")?;
        }
        Ok(())
    })
}

/// Tokio runs this one on a current-thread runtime, with join! instead of
/// spawn; `workers` is 1 in the table.
fn rwlock_read_concurrent_contended(_workers: usize) -> RunFn {
    let rt = rt_current();
    let lock = Arc::new(RwLock::new(()));
    Box::new(move |n| {
        for _ in 0..n {
            let lock2 = lock.clone();
            rt.block_on(async move {
                let lock = lock2;
                let write = lock.write().await;
                tokio::join!(
                    async move { drop(write) },
                    read_task(lock.clone()),
                    read_task(lock.clone()),
                    read_task(lock.clone()),
                    read_task(lock.clone()),
                    read_task(lock.clone())
                );
            });
            check(lock.try_write().is_ok(), "the lock was left held")?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// sync_broadcast.rs (contention::<10>, contention::<100>)

const FANOUT_ITERS: usize = 100;

/// The per-message work of the `_bare` rows: one SplitMix64 step in place
/// of do_work's formatting, so that the row times the channel and the
/// wake-ups (weft's and Go's `_bare` rows do the same).
fn bare_work(rng: &mut SplitMix64) -> u32 {
    rng.next_u64() as u32
}

fn broadcast_contended(workers: usize, tasks: usize) -> RunFn {
    broadcast_contended_with(workers, tasks, do_work)
}

fn broadcast_contended_with(
    workers: usize,
    tasks: usize,
    work: fn(&mut SplitMix64) -> u32,
) -> RunFn {
    let rt = rt_multi(workers);
    let (tx, _rx) = broadcast::channel::<usize>(1000);
    let wg = Arc::new((AtomicUsize::new(0), Notify::new()));
    for n in 0..tasks {
        let wg = wg.clone();
        let mut rx = tx.subscribe();
        let mut rng = SplitMix64(n as u64);
        rt.spawn(async move {
            while rx.recv().await.is_ok() {
                let r = work(&mut rng);
                let _ = black_box(r);
                if wg.0.fetch_sub(1, Relaxed) == 1 {
                    wg.1.notify_one();
                }
            }
            eprintln!("weft-peer-tokio: a broadcast receiver stopped early");
            std::process::exit(1);
        });
    }
    Box::new(move |n| {
        for _ in 0..n {
            let wg = wg.clone();
            let tx = tx.clone();
            rt.block_on(async move {
                for i in 0..FANOUT_ITERS {
                    check(
                        wg.0.fetch_add(tasks, Relaxed) == 0,
                        "a receiver missed a message",
                    )?;
                    tx.send(i).map_err(|_| "send failed".to_string())?;
                    while wg.0.load(Relaxed) > 0 {
                        wg.1.notified().await;
                    }
                }
                Ok::<(), String>(())
            })?;
        }
        Ok(())
    })
}

fn broadcast_contended_10(workers: usize) -> RunFn {
    broadcast_contended(workers, 10)
}

fn broadcast_contended_100(workers: usize) -> RunFn {
    broadcast_contended(workers, 100)
}

fn broadcast_contended_10_bare(workers: usize) -> RunFn {
    broadcast_contended_with(workers, 10, bare_work)
}

fn broadcast_contended_100_bare(workers: usize) -> RunFn {
    broadcast_contended_with(workers, 100, bare_work)
}

// ---------------------------------------------------------------------------
// sync_watch.rs (contention_resubscribe::<10>, ::<100>)

fn watch_resubscribe(workers: usize, tasks: usize) -> RunFn {
    watch_resubscribe_with(workers, tasks, do_work)
}

fn watch_resubscribe_with(workers: usize, tasks: usize, work: fn(&mut SplitMix64) -> u32) -> RunFn {
    let rt = rt_multi(workers);
    let (snd, _) = watch::channel(0i32);
    let snd = Arc::new(snd);
    let wg = Arc::new((AtomicU64::new(0), Notify::new()));
    for n in 0..tasks {
        let mut rcv = snd.subscribe();
        let wg = wg.clone();
        let mut rng = SplitMix64(n as u64);
        rt.spawn(async move {
            while rcv.changed().await.is_ok() {
                let _ = *rcv.borrow(); // contend on the value's lock
                let r = work(&mut rng);
                let _ = black_box(r);
                if wg.0.fetch_sub(1, Release) == 1 {
                    wg.1.notify_one();
                }
            }
        });
    }
    Box::new(move |n| {
        for _ in 0..n {
            let snd = snd.clone();
            let wg = wg.clone();
            rt.block_on(async move {
                tokio::spawn(async move {
                    for _ in 0..FANOUT_ITERS {
                        check(
                            wg.0.fetch_add(tasks as u64, Relaxed) == 0,
                            "a receiver missed a change",
                        )?;
                        let _ = snd.send(black_box(42));
                        while wg.0.load(Acquire) > 0 {
                            wg.1.notified().await;
                        }
                    }
                    Ok::<(), String>(())
                })
                .await
                .map_err(|e| e.to_string())?
            })?;
        }
        Ok(())
    })
}

fn watch_resubscribe_10(workers: usize) -> RunFn {
    watch_resubscribe(workers, 10)
}

fn watch_resubscribe_100(workers: usize) -> RunFn {
    watch_resubscribe(workers, 100)
}

fn watch_resubscribe_10_bare(workers: usize) -> RunFn {
    watch_resubscribe_with(workers, 10, bare_work)
}

fn watch_resubscribe_100_bare(workers: usize) -> RunFn {
    watch_resubscribe_with(workers, 100, bare_work)
}

// ---------------------------------------------------------------------------
// time_timeout.rs (multi_thread_timeout-8): one iteration is one
// `timeout(1 s, quick_job)`; a sample splits `n` of them over `workers` tasks.

async fn quick_job() -> usize {
    1
}

fn time_timeout(workers: usize) -> RunFn {
    let rt = rt_multi_all(workers);
    Box::new(move |n| {
        let per_task = n as usize / workers;
        let done = rt.block_on(async move {
            let mut handles = Vec::with_capacity(workers);
            for _ in 0..workers {
                handles.push(tokio::spawn(async move {
                    let mut ok = 0usize;
                    for _ in 0..per_task {
                        let h = tokio::time::timeout(Duration::from_secs(1), quick_job());
                        if black_box(h.await.unwrap()) == 1 {
                            ok += 1;
                        }
                    }
                    ok
                }));
            }
            let mut done = 0;
            for handle in handles {
                done += handle.await.unwrap();
            }
            done
        });
        check(done == per_task * workers, "a timeout fired or a job was lost")
    })
}

// ---------------------------------------------------------------------------
// spawn_blocking.rs (concurrency 1): one task, 100 batches of 16 no-op
// blocking jobs, each batch awaited before the next.

fn spawn_blocking(workers: usize) -> RunFn {
    batches_of_jobs(workers, || tokio::task::spawn_blocking(|| black_box(0usize)))
}

/// The body of spawn_blocking, with each job started by `job` (a blocking
/// job there; a task in extra.rs's spawn_blocking/spawn_fn).
pub(crate) fn batches_of_jobs(workers: usize, job: fn() -> tokio::task::JoinHandle<usize>) -> RunFn {
    const TASKS: usize = 1;
    const NUM_BATCHES: usize = 100;
    const BATCH_SIZE: usize = 16;
    let rt = rt_multi_all(workers);
    Box::new(move |n| {
        for _ in 0..n {
            let done = rt.block_on(async move {
                let mut tasks = Vec::with_capacity(TASKS);
                for _ in 0..TASKS {
                    tasks.push(tokio::spawn(async move {
                        let mut done = 0usize;
                        for _ in 0..NUM_BATCHES {
                            let mut batch = Vec::with_capacity(BATCH_SIZE);
                            for _ in 0..BATCH_SIZE {
                                batch.push(job());
                            }
                            for handle in batch {
                                if handle.await.is_ok() {
                                    done += 1;
                                }
                            }
                        }
                        done
                    }));
                }
                let mut done = 0;
                for task in tasks {
                    done += task.await.unwrap();
                }
                done
            });
            check(done == TASKS * NUM_BATCHES * BATCH_SIZE, "jobs were lost")?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// remote_spawn.rs: 12,800 no-op tasks spawned from `threads` plain threads
// released together by a barrier, then all joined.

const REMOTE_TOTAL: usize = 12_800;

fn remote_spawn(workers: usize, threads: usize) -> RunFn {
    let rt = rt_multi_all(workers);
    let per_thread = REMOTE_TOTAL / threads;
    Box::new(move |n| {
        for _ in 0..n {
            let barrier = Barrier::new(threads);
            let joined = std::thread::scope(|s| {
                let spawners: Vec<_> = (0..threads)
                    .map(|_| {
                        let barrier = &barrier;
                        let rt = &rt;
                        s.spawn(move || {
                            let mut handles = Vec::with_capacity(per_thread);
                            barrier.wait();
                            for _ in 0..per_thread {
                                handles.push(rt.spawn(async {}));
                            }
                            handles
                        })
                    })
                    .collect();
                let all: Vec<_> = spawners
                    .into_iter()
                    .flat_map(|h| h.join().unwrap())
                    .collect();
                rt.block_on(async {
                    let mut joined = 0usize;
                    for h in all {
                        if h.await.is_ok() {
                            joined += 1;
                        }
                    }
                    joined
                })
            });
            check(joined == REMOTE_TOTAL, "remotely spawned tasks were lost")?;
        }
        Ok(())
    })
}

fn remote_spawn_1(workers: usize) -> RunFn {
    remote_spawn(workers, 1)
}

fn remote_spawn_2(workers: usize) -> RunFn {
    remote_spawn(workers, 2)
}

fn remote_spawn_4(workers: usize) -> RunFn {
    remote_spawn(workers, 4)
}

// ---------------------------------------------------------------------------
// Current-thread rows: not in tokio/benches; the same work as weft's
// bench/rt_cases.c. `workers` is 1 in the table.

/// Inside `block_on` on a current-thread runtime: spawn 10,000 empty tasks,
/// keeping the handles, then await every handle.
fn ct_spawn_join_10k(_workers: usize) -> RunFn {
    let rt = rt_current();
    Box::new(move |n| {
        for _ in 0..n {
            let joined = rt.block_on(async {
                let mut handles = Vec::with_capacity(NUM_SPAWN);
                for _ in 0..NUM_SPAWN {
                    handles.push(tokio::spawn(async {}));
                }
                let mut joined = 0usize;
                for handle in handles {
                    if handle.await.is_ok() {
                        joined += 1;
                    }
                }
                joined
            });
            check(joined == NUM_SPAWN, "a task did not complete")?;
        }
        Ok(())
    })
}

/// On a current-thread runtime: spawn one task that yields 1,000,000 times,
/// and `block_on` its handle.
fn ct_yield_1m(_workers: usize) -> RunFn {
    const NUM_YIELD_1M: u64 = 1_000_000;
    let rt = rt_current();
    Box::new(move |n| {
        for _ in 0..n {
            let handle = rt.spawn(async {
                let mut yields = 0u64;
                for _ in 0..NUM_YIELD_1M {
                    tokio::task::yield_now().await;
                    yields += 1;
                }
                yields
            });
            let yields = rt.block_on(handle).map_err(|e| e.to_string())?;
            check(yields == NUM_YIELD_1M, "the yielding task did not finish")?;
        }
        Ok(())
    })
}
