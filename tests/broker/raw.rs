//! A plain RESP2 client over TCP for the broker tests: a foreign publisher (as ioredis or
//! redis-cli would be) and a way to ask Redis questions (PUBSUB NUMSUB, INFO, CLIENT LIST).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A reply from Redis, as the raw client reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Ok(String),
    Err(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

impl Reply {
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(n) => *n,
            other => panic!("not an integer: {other:?}"),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            Reply::Ok(s) | Reply::Err(s) => s.clone(),
            other => panic!("not text: {other:?}"),
        }
    }
}

/// A plain RESP2 client over TCP: a foreign publisher (like ioredis or redis-cli would be).
pub struct Raw {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let w = TcpStream::connect(("127.0.0.1", port)).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let r = BufReader::new(w.try_clone().unwrap());
        Raw { w, r }
    }

    /// A PUBLISH that reports failure instead of panicking (for a publisher that outlives
    /// a Redis restart).
    pub fn try_publish(port: u16, conn: &mut Option<Raw>, channel: &[u8], payload: &[u8]) -> bool {
        if conn.is_none() {
            let Ok(w) = TcpStream::connect(("127.0.0.1", port)) else {
                return false;
            };
            let _ = w.set_read_timeout(Some(Duration::from_secs(2)));
            let Ok(r) = w.try_clone() else { return false };
            *conn = Some(Raw {
                w,
                r: BufReader::new(r),
            });
        }
        let c = conn.as_mut().unwrap();
        let mut out = format!("*3\r\n$7\r\nPUBLISH\r\n${}\r\n", channel.len()).into_bytes();
        out.extend_from_slice(channel);
        out.extend_from_slice(format!("\r\n${}\r\n", payload.len()).as_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(b"\r\n");
        let mut line = String::new();
        let ok = c.w.write_all(&out).is_ok()
            && matches!(c.r.read_line(&mut line), Ok(n) if n > 0)
            && line.starts_with(':');
        if !ok {
            *conn = None;
        }
        ok
    }

    pub fn send(&mut self, args: &[&[u8]]) {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&out).unwrap();
    }

    pub fn cmd(&mut self, args: &[&[u8]]) -> Reply {
        self.send(args);
        self.read()
    }

    pub fn read(&mut self) -> Reply {
        let mut line = String::new();
        self.r.read_line(&mut line).unwrap();
        let (kind, rest) = line.trim_end().split_at(1);
        match kind {
            "+" => Reply::Ok(rest.into()),
            "-" => Reply::Err(rest.into()),
            ":" => Reply::Int(rest.parse().unwrap()),
            "$" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Reply::Bulk(None);
                }
                let mut buf = vec![0; n as usize + 2];
                std::io::Read::read_exact(&mut self.r, &mut buf).unwrap();
                buf.truncate(n as usize);
                Reply::Bulk(Some(buf))
            }
            "*" => {
                let n: i64 = rest.parse().unwrap();
                Reply::Array((0..n.max(0)).map(|_| self.read()).collect())
            }
            other => panic!("unexpected RESP type {other:?} in {line:?}"),
        }
    }

    /// How many clients are subscribed to `channel`.
    pub fn numsub(&mut self, channel: &str) -> i64 {
        match self.cmd(&[b"PUBSUB", b"NUMSUB", channel.as_bytes()]) {
            Reply::Array(v) => v[1].int(),
            other => panic!("{other:?}"),
        }
    }

    /// How many times Redis ran `command` (INFO commandstats).
    pub fn calls(&mut self, command: &str) -> u64 {
        let info = self.cmd(&[b"INFO", b"commandstats"]).text();
        let key = format!("cmdstat_{command}:calls=");
        info.lines()
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|rest| rest.split(',').next())
            .map(|n| n.parse().unwrap())
            .unwrap_or(0)
    }
}
