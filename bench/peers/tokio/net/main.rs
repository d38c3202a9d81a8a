//! weft-net-tokio: the Tokio servers of weft's network benchmarks
//! (bench/README.md, "Network rows").
//!
//!     weft-net-tokio echo [PORT]    raw-bytes TCP echo (0 or none: a free port)
//!     weft-net-tokio http [PORT]    minimal HTTP/1.1 keep-alive "Hello, World!"
//!
//! Both listen on 127.0.0.1, print "listening on ADDR" and run until killed,
//! on Tokio's multi-thread runtime with its default worker count
//! (available_parallelism: 1 under bench/run's `taskset -c 1`). The work is
//! the same as bench/net/weft_echo.c and examples/http_hello.c: the echo
//! writes back whatever one read returned before reading again; the HTTP
//! server answers every complete request head (up to the empty line) in the
//! buffer with the same fixed 83-byte reply, one write per read. No framework.

use std::io::Write;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REPLY: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";

async fn echo(mut s: TcpStream) {
    let mut buf = vec![0u8; 16384];
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if s.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// The index just past the first "\r\n\r\n" in `b`, if there is one.
fn head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

async fn http(mut s: TcpStream) {
    let mut buf = vec![0u8; 4096];
    let mut have = 0usize;
    let mut out = Vec::with_capacity(4096);
    loop {
        if have == buf.len() {
            return; // a request head larger than the buffer: give up on it
        }
        let n = match s.read(&mut buf[have..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        have += n;
        let mut start = 0;
        out.clear();
        while let Some(end) = head_end(&buf[start..have]) {
            out.extend_from_slice(REPLY);
            start += end;
        }
        buf.copy_within(start..have, 0);
        have -= start;
        if !out.is_empty() && s.write_all(&out).await.is_err() {
            return;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 || (args[1] != "echo" && args[1] != "http") {
        eprintln!("usage: weft-net-tokio echo|http [PORT]");
        std::process::exit(2);
    }
    let mode = args[1].clone();
    let port = args.get(2).cloned().unwrap_or_else(|| "0".to_string());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let l = TcpListener::bind(format!("127.0.0.1:{}", port)).await.unwrap();
        println!("listening on {}", l.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        loop {
            let (s, _) = match l.accept().await {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("weft-net-tokio: accept: {}", e);
                    tokio::task::yield_now().await;
                    continue;
                }
            };
            let _ = s.set_nodelay(true);
            if mode == "echo" {
                tokio::spawn(echo(s));
            } else {
                tokio::spawn(http(s));
            }
        }
    });
}
