//! Fuzzes the client frame reader (`subwire::ws::message::Reader`) the way a reactor drives it:
//! arbitrary bytes arrive in chunks (sizes drawn from the input), the unconsumed tail is kept
//! and the next chunk appended. Checks the `Progress` invariants, that a re-feed of the tail
//! without new bytes changes nothing, and that the chunked run yields exactly the messages and
//! outcome of one feed of the whole input.
//!
//! Input: byte 0 picks `max_payload` (0..=510, so the 1009 path is hot), byte 1 seeds the chunk
//! sizes, the rest is the client byte stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use subwire::ws::frame::{MAX_CLIENT_HEADER, MAX_CONTROL_PAYLOAD};
use subwire::ws::message::{Message, Progress, Reader};
use subwire::ws::CloseCode;

#[derive(Debug, PartialEq)]
enum Owned {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<CloseCode>, String),
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Failed(CloseCode),
    Stopped,
    /// Bytes left over (an incomplete frame) and the reported need.
    Pending(usize, usize),
}

/// Records a message (stopping at Close, like a reactor) and checks what the type cannot.
fn record(out: &mut Vec<Owned>, max_payload: usize, m: Message<'_>) -> bool {
    match m {
        Message::Text(s) => {
            assert!(s.len() <= max_payload);
            out.push(Owned::Text(s.to_owned()));
        }
        Message::Binary(b) => {
            assert!(b.len() <= max_payload);
            out.push(Owned::Binary(b.to_vec()));
        }
        Message::Ping(b) => {
            assert!(b.len() <= MAX_CONTROL_PAYLOAD);
            out.push(Owned::Ping(b.to_vec()));
        }
        Message::Pong(b) => {
            assert!(b.len() <= MAX_CONTROL_PAYLOAD);
            out.push(Owned::Pong(b.to_vec()));
        }
        Message::Close(code, reason) => {
            assert!(reason.len() + 2 <= MAX_CONTROL_PAYLOAD);
            assert!(code.map_or(reason.is_empty(), CloseCode::may_send));
            out.push(Owned::Close(code, reason.to_owned()));
            return false;
        }
    }
    true
}

/// Checks one `Ok(progress)` on a buffer of `len` bytes; true if the callback stopped it.
fn check_progress(p: Progress, len: usize, stopped: bool) {
    assert!(p.consumed <= len, "consumed {} of {len}", p.consumed);
    if stopped {
        return;
    }
    let available = len - p.consumed;
    if p.need > 0 {
        assert!(
            p.need > available,
            "need {} but {available} available",
            p.need
        );
    } else {
        assert!(
            available < MAX_CLIENT_HEADER,
            "no need reported with {available} bytes"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let [sel, seed, stream @ ..] = data else {
        return;
    };
    let max_payload = usize::from(*sel) * 2;

    // Reference: the whole stream in one feed.
    let mut whole = stream.to_vec();
    let mut expected = Vec::new();
    let mut stopped = false;
    let expected_outcome = match Reader::new().feed(&mut whole, max_payload, &mut |m| {
        stopped = !record(&mut expected, max_payload, m);
        !stopped
    }) {
        Err(e) => {
            let code = e.close_code();
            assert!(matches!(code.get(), 1002 | 1007 | 1009), "close code {code}");
            Outcome::Failed(code)
        }
        Ok(p) => {
            check_progress(p, whole.len(), stopped);
            if stopped {
                Outcome::Stopped
            } else {
                Outcome::Pending(whole.len() - p.consumed, p.need)
            }
        }
    };

    // Reactor-style: chunks of 0..=31 bytes, the unconsumed tail kept between reads.
    let mut reader = Reader::default();
    let mut got = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut rng = u32::from(*seed) | 0x100;
    let mut at = 0;
    let outcome = loop {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        let n = (rng as usize % 32).min(stream.len() - at);
        pending.extend_from_slice(&stream[at..at + n]);
        at += n;
        let mut stopped = false;
        match reader.feed(&mut pending, max_payload, &mut |m| {
            stopped = !record(&mut got, max_payload, m);
            !stopped
        }) {
            Err(e) => break Outcome::Failed(e.close_code()),
            Ok(p) => {
                check_progress(p, pending.len(), stopped);
                if stopped {
                    break Outcome::Stopped;
                }
                pending.drain(..p.consumed);
                // The tail is one incomplete frame: feeding it again without new bytes must
                // neither deliver nor consume anything.
                let again = reader.feed(&mut pending, max_payload, &mut |m| {
                    panic!("re-feed delivered {m:?}")
                });
                assert_eq!(
                    again,
                    Ok(Progress {
                        consumed: 0,
                        need: p.need
                    })
                );
                if at == stream.len() {
                    break Outcome::Pending(pending.len(), p.need);
                }
            }
        }
    };
    assert_eq!(got, expected);
    assert_eq!(outcome, expected_outcome);
});
