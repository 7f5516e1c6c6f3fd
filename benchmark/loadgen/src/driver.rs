//! The event loop: one mio `Poll` for every client of this process. It opens connections
//! (at most `--concurrency` handshakes in flight, each bound to a source address from
//! `--src`), times handshakes out, reads stdin commands through a waker, prints the
//! `ready`/`report`/`done` lines and closes everything at the end. Every wait is bounded.

use crate::args::{Config, Mode};
use crate::client::{Client, Ctx, End, Phase};
use crate::control::{emit, spawn_stdin, Cmd};
use crate::stats::{round3, Failure, Stats};
use crate::ws::Rng;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use serde_json::{json, Value};
use socket2::{Domain, Protocol as SockProto, SockAddr, Socket, Type};
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddrV4;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const WAKER: Token = Token(usize::MAX);

#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Stage {
    Opening,
    Holding,
    Closing,
}

fn epoch_ms(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| round3(d.as_secs_f64() * 1000.0))
}

/// Opens a non-blocking socket bound to `src` (port chosen at connect time) and starts
/// connecting it to the target.
fn open(cfg: &Config, src: std::net::Ipv4Addr) -> io::Result<TcpStream> {
    let sock = Socket::new(
        Domain::IPV4,
        Type::STREAM.nonblocking(),
        Some(SockProto::TCP),
    )?;
    let on: libc::c_int = 1;
    // SAFETY: the fd is a live socket owned by `sock`; the option value is a c_int that lives
    // across the call and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    sock.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))?;
    sock.set_tcp_nodelay(true)?;
    match sock.connect(&SockAddr::from(cfg.target)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(std::net::TcpStream::from(sock)))
}

pub struct Driver {
    cfg: Config,
    poll: Poll,
    clients: Vec<Option<Client>>,
    stats: Stats,
    rng: Rng,
    scratch: Vec<u8>,
    /// (deadline, client) of handshakes, in launch order (so deadlines ascend).
    deadlines: VecDeque<(Instant, usize)>,
    launched: usize,
    in_flight: usize,
    ready: usize,
    open: usize,
    expect: Option<u64>,
    /// Missing events computed when closing began (clients' seq state is dropped after).
    missing_at_stop: Option<u64>,
}

impl Driver {
    pub fn new(cfg: Config) -> io::Result<Driver> {
        let seed = if cfg.seed != 0 {
            cfg.seed
        } else {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                ^ u64::from(std::process::id())
        };
        let n = cfg.connections;
        Ok(Driver {
            poll: Poll::new()?,
            clients: (0..n).map(|_| None).collect(),
            stats: Stats::default(),
            rng: Rng::new(seed),
            scratch: vec![0; 64 * 1024],
            deadlines: VecDeque::new(),
            launched: 0,
            in_flight: 0,
            ready: 0,
            open: 0,
            expect: None,
            missing_at_stop: None,
            cfg,
        })
    }

    fn launch(&mut self) {
        let i = self.launched;
        self.launched += 1;
        let stream = match open(&self.cfg, self.cfg.source(i)) {
            Ok(s) => s,
            Err(e) => return self.stats.fail(false, Failure::Connect, || e.to_string()),
        };
        let mut c = Client::new(stream, &self.cfg);
        if let Err(e) = self.poll.registry().register(
            &mut c.stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            return self
                .stats
                .fail(false, Failure::Connect, || format!("register: {e}"));
        }
        self.deadlines
            .push_back((c.started + self.cfg.handshake_timeout, i));
        self.clients[i] = Some(c);
        self.in_flight += 1;
        self.open += 1;
    }

    /// Drops client `i`, counting why.
    fn end(&mut self, i: usize, end: End) {
        let Some(mut c) = self.clients[i].take() else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut c.stream);
        self.open -= 1;
        let was_ready = c.phase >= Phase::Ready;
        if !was_ready {
            self.in_flight -= 1;
        }
        match end {
            End::Finished => self.stats.closed_clean += 1,
            End::Fail(kind, msg) => self.stats.fail(was_ready, kind, || msg),
        }
    }

    fn handle(&mut self, i: usize, ev: &mio::event::Event) {
        let Some(c) = self.clients.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        let before = c.phase;
        let mut ctx = Ctx {
            index: i,
            cfg: &self.cfg,
            stats: &mut self.stats,
            rng: &mut self.rng,
        };
        let result = (|| {
            if c.phase == Phase::Connecting && !c.on_connected(&mut ctx)? {
                return Ok(());
            }
            if ev.is_readable()
                || ev.is_read_closed()
                || ev.is_error()
                || before == Phase::Connecting
            {
                c.on_readable(
                    &mut self.scratch,
                    ev.is_read_closed() || ev.is_error(),
                    &mut ctx,
                )?;
            }
            c.flush()
                .map_err(|e| End::Fail(Failure::Closed, format!("write: {e}")))
        })();
        let (after, started) = (c.phase, c.started);
        if before < Phase::Ready && after >= Phase::Ready {
            self.in_flight -= 1;
            self.ready += 1;
            self.stats
                .handshake
                .record(started.elapsed().as_micros() as u64);
        }
        if let Err(end) = result {
            self.end(i, end);
        }
    }

    fn expire_handshakes(&mut self, now: Instant) {
        while let Some(&(deadline, i)) = self.deadlines.front() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            if self.clients[i]
                .as_ref()
                .is_some_and(|c| c.phase < Phase::Ready)
            {
                self.end(i, End::Fail(Failure::Timeout, "handshake timed out".into()));
            }
        }
    }

    fn missing(&self) -> Option<u64> {
        let expect = self.expect?;
        Some(
            self.clients
                .iter()
                .flatten()
                .map(|c| c.missing(expect, self.cfg.first_seq))
                .sum(),
        )
    }

    fn report(&self, event: &str, extra: Value) -> Value {
        let missing = if event == "done" {
            self.missing_at_stop
        } else {
            self.missing()
        };
        let mut v = json!({
            "event": event,
            "pid": std::process::id(),
            "mode": format!("{:?}", self.cfg.mode).to_lowercase(),
            "connected": self.ready,
            "failed": self.stats.failed(),
            "open": self.open,
            "failures": self.stats.failures_json(),
            "handshake": self.stats.handshake.to_json(false),
        });
        if self.cfg.mode == Mode::Fanout || self.stats.delivered > 0 || self.expect.is_some() {
            v["delivery"] = self.stats.delivery_json(missing, true);
        }
        if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
            m.extend(x);
        }
        v
    }

    fn begin_closing(&mut self) {
        self.missing_at_stop = self.missing();
        for i in 0..self.clients.len() {
            let Some(c) = self.clients[i].as_mut() else {
                continue;
            };
            if !c.begin_close(&mut self.rng) {
                self.end(i, End::Finished);
            }
        }
    }

    /// Runs to the end; returns the process exit code.
    pub fn run(mut self) -> io::Result<i32> {
        let start_wall = SystemTime::now();
        let deadline = Instant::now() + self.cfg.timeout;
        let cmds = spawn_stdin(Waker::new(self.poll.registry(), WAKER)?);
        let mut start_at = Instant::now();
        if let Some(at) = self.cfg.start_at_ms {
            let now_ms = epoch_ms(start_wall);
            start_at += Duration::from_secs_f64(((at as f64 - now_ms) / 1000.0).clamp(0.0, 60.0));
        }
        let mut events = Events::with_capacity(1024);
        let (mut stage, mut stop_requested, mut abort_opening) = (Stage::Opening, false, false);
        let (mut t0, mut t0_wall) = (None::<Instant>, start_wall);
        let mut hold_until = None::<Instant>;
        let mut close_until = Instant::now();
        let mut timed_out = false;
        loop {
            let now = Instant::now();
            if now >= deadline {
                timed_out = true;
                break;
            }
            let can_launch =
                stage == Stage::Opening && now >= start_at && self.launched < self.cfg.connections;
            let mut wait = Duration::from_millis(50).min(deadline - now);
            if can_launch && self.in_flight < self.cfg.concurrency {
                wait = Duration::ZERO;
            } else if stage == Stage::Opening && now < start_at {
                wait = wait.min(start_at - now);
            }
            match self.poll.poll(&mut events, Some(wait)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for ev in events.iter() {
                if ev.token() == WAKER {
                    continue;
                }
                self.handle(ev.token().0, ev);
            }
            while let Ok(cmd) = cmds.try_recv() {
                match cmd {
                    Cmd::Stop => (stop_requested, abort_opening) = (true, true),
                    Cmd::Eof => stop_requested = true,
                    Cmd::Report => emit(&self.report("report", json!({}))),
                    Cmd::Expect(n) => self.expect = Some(n),
                    Cmd::Bad(l) => emit(
                        &json!({"event": "error", "message": format!("unknown command {l:?}")}),
                    ),
                }
            }
            let now = Instant::now();
            self.expire_handshakes(now);
            if stage == Stage::Opening && now >= start_at {
                if t0.is_none() {
                    (t0, t0_wall) = (Some(now), SystemTime::now());
                }
                while self.launched < self.cfg.connections && self.in_flight < self.cfg.concurrency
                {
                    self.launch();
                }
                if self.launched == self.cfg.connections && self.in_flight == 0 {
                    let secs = t0.map_or(0.0, |t| t.elapsed().as_secs_f64());
                    emit(&self.report(
                        "ready",
                        json!({
                            "ms": round3(secs * 1000.0),
                            "t0": epoch_ms(t0_wall),
                            "t_ready": epoch_ms(SystemTime::now()),
                            "rate": if secs > 0.0 { (self.ready as f64 / secs).round() } else { 0.0 },
                        }),
                    ));
                    stage = Stage::Holding;
                    hold_until = self.cfg.hold.map(|h| now + h);
                }
            }
            if stage == Stage::Holding {
                let held = hold_until.is_some_and(|h| now >= h);
                if self.cfg.mode == Mode::Storm || stop_requested || held {
                    stage = Stage::Closing;
                    close_until = now + self.cfg.close_wait;
                    self.begin_closing();
                }
            } else if stage == Stage::Opening && abort_opening && now >= start_at {
                // A stop while still opening: give up on the rest, close what is open.
                for i in self.launched..self.cfg.connections {
                    self.stats.fail(false, Failure::Connect, || {
                        format!("not started (stopped) #{i}")
                    });
                }
                self.launched = self.cfg.connections;
            }
            if stage == Stage::Closing && (self.open == 0 || now >= close_until) {
                break;
            }
        }
        if stage < Stage::Closing {
            self.missing_at_stop = self.missing();
        }
        // Still open after the close wait: no close reply, or a reply but no EOF after it.
        let count = |p: Phase| {
            self.clients
                .iter()
                .flatten()
                .filter(|c| c.phase == p)
                .count()
        };
        let (unanswered, no_eof) = if stage == Stage::Closing {
            (count(Phase::Closing), count(Phase::CloseAcked))
        } else {
            (0, 0)
        };
        let elapsed_ms = start_wall
            .elapsed()
            .map_or(0.0, |d| round3(d.as_secs_f64() * 1000.0));
        emit(&self.report(
            "done",
            json!({
                "timed_out": timed_out,
                "close_unanswered": unanswered,
                "close_no_eof": no_eof,
                "elapsed_ms": elapsed_ms,
            }),
        ));
        Ok(if timed_out { 3 } else { 0 })
    }
}
