//go:build !linux

package main

import "runtime"

// yieldThread has no portable OS-thread yield outside Linux; let other
// goroutines run instead.
func yieldThread() {
	runtime.Gosched()
}
