//! The rows that are not Tokio's own benches but that weft-bench has
//! (BENCH_EXTRA_CASES in bench/harness.h): the single-thread primitives
//! (st/), two contended rows, the memory row, and the timer, wake-up,
//! blocking-pool and combinator rows. bench/README.md says what each does
//! and how close each Tokio form is to weft's.
//!
//! The st/ rows do what weft's do: each operation's futures are polled by
//! hand with a no-op waker, on the calling thread, outside any runtime (so
//! Tokio's cooperative budget, which belongs to a runtime, never interferes).
//! One iteration is one operation; a sample is `batch` of them.

use crate::{Case, RunFn, ValueFn};

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{mpsc as std_mpsc, Arc};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::noop_waker_ref;
use tokio::sync::{broadcast, mpsc, oneshot, watch, Barrier, Mutex, Notify, OnceCell, RwLock, Semaphore};
use tokio_util::sync::CancellationToken;

use super::cases::{batches_of_jobs, black_box, case, check, rt_multi, rt_multi_all, vcase};

pub fn all() -> Vec<Case> {
    const ST: u64 = 20_000;
    const GROW: u64 = 5_000;
    #[rustfmt::skip]
    let table = vec![
        //   name                                  workers iters warmup batch setup
        case("st/mutex_lock_unlock",                 1,   200,   10,   ST, st_mutex_lock_unlock),
        case("st/mutex_try_lock_unlock",             1,   200,   10,   ST, st_mutex_try_lock_unlock),
        case("st/rwlock_read",                       1,   200,   10,   ST, st_rwlock_read),
        case("st/rwlock_write",                      1,   200,   10,   ST, st_rwlock_write),
        case("st/semaphore_acquire_release",         1,   200,   10,   ST, st_semaphore),
        case("st/notify_one_permit",                 1,   200,   10,   ST, st_notify_permit),
        case("st/notify_one_waiter",                 1,   200,   10,   ST, st_notify_waiter),
        case("st/barrier_wait_1",                    1,   200,   10,   ST, st_barrier_1),
        case("st/barrier_wait_2",                    1,   200,   10,   ST, st_barrier_2),
        case("st/once_cell_get",                     1,   200,   10,   ST, st_once_cell_get),
        case("st/once_cell_get_or_init_set",         1,   200,   10,   ST, st_once_cell_get_or_init_set),
        case("st/once_cell_init_set",                1,   200,   10,   ST, st_once_cell_init_set),
        case("st/once_cell_init_get_or_init",        1,   200,   10,   ST, st_once_cell_init_get_or_init),
        case("st/cancel_token_is_cancelled",         1,   200,   10,   ST, st_cancel_is_cancelled),
        case("st/cancel_token_child_cancel",         1,   200,   10,   ST, st_cancel_child),
        case("st/mpsc_send",                         1,   200,   10, GROW, st_mpsc_send),
        case("st/mpsc_recv",                         1,   200,   10, GROW, st_mpsc_recv),
        case("st/mpsc_roundtrip",                    1,   200,   10,   ST, st_mpsc_roundtrip),
        case("st/mpsc_try_roundtrip",                1,   200,   10,   ST, st_mpsc_try_roundtrip),
        case("st/oneshot",                           1,   200,   10,   ST, st_oneshot),
        case("st/oneshot_heap",                      1,   200,   10,   ST, st_oneshot_heap),
        case("st/broadcast_4rx",                     1,   200,   10,   ST, st_broadcast_4rx),
        case("st/watch",                             1,   200,   10,   ST, st_watch),
        case("st/select2",                           1,   200,   10,   ST, st_select2),
        case("chan/mpsc_4x4",                        4,    50,    3,    1, chan_mpsc_4x4),
        case("sync_mutex/contended_4x2500",          4,   200,   10,    1, mutex_contended),
        vcase("mem/idle_task_bytes",                 0,     1,    0, "bytes", mem_idle_task_bytes),
        case("time/timer_churn",                     0,    50,    3, 10_000, timer_churn),
        vcase("time/sleep_lateness_1ms",             0,  1000,   10, "ns", sleep_lateness_1ms),
        vcase("wake/remote_idle",                    0,  1000,   10, "ns", wake_remote_idle),
        case("spawn_blocking/burst_100k",            0,    10,    1,    1, spawn_blocking_burst),
        case("combinators/join_all_10k",             1,   100,    5,    1, join_all_10k),
        case("time/timer_churn_4tasks",              4,   100,    5, 10_000, timer_churn_4tasks),
        case("io/block_on_read",                     2,  2000,   50,   10, io_block_on_read),
        case("io/ct_block_on_read",                  1,  2000,   50,   10, io_ct_block_on_read),
        case("spawn_blocking/spawn_fn",              0,    50,    3,    1, spawn_fn),
    ];
    table
}

// ---------------------------------------------------------------------------
// Polling by hand

fn noop_cx() -> Context<'static> {
    Context::from_waker(noop_waker_ref())
}

/// Polls a pinned future once.
fn poll_pin<F: Future>(f: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    f.poll(cx)
}

/// Polls `f` once and expects it to be ready.
fn ready<F: Future>(f: F, cx: &mut Context<'_>, what: &str) -> Result<F::Output, String> {
    tokio::pin!(f);
    match f.as_mut().poll(cx) {
        Poll::Ready(v) => Ok(v),
        Poll::Pending => Err(what.to_string()),
    }
}

// ---------------------------------------------------------------------------
// st/: sync (bench/sync_cases.c)

fn st_mutex_lock_unlock(_workers: usize) -> RunFn {
    let m = Mutex::new(0u64);
    Box::new(move |n| {
        let mut cx = noop_cx();
        for _ in 0..n {
            let guard = ready(m.lock(), &mut cx, "uncontended lock was pending")?;
            drop(guard);
        }
        Ok(())
    })
}

fn st_mutex_try_lock_unlock(_workers: usize) -> RunFn {
    let m = Mutex::new(0u64);
    Box::new(move |n| {
        for _ in 0..n {
            let guard = m.try_lock().map_err(|_| "try_lock failed".to_string())?;
            drop(guard);
        }
        Ok(())
    })
}

fn st_rwlock_read(_workers: usize) -> RunFn {
    let l = RwLock::new(0u64);
    Box::new(move |n| {
        let mut cx = noop_cx();
        for _ in 0..n {
            drop(ready(l.read(), &mut cx, "uncontended read was pending")?);
        }
        Ok(())
    })
}

fn st_rwlock_write(_workers: usize) -> RunFn {
    let l = RwLock::new(0u64);
    Box::new(move |n| {
        let mut cx = noop_cx();
        for _ in 0..n {
            drop(ready(l.write(), &mut cx, "uncontended write was pending")?);
        }
        Ok(())
    })
}

fn st_semaphore(_workers: usize) -> RunFn {
    let s = Semaphore::new(10);
    Box::new(move |n| {
        let mut cx = noop_cx();
        for _ in 0..n {
            let permit = ready(s.acquire(), &mut cx, "uncontended acquire was pending")?;
            drop(permit.map_err(|_| "semaphore closed".to_string())?);
        }
        Ok(())
    })
}

/// notify_one stores the permit; a notified future consumes it.
fn st_notify_permit(_workers: usize) -> RunFn {
    let notify = Notify::new();
    Box::new(move |n| {
        let mut cx = noop_cx();
        for _ in 0..n {
            notify.notify_one();
            ready(notify.notified(), &mut cx, "the permit was not stored")?;
        }
        Ok(())
    })
}

/// notify_one hands the notification to a queued waiter.
fn st_notify_waiter(_workers: usize) -> RunFn {
    let notify = Notify::new();
    Box::new(move |n| {
        let mut cx = noop_cx();
        for _ in 0..n {
            let f = notify.notified();
            tokio::pin!(f);
            check(poll_pin(f.as_mut(), &mut cx).is_pending(), "a stale permit was found")?;
            notify.notify_one();
            check(poll_pin(f.as_mut(), &mut cx).is_ready(), "the waiter was not notified")?;
        }
        Ok(())
    })
}

fn st_barrier_1(_workers: usize) -> RunFn {
    let b = Barrier::new(1);
    Box::new(move |n| {
        let mut cx = noop_cx();
        for _ in 0..n {
            let r = ready(b.wait(), &mut cx, "a one-party barrier waited")?;
            check(r.is_leader(), "a one-party barrier had no leader")?;
        }
        Ok(())
    })
}

/// One generation of a two-party barrier: one waits, the other releases it.
fn st_barrier_2(_workers: usize) -> RunFn {
    let b = Barrier::new(2);
    Box::new(move |n| {
        let mut cx = noop_cx();
        for _ in 0..n {
            let a = b.wait();
            tokio::pin!(a);
            check(poll_pin(a.as_mut(), &mut cx).is_pending(), "the barrier did not wait")?;
            ready(b.wait(), &mut cx, "the second party waited")?;
            check(poll_pin(a.as_mut(), &mut cx).is_ready(), "the barrier did not release")?;
        }
        Ok(())
    })
}

fn st_once_cell_get(_workers: usize) -> RunFn {
    let cell = OnceCell::new_with(Some(7u64));
    Box::new(move |n| {
        let mut hits = 0u64;
        for _ in 0..n {
            hits += black_box(cell.get()).map_or(0, |_| 1);
        }
        check(hits == n, "the cell was empty")
    })
}

/// get_or_init on a set cell: the fast path.
fn st_once_cell_get_or_init_set(_workers: usize) -> RunFn {
    let cell = OnceCell::new_with(Some(7u64));
    Box::new(move |n| {
        let mut cx = noop_cx();
        for _ in 0..n {
            let v = ready(cell.get_or_init(|| async { 8u64 }), &mut cx, "get_or_init waited")?;
            check(*v == 7, "get_or_init misread the cell")?;
        }
        Ok(())
    })
}

/// A fresh cell set once.
fn st_once_cell_init_set(_workers: usize) -> RunFn {
    Box::new(move |n| {
        for k in 0..n {
            let cell = OnceCell::new();
            check(cell.set(black_box(k)).is_ok(), "set failed")?;
        }
        Ok(())
    })
}

/// A fresh cell initialised through get_or_init with a ready initialiser.
fn st_once_cell_init_get_or_init(_workers: usize) -> RunFn {
    Box::new(move |n| {
        let mut cx = noop_cx();
        for k in 0..n {
            let cell = OnceCell::new();
            let v = *ready(cell.get_or_init(|| async move { k }), &mut cx, "get_or_init waited")?;
            check(v == k, "get_or_init failed")?;
        }
        Ok(())
    })
}

fn st_cancel_is_cancelled(_workers: usize) -> RunFn {
    let token = CancellationToken::new();
    Box::new(move |n| {
        let mut hits = 0u64;
        for _ in 0..n {
            hits += black_box(token.is_cancelled()) as u64;
        }
        check(hits == 0, "the root token was cancelled")
    })
}

/// A child token made, cancelled (waking its waiting future) and dropped.
fn st_cancel_child(_workers: usize) -> RunFn {
    let token = CancellationToken::new();
    Box::new(move |n| {
        let mut cx = noop_cx();
        for _ in 0..n {
            let child = token.child_token();
            let f = child.cancelled();
            tokio::pin!(f);
            check(poll_pin(f.as_mut(), &mut cx).is_pending(), "a fresh token was cancelled")?;
            child.cancel();
            check(poll_pin(f.as_mut(), &mut cx).is_ready(), "cancel did not wake")?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// st/: channels (bench/chan_cases.c)

/// One send into an unbounded channel nobody drains during the samples
/// (Tokio's unbounded send is not a future; weft's is awaited once).
fn st_mpsc_send(_workers: usize) -> RunFn {
    let (tx, rx) = mpsc::unbounded_channel::<u64>();
    Box::new(move |n| {
        let _keep = &rx;
        for k in 0..n {
            tx.send(k).map_err(|_| "send failed".to_string())?;
        }
        Ok(())
    })
}

/// One awaited receive from a channel filled in setup (topped up when a
/// run asks for more samples than that).
fn st_mpsc_recv(_workers: usize) -> RunFn {
    const PREFILL: u64 = (200 + 10) * 5_000 + 5_000;
    let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
    for i in 0..PREFILL {
        let _ = tx.send(i);
    }
    Box::new(move |n| {
        let mut cx = noop_cx();
        let mut last = 0;
        for _ in 0..n {
            let got = {
                let f = rx.recv();
                tokio::pin!(f);
                poll_pin(f.as_mut(), &mut cx)
            };
            match got {
                Poll::Ready(Some(v)) => last = v,
                _ => {
                    for i in 0..5_000 {
                        let _ = tx.send(i);
                    }
                }
            }
        }
        black_box(last);
        Ok(())
    })
}

fn st_mpsc_roundtrip(_workers: usize) -> RunFn {
    let (tx, mut rx) = mpsc::channel::<u64>(1);
    Box::new(move |n| {
        let mut cx = noop_cx();
        for k in 0..n {
            ready(tx.send(k), &mut cx, "send was pending")?
                .map_err(|_| "send failed".to_string())?;
            let v = ready(rx.recv(), &mut cx, "recv was pending")?;
            check(v == Some(k), "recv lost the value")?;
        }
        Ok(())
    })
}

fn st_mpsc_try_roundtrip(_workers: usize) -> RunFn {
    let (tx, mut rx) = mpsc::channel::<u64>(1);
    Box::new(move |n| {
        for k in 0..n {
            tx.try_send(k).map_err(|_| "try_send failed".to_string())?;
            check(rx.try_recv().ok() == Some(k), "try_recv lost the value")?;
        }
        Ok(())
    })
}

/// The receive waits (registers its waker), the send wakes it, the receive
/// completes. Tokio's oneshot is always one allocation (weft's caller-owned
/// one is none).
fn st_oneshot(_workers: usize) -> RunFn {
    Box::new(move |n| {
        let mut cx = noop_cx();
        for k in 0..n {
            let (tx, rx) = oneshot::channel::<u64>();
            tokio::pin!(rx);
            check(poll_pin(rx.as_mut(), &mut cx).is_pending(), "oneshot was ready early")?;
            tx.send(k).map_err(|_| "send failed".to_string())?;
            match poll_pin(rx.as_mut(), &mut cx) {
                Poll::Ready(Ok(v)) if v == k => {}
                _ => return Err("oneshot lost the value".to_string()),
            }
        }
        Ok(())
    })
}

/// Create, send, receive without waiting.
fn st_oneshot_heap(_workers: usize) -> RunFn {
    Box::new(move |n| {
        for k in 0..n {
            let (tx, mut rx) = oneshot::channel::<u64>();
            tx.send(k).map_err(|_| "send failed".to_string())?;
            check(rx.try_recv().ok() == Some(k), "oneshot lost the value")?;
        }
        Ok(())
    })
}

fn st_broadcast_4rx(_workers: usize) -> RunFn {
    let (tx, rx0) = broadcast::channel::<u64>(16);
    let mut rxs = vec![rx0, tx.subscribe(), tx.subscribe(), tx.subscribe()];
    Box::new(move |n| {
        let mut cx = noop_cx();
        for k in 0..n {
            tx.send(k).map_err(|_| "broadcast send failed".to_string())?;
            for rx in rxs.iter_mut() {
                let v = ready(rx.recv(), &mut cx, "a receiver waited")?;
                check(v.ok() == Some(k), "a receiver missed the value")?;
            }
        }
        Ok(())
    })
}

fn st_watch(_workers: usize) -> RunFn {
    let (tx, mut rx) = watch::channel(0u64);
    Box::new(move |n| {
        let mut cx = noop_cx();
        for k in 0..n {
            tx.send(k).map_err(|_| "watch send failed".to_string())?;
            ready(rx.changed(), &mut cx, "change not seen")?
                .map_err(|_| "watch closed".to_string())?;
            check(*rx.borrow_and_update() == k, "watch read a stale value")?;
        }
        Ok(())
    })
}

/// `select!` (biased: branches in order, as weft's select polls them) over
/// two receives, one of which has a value (alternating).
fn st_select2(_workers: usize) -> RunFn {
    let (tx0, mut rx0) = mpsc::unbounded_channel::<u64>();
    let (tx1, mut rx1) = mpsc::unbounded_channel::<u64>();
    Box::new(move |n| {
        let mut cx = noop_cx();
        for k in 0..n {
            let which = (k & 1) as usize;
            let _ = if which == 1 { tx1.send(k) } else { tx0.send(k) };
            let (r0, r1) = (&mut rx0, &mut rx1);
            let won = ready(
                async move {
                    tokio::select! {
                        biased;
                        _ = r0.recv() => 0usize,
                        _ = r1.recv() => 1usize,
                    }
                },
                &mut cx,
                "select waited",
            )?;
            check(won == which, "select picked the wrong branch")?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Contended rows

/// 4 producers and 4 consumers over 4 bounded(256) mpsc channels; each
/// producer sends 25,000 values round-robin over the channels; 100,000 in
/// all (bench/chan_cases.c).
fn chan_mpsc_4x4(workers: usize) -> RunFn {
    const CHANNELS: usize = 4;
    const PER_PRODUCER: u64 = 25_000;
    let rt = rt_multi(workers);
    Box::new(move |n| {
        for _ in 0..n {
            let got = rt.block_on(async {
                let mut txs = Vec::with_capacity(CHANNELS);
                let mut consumers = Vec::with_capacity(CHANNELS);
                for _ in 0..CHANNELS {
                    let (tx, mut rx) = mpsc::channel::<u64>(256);
                    txs.push(tx);
                    consumers.push(tokio::spawn(async move {
                        let mut got = 0u64;
                        while rx.recv().await.is_some() {
                            got += 1;
                        }
                        got
                    }));
                }
                for _ in 0..4 {
                    let txs = txs.clone();
                    tokio::spawn(async move {
                        for i in 0..PER_PRODUCER {
                            if txs[(i % CHANNELS as u64) as usize].send(i).await.is_err() {
                                break;
                            }
                        }
                    });
                }
                drop(txs);
                let mut got = Vec::with_capacity(CHANNELS);
                for c in consumers {
                    got.push(c.await.unwrap_or(0));
                }
                got
            });
            check(
                got.iter().all(|&g| g == 4 * PER_PRODUCER / CHANNELS as u64),
                "messages were lost",
            )?;
        }
        Ok(())
    })
}

/// 4 tasks on 4 workers each lock/unlock one async mutex 2,500 times.
fn mutex_contended(workers: usize) -> RunFn {
    const TASKS: usize = 4;
    const ROUNDS: u64 = 2_500;
    let rt = rt_multi(workers);
    let m = Arc::new(Mutex::new(0u64));
    Box::new(move |n| {
        for _ in 0..n {
            let m2 = m.clone();
            let total = rt.block_on(async move {
                let mut hs = Vec::with_capacity(TASKS);
                for _ in 0..TASKS {
                    let m = m2.clone();
                    hs.push(tokio::spawn(async move {
                        for _ in 0..ROUNDS {
                            *m.lock().await += 1;
                        }
                    }));
                }
                for h in hs {
                    let _ = h.await;
                }
                let mut g = m2.lock().await;
                std::mem::replace(&mut *g, 0)
            });
            check(total == TASKS as u64 * ROUNDS, "lost increments")?;
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// mem/idle_task_bytes

/// Resident memory of the process (Linux), 0 when unknown.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

fn wait_count(counter: &AtomicUsize, want: usize, what: &str) -> Result<(), String> {
    for _ in 0..60_000 {
        if counter.load(Relaxed) >= want {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Err(what.to_string())
}

/// Bytes of resident memory per idle task: 10^6 spawned tasks each waiting
/// on a Notify nobody notifies, (RSS after they all parked - RSS before) /
/// 10^6. Then notify_waiters lets them all finish.
fn mem_idle_task_bytes(workers: usize) -> ValueFn {
    const TASKS: usize = 1_000_000;
    let rt = rt_multi(workers);
    Box::new(move || {
        let never = Arc::new(Notify::new());
        let parked = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let before = rss_bytes();
        for _ in 0..TASKS {
            let never = never.clone();
            let parked = parked.clone();
            let finished = finished.clone();
            rt.spawn(async move {
                let wait = never.notified();
                tokio::pin!(wait);
                let mut first = true;
                futures_util::future::poll_fn(|cx| {
                    let r = wait.as_mut().poll(cx);
                    if first {
                        first = false;
                        parked.fetch_add(1, Relaxed);
                    }
                    r
                })
                .await;
                finished.fetch_add(1, Relaxed);
            });
        }
        wait_count(&parked, TASKS, "the idle tasks did not all park")?;
        let after = rss_bytes();
        check(before > 0, "no resident-memory figure (/proc/self/statm)")?;
        never.notify_waiters();
        wait_count(&finished, TASKS, "the idle tasks did not all finish")?;
        Ok((after as f64 - before as f64) / TASKS as f64)
    })
}

// ---------------------------------------------------------------------------
// time/

/// `n` times: a 1 s sleep created, polled once (registered), dropped
/// (cancelled). Returns how many of those polls were pending (all of them).
async fn churn(n: u64) -> u64 {
    let mut pending = 0u64;
    for _ in 0..n {
        let sleep = tokio::time::sleep(Duration::from_secs(1));
        tokio::pin!(sleep);
        futures_util::future::poll_fn(|cx| {
            if sleep.as_mut().poll(cx).is_pending() {
                pending += 1;
            }
            Poll::Ready(())
        })
        .await;
    }
    pending
}

/// One iteration: `churn` once, split between `tasks` spawned tasks on
/// the multi-thread runtime, awaited.
fn timer_churn_tasks(workers: usize, tasks: u64) -> RunFn {
    let rt = rt_multi_all(workers);
    Box::new(move |n| {
        let per_task = n / tasks;
        let pending = rt.block_on(async move {
            let hs: Vec<_> = (0..tasks).map(|_| tokio::spawn(churn(per_task))).collect();
            let mut pending = 0u64;
            for h in hs {
                pending += h.await.unwrap_or(0);
            }
            pending
        });
        check(pending == per_task * tasks, "a 1 s sleep was ready at once")
    })
}

/// From one task.
fn timer_churn(workers: usize) -> RunFn {
    timer_churn_tasks(workers, 1)
}

/// From 4 tasks at once on the 4 workers: the timer wheel under contention.
fn timer_churn_4tasks(workers: usize) -> RunFn {
    timer_churn_tasks(workers, 4)
}

/// Signed nanoseconds from `deadline` to `t`.
fn signed_ns(t: Instant, deadline: Instant) -> f64 {
    if t >= deadline {
        (t - deadline).as_nanos() as f64
    } else {
        -((deadline - t).as_nanos() as f64)
    }
}

/// One sample: a task sleeps 1 ms; the value is how late it woke (ns after
/// the deadline).
fn sleep_lateness_1ms(workers: usize) -> ValueFn {
    let rt = rt_multi_all(workers);
    Box::new(move || {
        rt.block_on(async {
            tokio::spawn(async {
                let deadline = Instant::now() + Duration::from_millis(1);
                tokio::time::sleep_until(deadline.into()).await;
                signed_ns(Instant::now(), deadline)
            })
            .await
            .map_err(|e| e.to_string())
        })
    })
}

// ---------------------------------------------------------------------------
// wake/remote_idle

/// One sample: a task waits on a oneshot on the idle runtime; after ~1 ms
/// (so the workers park) the main thread, a plain OS thread, takes t0 and
/// sends; the task takes t1 when it runs. The value is t1 - t0.
fn wake_remote_idle(workers: usize) -> ValueFn {
    let rt = rt_multi_all(workers);
    Box::new(move || {
        let (tx, rx) = oneshot::channel::<()>();
        let (back_tx, back_rx) = std_mpsc::sync_channel::<Instant>(1);
        rt.spawn(async move {
            if rx.await.is_ok() {
                let _ = back_tx.send(Instant::now());
            }
        });
        std::thread::sleep(Duration::from_millis(1));
        let t0 = Instant::now();
        tx.send(()).map_err(|_| "the waiting task was gone".to_string())?;
        let t1 = back_rx.recv().map_err(|_| "the task never ran".to_string())?;
        Ok(signed_ns(t1, t0))
    })
}

// ---------------------------------------------------------------------------
// io/block_on_read, io/ct_block_on_read

/// A pipe whose read end is registered with the runtime's reactor, as a
/// Tokio program reads a raw fd: O_NONBLOCK and `AsyncFd`.
struct PipeRead {
    rx: tokio::io::unix::AsyncFd<std::fs::File>,
    tx: std::fs::File,
}

impl PipeRead {
    fn new(rt: &tokio::runtime::Runtime) -> PipeRead {
        use std::os::unix::io::FromRawFd;
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe(2) fills both fds; each is owned by one File from here on.
        let (rx, tx) = unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0, "pipe");
            let fl = libc::fcntl(fds[0], libc::F_GETFL);
            assert_eq!(libc::fcntl(fds[0], libc::F_SETFL, fl | libc::O_NONBLOCK), 0, "fcntl");
            (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1]))
        };
        let _in_rt = rt.enter();
        PipeRead { rx: tokio::io::unix::AsyncFd::new(rx).expect("AsyncFd"), tx }
    }

    /// Reads what is there: readiness, then the read, again on WouldBlock.
    async fn read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::Read;
        loop {
            let mut ready = self.rx.readable().await?;
            match ready.try_io(|f| f.get_ref().read(buf)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

/// One iteration: the calling thread (a plain thread, not a worker) writes
/// one byte to the pipe and `block_on`s the read of it.
fn block_on_read(rt: tokio::runtime::Runtime) -> RunFn {
    let p = PipeRead::new(&rt);
    Box::new(move |n| {
        use std::io::Write;
        let mut buf = [0u8; 1];
        for _ in 0..n {
            (&p.tx).write_all(b"r").map_err(|e| e.to_string())?;
            let got = rt.block_on(p.read(&mut buf)).map_err(|e| e.to_string())?;
            check(got == 1 && buf[0] == b'r', "read")?;
        }
        Ok(())
    })
}

fn io_block_on_read(workers: usize) -> RunFn {
    block_on_read(rt_multi_all(workers))
}

fn io_ct_block_on_read(_workers: usize) -> RunFn {
    block_on_read(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("building the runtime"),
    )
}

// ---------------------------------------------------------------------------
// spawn_blocking/spawn_fn, spawn_blocking/burst_100k, combinators/join_all_10k

/// One iteration: spawn_blocking/spawn_blocking's 100 batches of 16 no-op
/// jobs, each job a task (`tokio::spawn`) instead of a blocking job.
fn spawn_fn(workers: usize) -> RunFn {
    batches_of_jobs(workers, || tokio::spawn(async { black_box(0usize) }))
}

/// One iteration: 100,000 no-op spawn_blocking jobs, all joined.
fn spawn_blocking_burst(workers: usize) -> RunFn {
    const JOBS: usize = 100_000;
    let rt = rt_multi_all(workers);
    Box::new(move |n| {
        for _ in 0..n {
            let done = rt.block_on(async {
                let mut hs = Vec::with_capacity(JOBS);
                for _ in 0..JOBS {
                    hs.push(tokio::task::spawn_blocking(|| black_box(1usize)));
                }
                let mut done = 0usize;
                for h in hs {
                    done += h.await.unwrap_or(0);
                }
                done
            });
            check(done == JOBS, "blocking jobs were lost")?;
        }
        Ok(())
    })
}

/// One iteration: in one task, futures::future::join_all over 10,000
/// futures that each yield once and return their index.
fn join_all_10k(workers: usize) -> RunFn {
    const FUTS: usize = 10_000;
    let rt = rt_multi(workers);
    Box::new(move |n| {
        for _ in 0..n {
            let sum = rt.block_on(async {
                tokio::spawn(async {
                    let futs = (0..FUTS).map(|i| async move {
                        tokio::task::yield_now().await;
                        i
                    });
                    futures_util::future::join_all(futs).await.into_iter().sum::<usize>()
                })
                .await
                .unwrap_or(0)
            });
            check(sum == FUTS * (FUTS - 1) / 2, "a joined future was lost")?;
        }
        Ok(())
    })
}
