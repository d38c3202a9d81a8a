// Command weft-net-go: the Go servers of weft's network benchmarks
// (bench/README.md, "Network rows").
//
//	weft-net-go echo [PORT]    raw-bytes TCP echo (0 or none: a free port)
//	weft-net-go http [PORT]    minimal HTTP/1.1 keep-alive "Hello, World!"
//
// Both listen on 127.0.0.1, print "listening on ADDR" and run until killed,
// one goroutine per connection, GOMAXPROCS left at its default (NumCPU: 1
// under bench/run's `taskset -c 1`). The work is the same as
// bench/net/weft_echo.c and examples/http_hello.c: the echo writes back
// whatever one read returned before reading again; the HTTP server answers
// every complete request head (up to the empty line) in its buffer with the
// same fixed reply, one write per read. Standard library only, no net/http.
package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"time"
)

var reply = []byte("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!")

func echo(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 16384)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

var headEnd = []byte("\r\n\r\n")

func http(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	out := make([]byte, 0, 4096)
	have := 0
	for {
		if have == len(buf) {
			return // a request head larger than the buffer: give up on it
		}
		n, err := c.Read(buf[have:])
		if n <= 0 || err != nil {
			return
		}
		have += n
		start := 0
		out = out[:0]
		for {
			i := bytes.Index(buf[start:have], headEnd)
			if i < 0 {
				break
			}
			out = append(out, reply...)
			start += i + 4
		}
		copy(buf, buf[start:have])
		have -= start
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "echo" && os.Args[1] != "http") {
		fmt.Fprintln(os.Stderr, "usage: weft-net-go echo|http [PORT]")
		os.Exit(2)
	}
	port := "0"
	if len(os.Args) > 2 {
		port = os.Args[2]
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "weft-net-go:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", l.Addr())
	serve := echo
	if os.Args[1] == "http" {
		serve = http
	}
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "weft-net-go: accept:", err)
			time.Sleep(time.Millisecond)
			continue
		}
		// Go sets TCP_NODELAY on every TCP connection by default.
		go serve(c)
	}
}
