//! One floor event loop: a listener, a slab of connections, publishes from the main thread.

use std::collections::HashMap;
use std::io::{self, IoSlice, Read, Write};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use base64::Engine;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use sha1::{Digest, Sha1};

use crate::Counters;

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

pub struct Handle {
    tx: Sender<Arc<[u8]>>,
    waker: Arc<Waker>,
}

impl Handle {
    pub fn publish(&self, payload: Arc<[u8]>) {
        let _ = self.tx.send(payload);
        let _ = self.waker.wake();
    }
}

struct Conn {
    sock: TcpStream,
    upgraded: bool,
    legacy: bool,
    inbuf: Vec<u8>,
    /// Bytes the socket refused, written on the next writable event.
    out: Vec<u8>,
    /// Per subscription: the message prefix `{"id":…,"type":"next","payload":`.
    subs: Vec<Vec<u8>>,
}

pub fn spawn(l: std::net::TcpListener, counters: Arc<Counters>) -> io::Result<Handle> {
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let (tx, rx) = channel();
    let mut listener = TcpListener::from_std(l);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    std::thread::spawn(move || run(poll, listener, rx, counters));
    Ok(Handle { tx, waker })
}

fn run(mut poll: Poll, listener: TcpListener, rx: Receiver<Arc<[u8]>>, counters: Arc<Counters>) {
    let mut conns: HashMap<usize, Conn> = HashMap::new();
    let mut next = 0usize;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        if poll.poll(&mut events, None).is_err() {
            continue;
        }
        for ev in events.iter() {
            match ev.token() {
                LISTENER => {
                    while let Ok((mut sock, _)) = listener.accept() {
                        let _ = sock.set_nodelay(true);
                        next += 1;
                        if poll
                            .registry()
                            .register(
                                &mut sock,
                                Token(next),
                                Interest::READABLE | Interest::WRITABLE,
                            )
                            .is_ok()
                        {
                            conns.insert(
                                next,
                                Conn {
                                    sock,
                                    upgraded: false,
                                    legacy: false,
                                    inbuf: Vec::new(),
                                    out: Vec::new(),
                                    subs: Vec::new(),
                                },
                            );
                        }
                    }
                }
                WAKER => {
                    // Every publish that arrived since the last wake-up, in one writev per
                    // connection (as subwire coalesces a turn's frames).
                    let payloads: Vec<Arc<[u8]>> = rx.try_iter().collect();
                    let mut dead = Vec::new();
                    for (&k, c) in conns.iter_mut() {
                        if !c.subs.is_empty() && fan_out(c, &payloads, &counters).is_err() {
                            dead.push(k);
                        }
                    }
                    for k in dead {
                        close(&mut conns, k, &counters);
                    }
                }
                Token(k) => {
                    let ok = conns.get_mut(&k).is_some_and(|c| {
                        (!ev.is_writable() || flush(c).is_ok())
                            && (!ev.is_readable() || read(c, &mut buf, &counters).is_ok())
                    });
                    if !ok {
                        close(&mut conns, k, &counters);
                    }
                }
            }
        }
    }
}

fn close(conns: &mut HashMap<usize, Conn>, k: usize, counters: &Counters) {
    if let Some(c) = conns.remove(&k) {
        if c.upgraded {
            counters.open.fetch_sub(1, Relaxed);
        }
        counters
            .subscriptions
            .fetch_sub(c.subs.len() as u64, Relaxed);
    }
}

/// A server frame header for a text message of `len` bytes.
fn header(len: usize, out: &mut [u8; 10]) -> usize {
    out[0] = 0x81;
    if len < 126 {
        out[1] = len as u8;
        2
    } else if len < 65536 {
        out[1] = 126;
        out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    }
}

/// One writev with every subscription's message for these publishes (at most 1024 slices,
/// the kernel's limit, per call).
fn fan_out(c: &mut Conn, payloads: &[Arc<[u8]>], counters: &Counters) -> io::Result<()> {
    let n = c.subs.len() * payloads.len();
    let mut heads = Vec::with_capacity(n);
    for p in payloads {
        for prefix in &c.subs {
            let mut h = [0u8; 10];
            let len = header(prefix.len() + p.len() + 1, &mut h);
            heads.push((h, len));
        }
    }
    let mut slices = Vec::with_capacity(n * 4);
    let mut hs = heads.iter();
    for p in payloads {
        for prefix in &c.subs {
            let (h, len) = hs.next().expect("one head per message");
            slices.extend([
                IoSlice::new(&h[..*len]),
                IoSlice::new(prefix),
                IoSlice::new(p),
                IoSlice::new(b"}"),
            ]);
        }
    }
    counters.messages_out.fetch_add(n as u64, Relaxed);
    for chunk in slices.chunks(1024) {
        write_or_keep(&c.sock, &mut c.out, chunk)?;
    }
    Ok(())
}

/// Writes `slices` if nothing waits before them; keeps what the socket refuses (a copy:
/// the floor only pays it when the socket is full).
fn write_or_keep(sock: &TcpStream, out: &mut Vec<u8>, slices: &[IoSlice<'_>]) -> io::Result<()> {
    let total: usize = slices.iter().map(|s| s.len()).sum();
    let written = if out.is_empty() {
        match (&*sock).write_vectored(slices) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        }
    } else {
        0
    };
    let mut skip = written;
    if written < total {
        for s in slices {
            if skip >= s.len() {
                skip -= s.len();
            } else {
                out.extend_from_slice(&s[skip..]);
                skip = 0;
            }
        }
    }
    Ok(())
}

fn flush(c: &mut Conn) -> io::Result<()> {
    while !c.out.is_empty() {
        match (&c.sock).write(&c.out) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => drop(c.out.drain(..n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn send(c: &mut Conn, text: &str) -> io::Result<()> {
    let mut h = [0u8; 10];
    let n = header(text.len(), &mut h);
    c.out.extend_from_slice(&h[..n]);
    c.out.extend_from_slice(text.as_bytes());
    flush(c)
}

fn read(c: &mut Conn, buf: &mut [u8], counters: &Counters) -> io::Result<()> {
    loop {
        match (&c.sock).read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => c.inbuf.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    if !c.upgraded {
        let Some(end) = c.inbuf.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Ok(());
        };
        let head = String::from_utf8_lossy(&c.inbuf[..end]).into_owned();
        c.inbuf.drain(..end + 4);
        let field = |name: &str| {
            head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let key = field("sec-websocket-key").ok_or(io::ErrorKind::InvalidData)?;
        let offered = field("sec-websocket-protocol").unwrap_or_default();
        let proto = if offered.contains("graphql-transport-ws") {
            "graphql-transport-ws"
        } else {
            "graphql-ws"
        };
        c.legacy = proto == "graphql-ws";
        let mut h = Sha1::new();
        h.update(key.as_bytes());
        h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
        let accept = base64::engine::general_purpose::STANDARD.encode(h.finalize());
        let resp = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {proto}\r\n\r\n");
        c.out.extend_from_slice(resp.as_bytes());
        c.upgraded = true;
        counters.open.fetch_add(1, Relaxed);
        flush(c)?;
    }
    // Client frames: small, unfragmented, masked (what the load generator sends).
    while c.inbuf.len() >= 6 {
        let op = c.inbuf[0] & 0x0f;
        let (len, at) = match c.inbuf[1] & 0x7f {
            126 if c.inbuf.len() >= 8 => (u16::from_be_bytes([c.inbuf[2], c.inbuf[3]]) as usize, 4),
            127 => return Err(io::ErrorKind::InvalidData.into()),
            126 => return Ok(()),
            n => (n as usize, 2),
        };
        if c.inbuf.len() < at + 4 + len {
            return Ok(());
        }
        let mask = [
            c.inbuf[at],
            c.inbuf[at + 1],
            c.inbuf[at + 2],
            c.inbuf[at + 3],
        ];
        let mut data: Vec<u8> = c.inbuf[at + 4..at + 4 + len].to_vec();
        for (i, b) in data.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        c.inbuf.drain(..at + 4 + len);
        match op {
            0x8 => return Err(io::ErrorKind::ConnectionAborted.into()),
            0x9 => {
                c.out.extend_from_slice(&[0x8a, data.len() as u8]);
                c.out.extend_from_slice(&data);
                flush(c)?;
            }
            0x1 => message(c, &data, counters)?,
            _ => {}
        }
    }
    Ok(())
}

fn message(c: &mut Conn, data: &[u8], counters: &Counters) -> io::Result<()> {
    let Ok(msg) = serde_json::from_slice::<serde_json::Value>(data) else {
        return Ok(());
    };
    match msg["type"].as_str() {
        Some("connection_init") => send(c, r#"{"type":"connection_ack"}"#),
        Some("ping") => send(c, r#"{"type":"pong"}"#),
        Some("subscribe") | Some("start") => {
            let id = msg["id"].as_str().unwrap_or_default();
            let kind = if c.legacy { "data" } else { "next" };
            let prefix = format!(
                r#"{{"id":{},"type":"{kind}","payload":"#,
                serde_json::Value::from(id)
            );
            c.subs.push(prefix.into_bytes());
            counters.subscriptions.fetch_add(1, Relaxed);
            Ok(())
        }
        _ => Ok(()),
    }
}
