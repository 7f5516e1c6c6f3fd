//! One floor event loop (one thread per core, each on its own `SO_REUSEPORT` listener): a
//! slab of connections, the upgrade, the few client messages the load generator sends, and
//! the fan-out of publishes handed over by the main thread.
//!
//! Fan-out: subscription ids are interned per loop (every load-generator connection uses the
//! ids "1".."S"), and so are topics (the subscription's `t` variable), each with the list of
//! connections subscribed to it (topics.rs). Publishes that reached the loop together are
//! grouped by topic; per group the loop builds one complete frame per distinct
//! (protocol, id) and publish — header, `{"id":…,"type":"next","payload":`, the payload,
//! `}` — and then writes, per subscribed connection, the frames of all its subscriptions to
//! that topic with one `writev`. Bytes a full socket refuses are copied to the connection's
//! buffer and written when it is writable again.

use std::collections::HashMap;
use std::io::{self, IoSlice, Read, Write};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::topics::Topics;
use crate::ws;
use crate::Counters;

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);
/// The kernel's limit of slices per `writev` (IOV_MAX).
const IOV_MAX: usize = 1024;

/// One publish: its topic and its `{"data":…}` payload, shared by every loop.
type Publish = (Arc<str>, Arc<[u8]>);

/// The main thread's side of a loop: publishes go through the channel, then a wake-up.
pub struct Handle {
    tx: Sender<Publish>,
    waker: Arc<Waker>,
}

impl Handle {
    /// Queues one publish to `topic`.
    pub fn publish(&self, topic: Arc<str>, payload: Arc<[u8]>) {
        let _ = self.tx.send((topic, payload));
        let _ = self.waker.wake();
    }
}

/// One subscription: its interned id prefix and topic.
#[derive(Clone, Copy)]
struct Sub {
    id: u32,
    topic: u32,
}

struct Conn {
    sock: TcpStream,
    upgraded: bool,
    legacy: bool,
    /// Bytes of an incomplete request head or frame.
    inbuf: Vec<u8>,
    /// Bytes the socket refused, written on the next writable event.
    out: Vec<u8>,
    /// This connection's subscriptions (interned id prefix and topic).
    subs: Vec<Sub>,
}

/// The loop's interned `{"id":…,"type":"next"|"data","payload":` prefixes.
#[derive(Default)]
struct Ids {
    prefixes: Vec<Vec<u8>>,
    index: HashMap<Vec<u8>, u32>,
}

impl Ids {
    fn intern(&mut self, legacy: bool, id: &str) -> u32 {
        let kind = if legacy { "data" } else { "next" };
        let id = serde_json::Value::from(id);
        let prefix = format!(r#"{{"id":{id},"type":"{kind}","payload":"#).into_bytes();
        if let Some(&i) = self.index.get(&prefix) {
            return i;
        }
        let i = self.prefixes.len() as u32;
        self.prefixes.push(prefix.clone());
        self.index.insert(prefix, i);
        i
    }
}

/// Starts a loop on `l`.
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

fn run(mut poll: Poll, listener: TcpListener, rx: Receiver<Publish>, counters: Arc<Counters>) {
    let mut conns: Slab<Conn> = Slab::new();
    let mut ids = Ids::default();
    let mut topics = Topics::default();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        if poll.poll(&mut events, None).is_err() {
            continue;
        }
        for ev in events.iter() {
            match ev.token() {
                LISTENER => accept(&poll, &listener, &mut conns),
                WAKER => {
                    let batch: Vec<Publish> = rx.try_iter().collect();
                    if !batch.is_empty() {
                        fan_out(&mut conns, &ids, &mut topics, &batch, &counters);
                    }
                }
                Token(k) => {
                    let ok = conns.get_mut(k).is_some_and(|c| {
                        let mut here = At {
                            key: k,
                            ids: &mut ids,
                            topics: &mut topics,
                        };
                        (!ev.is_writable() || flush(c).is_ok())
                            && (!ev.is_readable()
                                || read(c, &mut buf, &mut here, &counters).is_ok())
                    });
                    if !ok {
                        close(&mut conns, &mut topics, k, &counters);
                    }
                }
            }
        }
    }
}

fn accept(poll: &Poll, listener: &TcpListener, conns: &mut Slab<Conn>) {
    // Accept errors (EMFILE included) end this round; the listener stays registered.
    while let Ok((mut sock, _)) = listener.accept() {
        let _ = sock.set_nodelay(true);
        let entry = conns.vacant_entry();
        let interest = Interest::READABLE | Interest::WRITABLE;
        if poll
            .registry()
            .register(&mut sock, Token(entry.key()), interest)
            .is_ok()
        {
            entry.insert(Conn {
                sock,
                upgraded: false,
                legacy: false,
                inbuf: Vec::new(),
                out: Vec::new(),
                subs: Vec::new(),
            });
        }
    }
}

fn close(conns: &mut Slab<Conn>, topics: &mut Topics, k: usize, counters: &Counters) {
    if let Some(c) = conns.try_remove(k) {
        if c.upgraded {
            counters.open.fetch_sub(1, Relaxed);
        }
        for (i, s) in c.subs.iter().enumerate() {
            // once per distinct topic
            if !c.subs[..i].iter().any(|o| o.topic == s.topic) {
                topics.remove(s.topic, k);
            }
        }
        counters
            .subscriptions
            .fetch_sub(c.subs.len() as u64, Relaxed);
    }
}

/// Writes every publish of `batch` to every subscription of its topic: publishes grouped by
/// topic (in order within each), frames built once per (interned id, publish), then one
/// `writev` per subscribed connection and topic.
fn fan_out(
    conns: &mut Slab<Conn>,
    ids: &Ids,
    topics: &mut Topics,
    batch: &[Publish],
    counters: &Counters,
) {
    let mut groups: Vec<(u32, Vec<&Arc<[u8]>>)> = Vec::new();
    for (name, payload) in batch {
        let Some(t) = topics.lookup(name) else {
            continue;
        };
        match groups.iter_mut().find(|g| g.0 == t) {
            Some(g) => g.1.push(payload),
            None => groups.push((t, vec![payload])),
        }
    }
    let mut dead = Vec::new();
    let mut sent = 0u64;
    for (t, payloads) in &groups {
        // frames[publish][id]: complete frames, built once for every connection.
        let frames: Vec<Vec<Vec<u8>>> = payloads
            .iter()
            .map(|p| {
                ids.prefixes
                    .iter()
                    .map(|prefix| ws::text_frame(&[prefix, p, b"}"]))
                    .collect()
            })
            .collect();
        let mut slices: Vec<IoSlice<'_>> = Vec::new();
        for &k in topics.conns(*t) {
            let Some(c) = conns.get_mut(k) else { continue };
            slices.clear();
            for per_id in &frames {
                let mine = c.subs.iter().filter(|s| s.topic == *t);
                slices.extend(mine.map(|s| IoSlice::new(&per_id[s.id as usize])));
            }
            sent += slices.len() as u64;
            if write_or_keep(&c.sock, &mut c.out, &slices).is_err() {
                dead.push(k);
            }
        }
    }
    counters.messages_out.fetch_add(sent, Relaxed);
    for k in dead {
        close(conns, topics, k, counters);
    }
}

/// Writes `slices` (one `writev` unless they exceed IOV_MAX) if nothing waits before them;
/// keeps what the socket refuses. That copy is only paid when a socket is full.
fn write_or_keep(sock: &TcpStream, out: &mut Vec<u8>, slices: &[IoSlice<'_>]) -> io::Result<()> {
    let mut from = 0;
    while out.is_empty() && from < slices.len() {
        let chunk = &slices[from..slices.len().min(from + IOV_MAX)];
        let total: usize = chunk.iter().map(|s| s.len()).sum();
        let mut written = match (&*sock).write_vectored(chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => return Err(e),
        };
        from += chunk.len();
        if written < total {
            for s in chunk {
                if written >= s.len() {
                    written -= s.len();
                } else {
                    out.extend_from_slice(&s[written..]);
                    written = 0;
                }
            }
        }
    }
    for s in &slices[from..] {
        out.extend_from_slice(s);
    }
    Ok(())
}

fn flush(c: &mut Conn) -> io::Result<()> {
    let mut done = 0;
    while done < c.out.len() {
        match (&c.sock).write(&c.out[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    c.out.drain(..done);
    Ok(())
}

/// Queues a text message and writes what the socket takes.
fn send(c: &mut Conn, text: &str) -> io::Result<()> {
    c.out.extend_from_slice(&ws::text_frame(&[text.as_bytes()]));
    flush(c)
}

/// Where a connection's messages are handled: its slab key and the loop's interned names.
struct At<'a> {
    key: usize,
    ids: &'a mut Ids,
    topics: &'a mut Topics,
}

fn read(c: &mut Conn, buf: &mut [u8], here: &mut At, counters: &Counters) -> io::Result<()> {
    loop {
        match (&c.sock).read(buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => c.inbuf.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    if !c.upgraded {
        let Some((used, reply)) = ws::upgrade(&c.inbuf)? else {
            return Ok(());
        };
        c.inbuf.drain(..used);
        c.legacy = reply.legacy;
        c.out.extend_from_slice(reply.response.as_bytes());
        c.upgraded = true;
        counters.open.fetch_add(1, Relaxed);
        flush(c)?;
    }
    let mut at = 0;
    while let Some((op, payload, len)) = ws::client_frame(&c.inbuf[at..])? {
        at += len;
        match op {
            ws::OP_CLOSE => {
                // Answer with the same code, then hang up (the client waits for our EOF).
                let code = payload.get(..2).map_or(vec![], <[u8]>::to_vec);
                c.out.extend_from_slice(&[0x88, code.len() as u8]);
                c.out.extend_from_slice(&code);
                let _ = flush(c);
                return Err(io::ErrorKind::ConnectionAborted.into());
            }
            ws::OP_PING => {
                c.out.extend_from_slice(&[0x8a, payload.len() as u8]);
                c.out.extend_from_slice(&payload);
                flush(c)?;
            }
            ws::OP_TEXT => message(c, &payload, here, counters)?,
            _ => {}
        }
    }
    c.inbuf.drain(..at);
    Ok(())
}

/// A client message: `connection_init`, `ping`, `subscribe`/`start` (topic: the `t`
/// variable, "" without one), `complete`/`stop`, `connection_terminate`; anything else is
/// ignored.
fn message(c: &mut Conn, data: &[u8], here: &mut At, counters: &Counters) -> io::Result<()> {
    let Ok(msg) = serde_json::from_slice::<serde_json::Value>(data) else {
        return Err(io::ErrorKind::InvalidData.into());
    };
    let id = msg["id"].as_str().unwrap_or_default();
    match msg["type"].as_str() {
        Some("connection_init") => send(c, r#"{"type":"connection_ack"}"#),
        Some("ping") => send(c, r#"{"type":"pong"}"#),
        Some("subscribe" | "start") => {
            let name = msg["payload"]["variables"]["t"]
                .as_str()
                .unwrap_or_default();
            let topic = here.topics.intern(name);
            if !c.subs.iter().any(|s| s.topic == topic) {
                here.topics.add(topic, here.key);
            }
            c.subs.push(Sub {
                id: here.ids.intern(c.legacy, id),
                topic,
            });
            counters.subscriptions.fetch_add(1, Relaxed);
            Ok(())
        }
        Some("complete" | "stop") => {
            let i = here.ids.intern(c.legacy, id);
            if let Some(pos) = c.subs.iter().position(|s| s.id == i) {
                let gone = c.subs.swap_remove(pos);
                if !c.subs.iter().any(|s| s.topic == gone.topic) {
                    here.topics.remove(gone.topic, here.key);
                }
                counters.subscriptions.fetch_sub(1, Relaxed);
            }
            Ok(())
        }
        Some("connection_terminate") => Err(io::ErrorKind::ConnectionAborted.into()),
        _ => Ok(()),
    }
}
