//! ecsbox-bench/backend: the task the load balancer benchmark puts behind
//! HAProxy and behind ecsbox's listener (compat-tests/bench/lb.py).
//!
//! A keep-alive HTTP/1.1 server with no dependencies beyond std, compiled
//! statically so that it runs in an image FROM scratch:
//!
//!     rustc --edition 2021 -O -C target-feature=+crt-static -C strip=symbols backend.rs -o backend
//!
//! One thread per connection. Every request (any method, any path; `/` and
//! `/health` are what the benchmark asks for) gets 200 with a small fixed
//! body; a request body announced by Content-Length is read and discarded.
//! The connection stays open unless the client asks for `Connection: close`
//! or speaks HTTP/1.0 without `Connection: keep-alive`. Chunked request
//! bodies are refused with 501 and the connection closed (nothing the
//! benchmark sends).
//!
//! When BACKEND_TAG is set, every answer carries `X-Backend: <tag>`, so a
//! client can tell which service answered (blue or green).
//!
//! Listens on 0.0.0.0:$PORT (8080 by default). Exits at once on SIGTERM or
//! SIGINT: as PID 1 of a container it would otherwise ignore them, and a
//! stopped task would take the whole stop timeout.

use std::env;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

const BODY: &[u8] = b"ok\n";
const MAX_HEAD: usize = 16 * 1024;

extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    fn _exit(status: i32) -> !;
}

extern "C" fn on_signal(_: i32) {
    unsafe { _exit(0) }
}

fn main() {
    unsafe {
        signal(15, on_signal); // SIGTERM
        signal(2, on_signal); // SIGINT
    }
    let port = env::var("PORT").unwrap_or_else(|_| "8080".into());
    let listener = TcpListener::bind(format!("0.0.0.0:{port}")).expect("bind");
    eprintln!("backend: listening on 0.0.0.0:{port}");
    for stream in listener.incoming() {
        match stream {
            Ok(s) => {
                let _ = thread::Builder::new().stack_size(64 * 1024).spawn(move || {
                    let _ = serve(s);
                });
            }
            Err(e) => eprintln!("backend: accept: {e}"),
        }
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

struct Head {
    content_length: usize,
    chunked: bool,
    keep_alive: bool,
}

fn parse_head(head: &[u8]) -> Option<Head> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next()?;
    let http10 = request_line.ends_with("HTTP/1.0");
    let mut h = Head { content_length: 0, chunked: false, keep_alive: !http10 };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            h.content_length = value.parse().ok()?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            h.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                h.keep_alive = false;
            } else if v.contains("keep-alive") {
                h.keep_alive = true;
            }
        }
    }
    Some(h)
}

fn serve(mut s: TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; MAX_HEAD];
    let mut filled = 0;
    let tag = match env::var("BACKEND_TAG") {
        Ok(t) if !t.is_empty() => format!("X-Backend: {t}\r\n"),
        _ => String::new(),
    };
    let ok_keep = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{tag}Content-Length: {}\r\n\r\n",
        BODY.len()
    )
    .into_bytes();
    let ok_keep: Vec<u8> = [ok_keep.as_slice(), BODY].concat();
    let ok_close = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{tag}Content-Length: {}\r\nConnection: close\r\n\r\n",
        BODY.len()
    )
    .into_bytes();
    let ok_close: Vec<u8> = [ok_close.as_slice(), BODY].concat();
    let mut out = Vec::with_capacity(1024);
    loop {
        // Answer every complete request already buffered (pipelining), then
        // write the answers in one go.
        out.clear();
        let mut close = false;
        loop {
            let Some(end) = find_head_end(&buf[..filled]) else { break };
            let Some(head) = parse_head(&buf[..end]) else {
                s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
                return Ok(());
            };
            if head.chunked {
                s.write_all(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
                return Ok(());
            }
            // Consume the head, then the body (part may still be unread).
            buf.copy_within(end..filled, 0);
            filled -= end;
            let mut left = head.content_length;
            let here = left.min(filled);
            buf.copy_within(here..filled, 0);
            filled -= here;
            left -= here;
            while left > 0 {
                let n = s.read(&mut buf[..left.min(MAX_HEAD)])?;
                if n == 0 {
                    return Ok(());
                }
                left -= n;
            }
            if head.keep_alive {
                out.extend_from_slice(&ok_keep);
            } else {
                out.extend_from_slice(&ok_close);
                close = true;
                break;
            }
        }
        if !out.is_empty() {
            s.write_all(&out)?;
        }
        if close {
            return Ok(());
        }
        if filled == MAX_HEAD {
            s.write_all(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
            return Ok(());
        }
        let n = s.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
    }
}
