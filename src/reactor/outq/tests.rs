//! Tests of the outbound queue: partial writes, slice limits, runs and dropping.

use super::*;
use crate::ws::frame::{self, OpCode};
use bytes::Bytes;
use std::sync::Arc;

/// A writer that takes at most `limit` bytes per call, then blocks after `calls` calls.
struct Trickle {
    out: Vec<u8>,
    limit: usize,
    calls: usize,
}

impl Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if self.calls == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.calls -= 1;
        let mut n = 0;
        for b in bufs {
            let take = b.len().min(self.limit - n);
            self.out.extend_from_slice(&b[..take]);
            n += take;
            if n == self.limit {
                break;
            }
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn expected(frames: &[(OpCode, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (op, p) in frames {
        let mut h = [0u8; frame::MAX_HEADER];
        let n = frame::encode_header(&mut h, true, *op, p.len());
        v.extend_from_slice(&h[..n]);
        v.extend_from_slice(p);
    }
    v
}

#[test]
fn partial_writes_resume_where_they_stopped() {
    let shared = Bytes::from(vec![7u8; 300]);
    let input: Vec<(OpCode, &[u8])> = vec![
        (OpCode::Text, b"hello"),
        (OpCode::Binary, &shared[..]),
        (OpCode::Text, b""),
        (OpCode::Binary, &shared[..]),
    ];
    for limit in [1, 3, 7, 64, 1000] {
        let mut q = OutQueue::default();
        for (op, p) in &input {
            q.push(Entry::ws(*op, Bytes::copy_from_slice(p)));
        }
        let total = q.bytes();
        let mut w = Trickle {
            out: Vec::new(),
            limit,
            calls: 3,
        };
        let mut done = 0;
        loop {
            match q.flush(&mut w, &mut Scratch::default()).unwrap() {
                Flushed::All(n) => {
                    done += n;
                    break;
                }
                Flushed::Blocked(n) => {
                    done += n;
                    assert_eq!(q.bytes(), total - done);
                    w.calls = 3;
                }
            }
        }
        assert_eq!(done, total);
        assert!(q.is_empty());
        assert_eq!(w.out, expected(&input), "limit {limit}");
    }
}

#[test]
fn many_frames_span_several_writev_calls() {
    let mut q = OutQueue::default();
    let payload = Bytes::from_static(b"x");
    for _ in 0..1200 {
        q.push(Entry::ws(OpCode::Text, payload.clone()));
    }
    let mut w = Trickle {
        out: Vec::new(),
        limit: usize::MAX / 2,
        calls: 100,
    };
    assert_eq!(
        q.flush(&mut w, &mut Scratch::default()).unwrap(),
        Flushed::All(3600)
    );
    assert_eq!(w.out.len(), 3600);
    assert_eq!(
        w.calls,
        100 - (1200usize * 2).div_ceil(MAX_SLICES),
        "one writev per {MAX_SLICES} slices"
    );
}

#[test]
fn framed_parts_share_the_payload_and_dropping_keeps_a_started_frame() {
    let payload = Bytes::from(vec![b'p'; 100]);
    let mut q = OutQueue::default();
    for id in ["1", "22"] {
        let prefix = Bytes::from(format!("{{\"id\":\"{id}\",\"payload\":"));
        q.push(Entry::parts(OpCode::Text, prefix, payload.clone(), b"}"));
    }
    let body = |id: &str| format!("{{\"id\":\"{id}\",\"payload\":{}}}", "p".repeat(100));
    let (a, b) = (body("1"), body("22"));
    let want = expected(&[(OpCode::Text, a.as_bytes()), (OpCode::Text, b.as_bytes())]);
    assert_eq!(q.bytes(), want.len());
    let mut w = Trickle {
        out: Vec::new(),
        limit: 5,
        calls: 1,
    };
    assert_eq!(
        q.flush(&mut w, &mut Scratch::default()).unwrap(),
        Flushed::Blocked(5)
    );
    // The first frame is started: it stays, the second goes.
    let dropped = q.drop_unsent();
    assert_eq!(dropped, 2 + b.len());
    w.calls = 100;
    w.limit = 1000;
    assert!(matches!(
        q.flush(&mut w, &mut Scratch::default()).unwrap(),
        Flushed::All(_)
    ));
    assert_eq!(w.out, expected(&[(OpCode::Text, a.as_bytes())]));
    assert_eq!(q.bytes(), 0);
    // Nothing started: everything goes.
    q.push(Entry::ws(OpCode::Text, payload.clone()));
    assert_eq!(q.drop_unsent(), 102);
    assert!(q.is_empty());
}

#[test]
fn a_run_is_one_entry_that_writes_one_frame_per_payload_and_resumes_anywhere() {
    let run: Arc<[Bytes]> = vec![
        Bytes::from(vec![b'a'; 10]),
        Bytes::from(vec![b'b'; 200]),
        Bytes::from(vec![b'c'; 70_000]),
        Bytes::new(),
    ]
    .into();
    let prefix = Bytes::from_static(br#"{"id":"7","payload":"#);
    let mut want_msgs = Vec::new();
    for p in run.iter() {
        want_msgs.push([&prefix[..], &p[..], b"}"].concat());
    }
    let want_input: Vec<(OpCode, &[u8])> =
        want_msgs.iter().map(|m| (OpCode::Text, &m[..])).collect();
    let want = expected(&want_input);
    for limit in [1, 5, 33, 4096, 1 << 20] {
        let mut q = OutQueue::default();
        q.push(Entry::run(OpCode::Text, prefix.clone(), run.clone(), b"}"));
        q.push(Entry::ws(OpCode::Text, Bytes::from_static(b"after")));
        assert_eq!(q.entries(), 2, "one entry for the whole run");
        let total = q.bytes();
        assert_eq!(total, want.len() + 2 + 5);
        let mut w = Trickle {
            out: Vec::new(),
            limit,
            calls: 1_000_000,
        };
        assert_eq!(
            q.flush(&mut w, &mut Scratch::default()).unwrap(),
            Flushed::All(total),
            "limit {limit}"
        );
        assert_eq!(&w.out[..want.len()], &want[..], "limit {limit}");
        assert_eq!(
            &w.out[want.len()..],
            &expected(&[(OpCode::Text, b"after")])[..]
        );
    }
}

/// A direct write sends several subscribers' frames in one `writev` from borrowed parts;
/// what a full socket refuses is queued from the byte where it stopped, and the stream
/// comes out whole after a flush, wherever the cut fell.
#[test]
fn a_direct_write_sends_what_fits_and_the_queue_carries_on_from_the_cut() {
    let payloads = [Bytes::from(vec![b'p'; 150]), Bytes::from_static(b"{}")];
    let prefixes: Vec<Bytes> = (0..3)
        .map(|i| Bytes::from(format!(r#"{{"id":"{}","payload":"#, "i".repeat(i * 70))))
        .collect();
    let mut msgs = Vec::new();
    for prefix in &prefixes {
        for p in &payloads {
            msgs.push([&prefix[..], &p[..], b"}"].concat());
        }
    }
    let want = expected(
        &msgs
            .iter()
            .map(|m| (OpCode::Text, &m[..]))
            .collect::<Vec<_>>(),
    );
    let views: Vec<EntryRef<'_>> = prefixes
        .iter()
        .map(|prefix| EntryRef {
            opcode: Some(OpCode::Text),
            prefix,
            payloads: &payloads,
            tail: b"}",
        })
        .collect();
    for (limit, calls) in [
        (usize::MAX / 2, 1),
        (1, 1),
        (7, 3),
        (200, 2),
        (400, 1),
        (0, 0),
    ] {
        let mut w = Trickle {
            out: Vec::new(),
            limit,
            calls,
        };
        let sent = write_direct(&mut w, &views, &mut Scratch::default()).unwrap();
        assert_eq!(sent, w.out.len());
        assert_eq!(calls == 1 && limit > want.len(), sent == want.len());
        // Queue the rest as the reactor does: whole entries after the one that was cut.
        let mut q = OutQueue::default();
        let mut skip = sent;
        for (prefix, view) in prefixes.iter().zip(&views) {
            if skip >= view.wire_len() {
                skip -= view.wire_len();
                continue;
            }
            let frame = Entry::run(OpCode::Text, prefix.clone(), payloads.to_vec().into(), b"}");
            assert_eq!(frame.wire_len(), view.wire_len());
            if skip > 0 {
                q.push_rest(frame, std::mem::take(&mut skip));
            } else {
                q.push(frame);
            }
        }
        assert_eq!(q.bytes(), want.len() - sent, "limit {limit}");
        w.limit = 1000;
        w.calls = 1000;
        q.flush(&mut w, &mut Scratch::default()).unwrap();
        assert_eq!(w.out, want, "limit {limit}, {calls} calls");
    }
    let many = vec![views[0]; DIRECT_MESSAGES / 2 + 1];
    let mut w = Trickle {
        out: Vec::new(),
        limit: usize::MAX / 2,
        calls: 1,
    };
    assert_eq!(
        write_direct(&mut w, &many, &mut Scratch::default()).unwrap(),
        0
    );
    assert!(
        w.out.is_empty(),
        "more than DIRECT_MESSAGES: nothing is written"
    );
}

/// `maxBufferedBytes` caps the backlog behind the message being written, not that message:
/// whatever is left of the front message (started or not, alone or the first of a run) is
/// not counted; everything behind it is.
#[test]
fn the_backlog_is_what_waits_behind_the_message_being_written() {
    let big = Bytes::from(vec![b'x'; 10_000]);
    let small = Bytes::from_static(b"small");
    let big_wire = 4 + 10_000;
    let small_wire = 2 + 5;
    let mut q = OutQueue::default();
    assert_eq!((q.backlog(), q.over(0)), (0, false));
    q.push(Entry::ws(OpCode::Text, big.clone()));
    assert_eq!((q.bytes(), q.backlog()), (big_wire, 0));
    assert!(
        !q.over(100),
        "one message bigger than the cap is not a backlog"
    );
    q.push(Entry::ws(OpCode::Text, small.clone()));
    assert_eq!(q.backlog(), small_wire);
    assert!(!q.over(small_wire) && q.over(small_wire - 1));
    // Half of the big one written: still the head.
    let mut w = Trickle {
        out: Vec::new(),
        limit: 5_000,
        calls: 1,
    };
    assert_eq!(
        q.flush(&mut w, &mut Scratch::default()).unwrap(),
        Flushed::Blocked(5_000)
    );
    assert_eq!(
        (q.bytes(), q.backlog()),
        (big_wire - 5_000 + small_wire, small_wire)
    );
    // The big one done, the small one started: nothing waits behind it.
    w.calls = 1;
    w.limit = big_wire - 5_000 + 1;
    q.flush(&mut w, &mut Scratch::default()).unwrap();
    assert_eq!((q.bytes(), q.backlog()), (small_wire - 1, 0));

    // A run: its first message not yet fully written is the head, the others wait.
    let run: Arc<[Bytes]> = vec![big.clone(), small.clone(), big.clone()].into();
    let mut q = OutQueue::default();
    q.push(Entry::run(OpCode::Text, Bytes::new(), run, b""));
    assert_eq!(q.backlog(), small_wire + big_wire);
    let mut w = Trickle {
        out: Vec::new(),
        limit: big_wire + 3,
        calls: 1,
    };
    q.flush(&mut w, &mut Scratch::default()).unwrap();
    assert_eq!(
        q.backlog(),
        big_wire,
        "second message started: the third waits"
    );
    // The rest of a frame a direct write started is the head too.
    let mut q = OutQueue::default();
    q.push_rest(Entry::ws(OpCode::Binary, big.clone()), 1);
    q.push(Entry::ws(OpCode::Binary, small));
    assert_eq!(
        (q.bytes(), q.backlog()),
        (big_wire - 1 + small_wire, small_wire)
    );
}

/// A slow consumer cut while a run (a burst) is part written: only the message being
/// written stays, so the close frame queued next is not a backlog and the stream stays
/// whole (the cut used to keep the whole run, and the close frame then looked like a second
/// overflow: the connection was dropped without it).
#[test]
fn dropping_cuts_a_started_run_after_the_message_being_written() {
    let big = Bytes::from(vec![b'x'; 10_000]);
    let small = Bytes::from_static(b"small");
    let (big_wire, small_wire) = (4 + 10_000, 2 + 5);
    let run: Arc<[Bytes]> = vec![big.clone(), big.clone(), big.clone(), small].into();
    let mut q = OutQueue::default();
    q.push(Entry::run(OpCode::Text, Bytes::new(), run, b""));
    let mut w = Trickle {
        out: Vec::new(),
        limit: big_wire + 3,
        calls: 1,
    };
    q.flush(&mut w, &mut Scratch::default()).unwrap();
    assert_eq!(q.drop_unsent(), big_wire + small_wire);
    assert_eq!((q.bytes(), q.backlog(), q.entries()), (big_wire - 3, 0, 1));
    q.push(Entry::ws(OpCode::Close, Bytes::from_static(&[3, 0xf0])));
    assert!(!q.over(16), "the close frame behind it is no backlog");
    w.calls = 10;
    w.limit = 1 << 20;
    assert_eq!(
        q.flush(&mut w, &mut Scratch::default()).unwrap(),
        Flushed::All(big_wire - 3 + 4)
    );
    let want = expected(&[
        (OpCode::Text, &big[..]),
        (OpCode::Text, &big[..]),
        (OpCode::Close, &[3, 0xf0]),
    ]);
    assert_eq!(w.out, want);
    // Nothing started: everything goes; a single frame stays whole.
    let mut q = OutQueue::default();
    q.push(Entry::ws(OpCode::Text, big.clone()));
    assert_eq!(q.drop_unsent(), big_wire);
    assert!(q.is_empty());
}
