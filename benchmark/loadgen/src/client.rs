//! One WebSocket client: its socket and ~150 bytes of state. It is driven by the event loop
//! (`driver.rs`) through `on_connected`, `on_readable`, `flush` and `begin_close`; buffers
//! are allocated only while a partial frame or unsent bytes exist.

use crate::args::{Config, Mode, Protocol};
use crate::proto::{self, ServerMsg};
use crate::stats::{Failure, Stats};
use crate::ws::{self, Rng};
use mio::net::TcpStream;
use std::io::{self, Read, Write};
use std::time::Instant;

/// The text an `--echo-check` client sends and expects back.
pub const ECHO_TEXT: &[u8] = b"subwire-loadgen-echo";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Connecting,
    Upgrading,
    EchoWait,
    AwaitAck,
    Ready,
    /// We sent a close frame and wait for the server's.
    Closing,
    /// The server answered our close; we wait for it to close TCP first (RFC 6455 §7.1.1),
    /// so TIME_WAIT lands on the server and not on our ports.
    CloseAcked,
}

/// How a client ended (the driver then drops it).
pub enum End {
    Fail(Failure, String),
    /// Closed as asked: the server answered our close (or hung up while we closed).
    Finished,
}

/// What a client needs from its surroundings while it handles bytes.
pub struct Ctx<'a> {
    /// The client's number in this process (its slot in the driver).
    pub index: usize,
    pub cfg: &'a Config,
    pub stats: &'a mut Stats,
    pub rng: &'a mut Rng,
}

/// Marks a subscription that has not seen an event yet.
const NONE_SEEN: u64 = u64::MAX;

pub struct Client {
    pub stream: TcpStream,
    pub phase: Phase,
    pub started: Instant,
    accept: [u8; 28],
    /// Bytes of an incomplete response head or frame.
    inbuf: Vec<u8>,
    /// Bytes not yet taken by the socket.
    outbuf: Vec<u8>,
    /// A fragmented message being assembled (rare: servers here send small messages whole).
    frag: Vec<u8>,
    /// Last seq seen per subscription (index = id - 1), `NONE_SEEN` before the first.
    last: Box<[u64]>,
}

fn epoch_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

impl Client {
    pub fn new(stream: TcpStream, cfg: &Config) -> Client {
        let subs = if cfg.protocol == Protocol::None {
            1
        } else {
            cfg.subs_per_conn
        };
        Client {
            stream,
            phase: Phase::Connecting,
            started: Instant::now(),
            accept: [0; 28],
            inbuf: Vec::new(),
            outbuf: Vec::new(),
            frag: Vec::new(),
            last: vec![NONE_SEEN; subs].into_boxed_slice(),
        }
    }

    fn send(&mut self, opcode: u8, payload: &[u8], rng: &mut Rng) {
        ws::encode_frame(&mut self.outbuf, opcode, payload, rng.mask());
    }

    /// Checks a pending connect. `Ok(true)`: connected and the upgrade request is queued.
    pub fn on_connected(&mut self, ctx: &mut Ctx) -> Result<bool, End> {
        if let Some(e) = self
            .stream
            .take_error()
            .map_err(|e| End::Fail(Failure::Connect, e.to_string()))?
        {
            return Err(End::Fail(Failure::Connect, e.to_string()));
        }
        match self.stream.peer_addr() {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(false),
            Err(e) => return Err(End::Fail(Failure::Connect, e.to_string())),
        }
        let key = ws::new_key(ctx.rng);
        self.accept = ws::accept_for(&key);
        ws::write_request(
            &mut self.outbuf,
            &ctx.cfg.host_header,
            &ctx.cfg.path,
            &key,
            ctx.cfg.protocol.subprotocol(),
        );
        self.phase = Phase::Upgrading;
        Ok(true)
    }

    /// Reads what the socket has and handles it. Edge-triggered: a read shorter than the
    /// buffer emptied the socket, and any later packet raises a new edge, so that read is the
    /// last one, unless the peer hung up (`hup`): then read on until EOF is seen.
    pub fn on_readable(&mut self, scratch: &mut [u8], hup: bool, ctx: &mut Ctx) -> Result<(), End> {
        loop {
            let n = match self.stream.read(scratch) {
                Ok(0) if self.phase >= Phase::Closing => return Err(End::Finished),
                Ok(0) => {
                    return Err(End::Fail(
                        Failure::Closed,
                        "connection closed by the server (EOF)".into(),
                    ))
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) if self.phase >= Phase::Closing => return Err(End::Finished),
                Err(e) => return Err(End::Fail(Failure::Closed, format!("read: {e}"))),
            };
            let now_ms = epoch_ms();
            if self.inbuf.is_empty() {
                let used = self.process(&scratch[..n], now_ms, ctx)?;
                self.inbuf.extend_from_slice(&scratch[used..n]);
            } else {
                let mut buf = std::mem::take(&mut self.inbuf);
                buf.extend_from_slice(&scratch[..n]);
                let used = self.process(&buf, now_ms, ctx)?;
                buf.drain(..used);
                if !buf.is_empty() {
                    self.inbuf = buf;
                }
            }
            if n < scratch.len() && !hup {
                return Ok(());
            }
        }
    }

    /// Handles whole units (response head, frames) of `data`; returns the bytes used.
    fn process(&mut self, data: &[u8], now_ms: f64, ctx: &mut Ctx) -> Result<usize, End> {
        let mut used = 0;
        if self.phase == Phase::Upgrading {
            let head = match ws::check_response(data, &self.accept, ctx.cfg.protocol.subprotocol())
            {
                Ok(None) => return Ok(0),
                Ok(Some(n)) => n,
                Err(e) => return Err(End::Fail(Failure::Handshake, format!("{e:?}"))),
            };
            used = head;
            self.upgraded(ctx);
        }
        while let Some(f) = ws::decode_frame(&data[used..], ctx.cfg.max_payload)
            .map_err(|e| End::Fail(Failure::Protocol, format!("server frame: {e:?}")))?
        {
            used += f.len;
            match f.opcode {
                ws::OP_PING => self.send(ws::OP_PONG, f.payload, ctx.rng),
                ws::OP_PONG => {}
                ws::OP_CLOSE => {
                    if let Some(end) = self.on_close(f.payload, ctx) {
                        return Err(end);
                    }
                }
                ws::OP_CONT => {
                    if self.frag.is_empty() {
                        return Err(End::Fail(
                            Failure::Protocol,
                            "continuation without a start".into(),
                        ));
                    }
                    self.frag.extend_from_slice(f.payload);
                    if f.fin {
                        let msg = std::mem::take(&mut self.frag);
                        self.on_message(&msg[1..], now_ms, ctx)?;
                    }
                }
                op if !self.frag.is_empty() => {
                    return Err(End::Fail(
                        Failure::Protocol,
                        format!("opcode {op} inside a fragmented message"),
                    ));
                }
                op if !f.fin => {
                    self.frag.push(op);
                    self.frag.extend_from_slice(f.payload);
                }
                _ => self.on_message(f.payload, now_ms, ctx)?,
            }
        }
        Ok(used)
    }

    fn upgraded(&mut self, ctx: &mut Ctx) {
        self.phase = match ctx.cfg.protocol {
            Protocol::None if ctx.cfg.echo_check => {
                self.send(ws::OP_TEXT, ECHO_TEXT, ctx.rng);
                Phase::EchoWait
            }
            Protocol::None => Phase::Ready,
            _ => {
                let init = ctx.cfg.init_message(ctx.index);
                self.send(ws::OP_TEXT, &init, ctx.rng);
                Phase::AwaitAck
            }
        };
    }

    /// A close frame from the server: the answer to ours (then wait for EOF), or the
    /// server's own close (answer it; the client is lost).
    fn on_close(&mut self, payload: &[u8], ctx: &mut Ctx) -> Option<End> {
        if self.phase >= Phase::Closing {
            self.phase = Phase::CloseAcked;
            return None;
        }
        let code = payload
            .get(..2)
            .map_or(1005, |c| u16::from_be_bytes([c[0], c[1]]));
        // Answer with the same code (1005 must not be sent: answer 1000 then).
        let reply = if code == 1005 { 1000 } else { code };
        ws::encode_close(&mut self.outbuf, reply, ctx.rng.mask());
        let _ = self.flush();
        let reason = String::from_utf8_lossy(payload.get(2..).unwrap_or_default()).into_owned();
        Some(End::Fail(
            Failure::Closed,
            format!("server sent close {code} {reason}"),
        ))
    }

    fn on_message(&mut self, msg: &[u8], now_ms: f64, ctx: &mut Ctx) -> Result<(), End> {
        let ready = self.phase >= Phase::Ready;
        match (ctx.cfg.protocol, self.phase) {
            (_, Phase::Closing | Phase::CloseAcked) => Ok(()),
            (Protocol::None, Phase::EchoWait) if msg == ECHO_TEXT => {
                self.phase = Phase::Ready;
                Ok(())
            }
            (Protocol::None, Phase::EchoWait) => Err(End::Fail(
                Failure::Protocol,
                format!("echo came back as {:?}", String::from_utf8_lossy(msg)),
            )),
            (Protocol::None, _) => {
                if ctx.cfg.mode == Mode::Fanout {
                    match proto::parse_plain(msg) {
                        Some((seq, sent_at)) => self.event(1, seq, sent_at, now_ms, ctx),
                        None => Err(End::Fail(
                            Failure::Protocol,
                            "fan-out message without seq/sentAt".into(),
                        )),
                    }
                } else {
                    Ok(())
                }
            }
            (protocol, phase) => match proto::parse_server(msg) {
                Err(e) => Err(End::Fail(Failure::Protocol, e)),
                Ok(ServerMsg::Ack) if phase == Phase::AwaitAck => {
                    let topic = ctx.cfg.topic_of(ctx.index);
                    for id in 1..=self.last.len() {
                        let mut m = Vec::with_capacity(160);
                        proto::write_subscribe(&mut m, protocol, id, &topic, &ctx.cfg.query);
                        self.send(ws::OP_TEXT, &m, ctx.rng);
                    }
                    self.phase = Phase::Ready;
                    Ok(())
                }
                Ok(ServerMsg::Ack) => {
                    Err(End::Fail(Failure::Protocol, "second connection_ack".into()))
                }
                Ok(ServerMsg::Ping) => {
                    self.send(ws::OP_TEXT, proto::PONG, ctx.rng);
                    Ok(())
                }
                Ok(ServerMsg::Ignore) => Ok(()),
                Ok(ServerMsg::Next { id, seq, sent_at }) if ready => {
                    self.event(id, seq, sent_at, now_ms, ctx)
                }
                Ok(ServerMsg::Next { .. }) => Err(End::Fail(
                    Failure::Protocol,
                    "event before connection_ack".into(),
                )),
                Ok(ServerMsg::Error(e)) => Err(End::Fail(Failure::Protocol, e)),
                Ok(ServerMsg::Unknown(t)) => Err(End::Fail(
                    Failure::Protocol,
                    format!("unknown message type {t:?}"),
                )),
            },
        }
    }

    /// An event `seq` sent at `sent_at` and read at `now_ms` (both ms since the epoch).
    fn event(
        &mut self,
        id: usize,
        seq: u64,
        sent_at: f64,
        now_ms: f64,
        ctx: &mut Ctx,
    ) -> Result<(), End> {
        let Some(last) = id.checked_sub(1).and_then(|i| self.last.get_mut(i)) else {
            ctx.stats.unknown_ids += 1;
            return Ok(());
        };
        let seen = *last != NONE_SEEN;
        if !seen {
            *last = ctx.cfg.first_seq.saturating_sub(1);
        }
        let any_first = ctx.cfg.first_seq == 0;
        ctx.stats
            .event(last, seen, any_first, seq, sent_at, now_ms - sent_at);
        Ok(())
    }

    /// Events still missing if the last published seq is `expect`.
    pub fn missing(&self, expect: u64, first_seq: u64) -> u64 {
        let first = first_seq.max(1);
        self.last
            .iter()
            .map(|&l| {
                if l == NONE_SEEN {
                    (expect + 1).saturating_sub(first)
                } else {
                    expect.saturating_sub(l)
                }
            })
            .sum()
    }

    /// Writes queued bytes until done or the socket is full.
    pub fn flush(&mut self) -> io::Result<()> {
        let mut written = 0;
        while written < self.outbuf.len() {
            match self.stream.write(&self.outbuf[written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if written == self.outbuf.len() {
            self.outbuf = Vec::new();
        } else {
            self.outbuf.drain(..written);
        }
        Ok(())
    }

    /// Starts the closing handshake. `false`: nothing to wait for (not upgraded yet).
    pub fn begin_close(&mut self, rng: &mut Rng) -> bool {
        if self.phase <= Phase::Upgrading || self.phase >= Phase::Closing {
            return self.phase >= Phase::Closing;
        }
        ws::encode_close(&mut self.outbuf, 1000, rng.mask());
        self.phase = Phase::Closing;
        self.flush().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_state_stays_small() {
        // The socket, phase, timestamps, accept key and three empty buffers: no per-client
        // allocation beyond the subscriptions' last-seq slice while idle.
        let size = std::mem::size_of::<Client>();
        assert!(size <= 192, "Client is {size} bytes");
    }
}
