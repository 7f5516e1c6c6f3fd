//! The control channel with the runner: commands read from stdin on a small thread and
//! handed to the event loop through a mio `Waker`, and results printed as one JSON object
//! per stdout line.

use mio::Waker;
use serde_json::Value;
use std::io::{self, BufRead, Write};
use std::sync::mpsc;

/// A command from the runner.
pub enum Cmd {
    Stop,
    /// stdin closed: stop once everything is open (a stop that does not abort the opening).
    Eof,
    Report,
    Expect(u64),
    Bad(String),
}

/// Prints one JSON line on stdout.
pub fn emit(v: &Value) {
    let mut out = io::stdout().lock();
    // A closed stdout (the runner went away) must not panic the loop; stdin EOF stops us.
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// Reads commands (`stop`, `report`, `expect N`) until EOF, waking the loop for each.
pub fn spawn_stdin(waker: Waker) -> mpsc::Receiver<Cmd> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let stdin = io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            let mut words = line.split_whitespace();
            let cmd = match (words.next(), words.next().map(str::parse::<u64>)) {
                (None, _) => continue,
                (Some("stop"), None) => Cmd::Stop,
                (Some("report"), None) => Cmd::Report,
                (Some("expect"), Some(Ok(n))) => Cmd::Expect(n),
                _ => Cmd::Bad(line.clone()),
            };
            if tx.send(cmd).is_err() || waker.wake().is_err() {
                return;
            }
        }
        // EOF: the runner is gone or done with us.
        let _ = tx.send(Cmd::Eof);
        let _ = waker.wake();
    });
    rx
}
