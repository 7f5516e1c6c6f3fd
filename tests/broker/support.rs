//! Test support for the broker tests: a real redis-server per test (free loopback port, temp
//! dir, killed on drop) and a `Deliver` that records what the broker hands over.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use crate::raw::{Raw, Reply};
use bytes::Bytes;
use subwire::broker::{Broker, BrokerConfig, BrokerEvent, Deliver, Done};
use subwire::error::SubwireError;

/// The tests of this binary run one at a time: they count fds and threads of the process,
/// and two cores are shared with other work.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// None (and a message) when redis-server is not installed: the caller returns early.
pub fn redis_available() -> bool {
    let ok = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        // CI installs it (.ci/run): there a missing redis-server fails instead of skipping.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: redis-server is not on the PATH (Debian: apt-get install redis-server)"
        );
        eprintln!(
            "SKIPPED: redis-server is not on the PATH (Debian: apt-get install redis-server)"
        );
    }
    ok
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("subwire-broker-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A redis-server on 127.0.0.1:`port`, killed when dropped (also when the test panics).
pub struct RedisServer {
    pub port: u16,
    extra: Vec<String>,
    child: Option<Child>,
    pub dir: TempDir,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_with(free_port(), &[])
    }

    /// `extra` are more redis-server arguments (`--requirepass x`, TLS options…).
    pub fn start_with(port: u16, extra: &[&str]) -> RedisServer {
        let mut s = RedisServer {
            port,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            dir: TempDir::new("redis"),
        };
        s.spawn();
        s
    }

    fn tls(&self) -> bool {
        self.extra.iter().any(|a| a == "--tls-port")
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.current_dir(&self.dir.0)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", self.dir.0.to_str().unwrap()]);
        if !self.tls() {
            cmd.args(["--port", &self.port.to_string()]);
        }
        cmd.args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.child = Some(cmd.spawn().expect("spawn redis-server"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the connections drop without a word, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Sends a signal by name (`STOP`, `CONT`) to the server process.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig} failed");
    }

    /// Starts it again on the same port (empty: no subscriptions survive).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn client(&self) -> Raw {
        Raw::connect(self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `Deliver` that records everything, with a way to wait for it.
#[derive(Default)]
pub struct Sink {
    state: Mutex<Seen>,
    changed: Condvar,
}

#[derive(Default)]
pub struct Seen {
    pub messages: Vec<(String, Bytes)>,
    pub events: Vec<BrokerEvent>,
}

impl Seen {
    pub fn payloads(&self, topic: &str) -> Vec<String> {
        self.messages
            .iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, p)| String::from_utf8_lossy(p).into_owned())
            .collect()
    }

    pub fn downs(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, BrokerEvent::Down { .. }))
            .count()
    }

    pub fn ups(&self) -> Vec<Duration> {
        self.events
            .iter()
            .filter_map(|e| match e {
                BrokerEvent::Up { down_for, .. } => Some(*down_for),
                _ => None,
            })
            .collect()
    }
}

impl Sink {
    pub fn new() -> Arc<Sink> {
        Arc::new(Sink::default())
    }

    pub fn seen(&self) -> MutexGuard<'_, Seen> {
        self.state.lock().unwrap()
    }

    /// Waits until `pred` holds (panics with `what` after `limit`).
    pub fn wait(&self, what: &str, limit: Duration, pred: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + limit;
        let mut s = self.state.lock().unwrap();
        while !pred(&s) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}");
            s = self.changed.wait_timeout(s, left).unwrap().0;
        }
    }
}

impl Deliver for Sink {
    fn message(&self, topic: &str, payload: Bytes) {
        self.state
            .lock()
            .unwrap()
            .messages
            .push((topic.to_string(), payload));
        self.changed.notify_all();
    }

    fn event(&self, event: BrokerEvent) {
        self.state.lock().unwrap().events.push(event);
        self.changed.notify_all();
    }
}

pub fn start(url: &str, prefix: &str, sink: &Arc<Sink>) -> Broker {
    start_with(BrokerConfig::new(url, prefix), sink)
}

pub fn start_with(mut cfg: BrokerConfig, sink: &Arc<Sink>) -> Broker {
    // Tests want faults noticed and repaired quickly.
    cfg.backoff_min = Duration::from_millis(50);
    cfg.backoff_max = Duration::from_millis(400);
    Broker::start(cfg, sink.clone() as Arc<dyn Deliver>).expect("broker starts")
}

/// Runs a `Done`-taking call and waits for its outcome.
pub fn sync(f: impl FnOnce(Done)) -> Result<(), SubwireError> {
    let (tx, rx) = std::sync::mpsc::channel();
    f(Box::new(move |r| {
        let _ = tx.send(r);
    }));
    rx.recv_timeout(Duration::from_secs(20))
        .expect("done called")
}

pub fn publish(b: &Broker, topic: &str, payload: &str) -> Result<(), SubwireError> {
    sync(|done| b.publish(topic, Bytes::copy_from_slice(payload.as_bytes()), done))
}

/// Waits until Redis answered everything `b` queued so far (subscriptions included).
pub fn settle(b: &Broker) {
    sync(|done| b.barrier(done)).expect("barrier");
}

pub fn wait_for(what: &str, limit: Duration, pred: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !pred() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn count_dir(p: &Path) -> usize {
    std::fs::read_dir(p).map(|d| d.count()).unwrap_or(0)
}
