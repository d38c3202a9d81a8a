//go:build linux

package main

import "syscall"

// yieldThread gives the OS thread's CPU away, as Rust's
// std::thread::yield_now does (sched_yield(2)). sched_yield never blocks, so
// the raw form is safe and keeps the goroutine on its P, like a Tokio worker.
func yieldThread() {
	syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
}
