//! The RFC 6455 read path from the outside: client frames built here (masked with a chosen key)
//! go through `message::Reader` as a reactor would feed them. Byte-level checks of `frame`
//! (encode_header, close_payload, unmask at every alignment) are its unit tests.

use subwire::ws::frame::close_payload;
use subwire::ws::message::{Message, Progress, Reader};
use subwire::ws::CloseCode as close;
use subwire::ws::ProtocolError;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const MAX: usize = 1 << 20;

/// A client frame: first byte as given (FIN/RSV/opcode), masked with `key` unless `None`.
fn raw(b0: u8, payload: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![b0];
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match key {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

fn frame(fin: bool, op: u8, payload: &[u8]) -> Vec<u8> {
    raw(u8::from(fin) << 7 | op, payload, Some(KEY))
}

fn text(s: &str) -> Vec<u8> {
    frame(true, 1, s.as_bytes())
}

fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    frame(true, 8, &p)
}

fn cat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

#[derive(Debug, Clone, PartialEq)]
enum Owned {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
}

fn own(m: Message<'_>) -> Owned {
    match m {
        Message::Text(s) => Owned::Text(s.to_owned()),
        Message::Binary(b) => Owned::Binary(b.to_vec()),
        Message::Ping(b) => Owned::Ping(b.to_vec()),
        Message::Pong(b) => Owned::Pong(b.to_vec()),
        Message::Close(c, r) => Owned::Close(c.map(u16::from), r.to_owned()),
    }
}

/// One feed of `bytes` with a fresh reader; every message is accepted. A failure is told by
/// the close code it brings.
fn feed_all(bytes: &[u8], max: usize) -> (Vec<Owned>, Result<Progress, close>) {
    feed_with(&mut Reader::default(), bytes, max)
}

fn feed_with(r: &mut Reader, bytes: &[u8], max: usize) -> (Vec<Owned>, Result<Progress, close>) {
    let mut buf = bytes.to_vec();
    let mut got = Vec::new();
    let res = r.feed(&mut buf, max, &mut |m| {
        got.push(own(m));
        true
    });
    (got, res.map_err(ProtocolError::close_code))
}

/// Feeds `bytes`; asserts it fails with `code` (the whole input is available).
fn fails(bytes: &[u8], code: close) -> Vec<Owned> {
    let (got, res) = feed_all(bytes, MAX);
    assert_eq!(res, Err(code), "messages before failing: {got:?}");
    got
}

fn done(n: usize) -> Result<Progress, close> {
    Ok(Progress {
        consumed: n,
        need: 0,
    })
}

#[test]
fn reader_is_sixteen_bytes() {
    // The assembly box, and for a text frame still arriving how far it was checked plus the
    // UTF-8 state (a code point split between reads): what failing fast on UTF-8 costs.
    let size = std::mem::size_of::<Reader>();
    println!("size_of::<Reader>() = {size}");
    assert_eq!(size, 16);
}

#[test]
fn all_three_length_forms_text_and_binary() {
    for len in [0, 1, 125, 126, 127, 65535, 65536, 70000] {
        let s: String = (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let t = text(&s);
        let header = match len {
            0..=125 => 6,
            126..=65535 => 8,
            _ => 14,
        };
        assert_eq!(t.len(), header + len);
        assert_eq!(
            feed_all(&t, MAX),
            (vec![Owned::Text(s.clone())], done(t.len()))
        );

        let bin: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let b = frame(true, 2, &bin);
        assert_eq!(feed_all(&b, MAX), (vec![Owned::Binary(bin)], done(b.len())));

        // With the header (and part of the payload) present, `need` is the whole frame.
        for have in [header, header + len / 2] {
            if have < t.len() {
                let want = Ok(Progress {
                    consumed: 0,
                    need: t.len(),
                });
                assert_eq!(feed_all(&t[..have], MAX), (vec![], want), "len {len}");
            }
        }
        // With the header incomplete, `need` is unknown.
        assert_eq!(feed_all(&t[..header - 1], MAX), (vec![], done(0)));
    }
}

#[test]
fn unfragmented_frames_are_delivered_from_the_callers_buffer() {
    let mut buf = cat(&[text("zero copy"), frame(true, 2, b"bin")]);
    let range = buf.as_ptr_range();
    let mut seen = 0;
    let res = Reader::default().feed(&mut buf, MAX, &mut |m| {
        let p = match m {
            Message::Text(s) => s.as_ptr(),
            Message::Binary(b) => b.as_ptr(),
            other => panic!("{other:?}"),
        };
        assert!(range.contains(&p));
        seen += 1;
        true
    });
    let res = res.map_err(ProtocolError::close_code);
    assert_eq!((res, seen), (done(buf.len()), 2));
    // Unmasked in place.
    assert_eq!(&buf[6..15], b"zero copy");
}

#[test]
fn fragmented_text_with_a_code_point_split_across_fragments() {
    let s = "héllo €𝄞 wörld";
    let bytes = s.as_bytes();
    for i in 0..=bytes.len() {
        for j in i..=bytes.len() {
            let stream = cat(&[
                frame(false, 1, &bytes[..i]),
                frame(false, 0, &bytes[i..j]),
                frame(true, 0, &bytes[j..]),
            ]);
            let (got, res) = feed_all(&stream, MAX);
            assert_eq!(got, vec![Owned::Text(s.into())], "split {i},{j}");
            assert_eq!(res, done(stream.len()));
        }
    }
}

#[test]
fn control_frames_between_fragments_are_delivered_at_once() {
    let mut r = Reader::default();
    let first = frame(false, 2, b"ab");
    assert_eq!(feed_with(&mut r, &first, MAX), (vec![], done(first.len())));
    assert!(r.in_fragment());
    let mid = cat(&[
        frame(true, 9, b"p1"),
        frame(false, 0, b"cd"),
        frame(true, 10, b""),
    ]);
    let want = vec![Owned::Ping(b"p1".to_vec()), Owned::Pong(vec![])];
    assert_eq!(feed_with(&mut r, &mid, MAX), (want, done(mid.len())));
    assert!(r.in_fragment());
    let end = cat(&[frame(true, 0, b"ef"), text("next")]);
    let want = vec![
        Owned::Binary(b"abcdef".to_vec()),
        Owned::Text("next".into()),
    ];
    assert_eq!(feed_with(&mut r, &end, MAX), (want, done(end.len())));
    assert!(!r.in_fragment());

    // A close between fragments is delivered too (the message is then abandoned by the caller).
    let stream = cat(&[frame(false, 1, b"x"), close_frame(1000, b"")]);
    let (got, _) = feed_all(&stream, MAX);
    assert_eq!(got, vec![Owned::Close(Some(1000), String::new())]);
}

#[test]
fn zero_length_frames_of_every_kind() {
    let stream = cat(&[
        frame(true, 1, b""),
        frame(true, 2, b""),
        frame(true, 9, b""),
        frame(true, 10, b""),
        frame(false, 1, b""),
        frame(false, 0, b""),
        frame(true, 0, b""),
        frame(false, 2, b""),
        frame(true, 0, b""),
        frame(true, 8, b""),
    ]);
    let want = vec![
        Owned::Text(String::new()),
        Owned::Binary(vec![]),
        Owned::Ping(vec![]),
        Owned::Pong(vec![]),
        Owned::Text(String::new()),
        Owned::Binary(vec![]),
        Owned::Close(None, String::new()),
    ];
    assert_eq!(feed_all(&stream, MAX), (want, done(stream.len())));
    assert_eq!(feed_all(&[], MAX), (vec![], done(0)));
}

/// One test per rule: the bytes, fed whole, fail the connection with exactly this close code
/// and deliver nothing.
macro_rules! rule {
    ($($name:ident: $bytes:expr => $code:expr;)*) => {$(
        #[test]
        fn $name() {
            assert_eq!(feed_all(&$bytes, MAX), (vec![], Err($code)));
        }
    )*};
}

fn len64(b0: u8, len: u64, key: bool) -> Vec<u8> {
    let mut h = vec![b0, 0xff];
    h.extend_from_slice(&len.to_be_bytes());
    if key {
        h.extend_from_slice(&KEY);
    }
    h
}

rule! {
    unmasked_text_is_1002: raw(0x81, b"hi", None) => close::PROTOCOL_ERROR;
    unmasked_ping_is_1002: raw(0x89, b"", None) => close::PROTOCOL_ERROR;
    rsv1_is_1002: raw(0xc1, b"hi", Some(KEY)) => close::PROTOCOL_ERROR;
    rsv2_is_1002: raw(0xa1, b"hi", Some(KEY)) => close::PROTOCOL_ERROR;
    rsv3_is_1002: raw(0x91, b"hi", Some(KEY)) => close::PROTOCOL_ERROR;
    ping_over_125_is_1002: frame(true, 9, &[b'a'; 126]) => close::PROTOCOL_ERROR;
    pong_over_125_is_1002: frame(true, 10, &[b'a'; 126]) => close::PROTOCOL_ERROR;
    close_over_125_is_1002: close_frame(1000, &[b'a'; 124]) => close::PROTOCOL_ERROR;
    fragmented_ping_is_1002: frame(false, 9, b"") => close::PROTOCOL_ERROR;
    fragmented_pong_is_1002: frame(false, 10, b"") => close::PROTOCOL_ERROR;
    fragmented_close_is_1002: frame(false, 8, b"") => close::PROTOCOL_ERROR;
    continuation_without_message_is_1002: frame(true, 0, b"x") => close::PROTOCOL_ERROR;
    unfinished_continuation_without_message_is_1002: frame(false, 0, b"") => close::PROTOCOL_ERROR;
    text_during_fragmented_message_is_1002:
        cat(&[frame(false, 1, b"a"), frame(true, 1, b"b")]) => close::PROTOCOL_ERROR;
    binary_during_fragmented_message_is_1002:
        cat(&[frame(false, 1, b"a"), frame(false, 2, b"b")]) => close::PROTOCOL_ERROR;
    length_top_bit_is_1002_before_the_mask_key: len64(0x82, 1 << 63, false) => close::PROTOCOL_ERROR;
    length_top_bit_is_1002: len64(0x82, u64::MAX, true) => close::PROTOCOL_ERROR;
    over_max_payload_is_1009_from_the_header_alone: len64(0x82, 1 << 62, true) => close::TOO_BIG;
    invalid_utf8_text_is_1007: frame(true, 1, b"ab\xffcd") => close::INVALID_DATA;
    truncated_utf8_text_is_1007: frame(true, 1, b"ok\xe2\x82") => close::INVALID_DATA;
    surrogate_text_is_1007: frame(true, 1, b"\xed\xa0\x80") => close::INVALID_DATA;
    overlong_text_is_1007: frame(true, 1, b"\xc0\xaf") => close::INVALID_DATA;
    incomplete_utf8_at_final_fragment_is_1007:
        cat(&[frame(false, 1, b"\xf0\x9d"), frame(true, 0, b"\x84")]) => close::INVALID_DATA;
    close_payload_of_one_byte_is_1002: frame(true, 8, &[0x03]) => close::PROTOCOL_ERROR;
    close_reason_not_utf8_is_1007: close_frame(1000, b"bad \xff") => close::INVALID_DATA;
    close_reason_truncated_utf8_is_1007: close_frame(1000, b"\xe2\x82") => close::INVALID_DATA;
}

#[test]
fn reserved_opcodes_are_1002_from_two_bytes() {
    for op in (3..=7).chain(11..=15) {
        for fin in [true, false] {
            let f = frame(fin, op, b"");
            assert_eq!(
                feed_all(&f[..2], MAX),
                (vec![], Err(close::PROTOCOL_ERROR)),
                "opcode {op}"
            );
        }
    }
}

#[test]
fn invalid_peer_close_codes_are_1002() {
    for code in [
        0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2999, 5000, 65535,
    ] {
        assert_eq!(
            feed_all(&close_frame(code, b""), MAX),
            (vec![], Err(close::PROTOCOL_ERROR)),
            "{code}"
        );
    }
}

#[test]
fn control_frames_at_125_bytes_are_fine() {
    let (got, _) = feed_all(&close_frame(1000, &[b'r'; 123]), MAX);
    assert_eq!(got, vec![Owned::Close(Some(1000), "r".repeat(123))]);
    let (got, _) = feed_all(&frame(true, 9, &[b'p'; 125]), MAX);
    assert_eq!(got, vec![Owned::Ping(vec![b'p'; 125])]);
}

#[test]
fn messages_before_a_bad_frame_are_delivered() {
    let got = fails(
        &cat(&[text("a"), frame(true, 0, b"x")]),
        close::PROTOCOL_ERROR,
    );
    assert_eq!(got, vec![Owned::Text("a".into())]);
}

#[test]
fn max_payload_limits() {
    // With no limit a 2^62 claim is just an incomplete frame: `need` says so, nothing reserved.
    let need = (1usize << 62) + 14;
    let h = len64(0x82, 1 << 62, true);
    assert_eq!(
        feed_all(&h, usize::MAX).1,
        Ok(Progress { consumed: 0, need })
    );
    // Single frame: exactly max is fine, max + 1 is not, from the header alone.
    let t = text(&"a".repeat(200));
    assert_eq!(feed_all(&t, 200).0, vec![Owned::Text("a".repeat(200))]);
    assert_eq!(feed_all(&t[..8], 199), (vec![], Err(close::TOO_BIG)));
    // Fragments: the sum counts, and the limit trips at the continuation's header.
    let stream = cat(&[frame(false, 2, &[0; 100]), frame(false, 0, &[0; 100])]);
    let mut r = Reader::default();
    assert_eq!(feed_with(&mut r, &stream, 200).1, done(stream.len()));
    let more = frame(true, 0, &[0; 1]);
    assert_eq!(feed_with(&mut r, &more[..6], 200).1, Err(close::TOO_BIG));
    // Control frames do not count against max_payload.
    let got = feed_all(&frame(true, 9, b"ping"), 0).0;
    assert_eq!(got, vec![Owned::Ping(b"ping".to_vec())]);
    // Binary is not UTF-8 checked.
    let got = feed_all(&frame(true, 2, b"\xff"), MAX).0;
    assert_eq!(got, vec![Owned::Binary(vec![0xff])]);
}

#[test]
fn invalid_utf8_fails_at_the_fragment_that_shows_it() {
    // Invalid byte in the first of three fragments: fails at the first feed.
    let mut r = Reader::default();
    let first = frame(false, 1, b"ok\xff");
    assert_eq!(feed_with(&mut r, &first, MAX).1, Err(close::INVALID_DATA));
    // Invalid only once the second fragment arrives: E2 82 then 'A'.
    let mut r = Reader::default();
    let first = frame(false, 1, b"ok\xe2\x82");
    assert_eq!(feed_with(&mut r, &first, MAX), (vec![], done(first.len())));
    let second = frame(false, 0, b"A");
    assert_eq!(feed_with(&mut r, &second, MAX).1, Err(close::INVALID_DATA));
}

#[test]
fn close_codes_and_reasons() {
    let cases = [
        (frame(true, 8, b""), None, ""),
        (close_frame(1000, b""), Some(1000), ""),
        (close_frame(4000, "bye ✓".as_bytes()), Some(4000), "bye ✓"),
        (close_frame(1001, b"going"), Some(1001), "going"),
    ];
    for (bytes, code, reason) in cases {
        let want = vec![Owned::Close(code, reason.into())];
        assert_eq!(feed_all(&bytes, MAX), (want, done(bytes.len())));
    }
    let valid = (1000..=1003)
        .chain(1007..=1014)
        .chain([3000, 3999, 4000, 4999]);
    for code in valid {
        assert!(feed_all(&close_frame(code, b"x"), MAX).1.is_ok(), "{code}");
    }
}

#[test]
fn callback_returning_false_stops_after_that_frame() {
    let a = close_frame(1000, b"");
    let stream = cat(&[text("one"), a.clone(), text("after")]);
    let mut buf = stream.clone();
    let mut got = Vec::new();
    let res = Reader::default().feed(&mut buf, MAX, &mut |m| {
        let is_close = matches!(m, Message::Close(..));
        got.push(own(m));
        !is_close
    });
    let res = res.map_err(ProtocolError::close_code);
    assert_eq!(res, done(text("one").len() + a.len()));
    assert_eq!(got.len(), 2);
}

/// A stream exercising every path: lengths, fragments, controls between fragments, UTF-8 split.
fn mixed_stream() -> (Vec<u8>, Vec<Owned>) {
    let euro = "€".as_bytes();
    let stream = cat(&[
        text("hello"),
        frame(true, 2, &[7; 300]),
        frame(false, 1, &[b'a', euro[0]]),
        frame(true, 9, b"ping"),
        frame(false, 0, &euro[1..2]),
        frame(false, 0, b""),
        frame(true, 10, b"pong"),
        frame(true, 0, &[euro[2], b'z']),
        frame(false, 2, b"12"),
        frame(true, 0, b"34"),
        text(""),
        close_frame(1000, "done ✓".as_bytes()),
    ]);
    let want = vec![
        Owned::Text("hello".into()),
        Owned::Binary(vec![7; 300]),
        Owned::Ping(b"ping".to_vec()),
        Owned::Pong(b"pong".to_vec()),
        Owned::Text("a€z".into()),
        Owned::Binary(b"1234".to_vec()),
        Owned::Text(String::new()),
        Owned::Close(Some(1000), "done ✓".into()),
    ];
    (stream, want)
}

#[test]
fn every_split_of_a_stream_yields_the_same_messages() {
    let (stream, want) = mixed_stream();
    assert_eq!(feed_all(&stream, MAX), (want.clone(), done(stream.len())));
    for k in 0..=stream.len() {
        let mut r = Reader::default();
        let mut got = Vec::new();
        let mut on = |m: Message<'_>| {
            got.push(own(m));
            true
        };
        let mut buf = stream[..k].to_vec();
        let p = r.feed(&mut buf, MAX, &mut on).unwrap();
        assert!(p.need == 0 || p.need > k - p.consumed, "k {k}: {p:?}");
        let mut rest = buf[p.consumed..].to_vec();
        rest.extend_from_slice(&stream[k..]);
        let p2 = r.feed(&mut rest, MAX, &mut on).unwrap();
        assert_eq!(Ok(p2), done(rest.len()), "k {k}");
        assert_eq!(got, want, "k {k}");
        assert!(!r.in_fragment());
    }
}

#[test]
fn byte_at_a_time_yields_the_same_messages() {
    let (stream, want) = mixed_stream();
    let mut r = Reader::default();
    let mut got = Vec::new();
    let mut pending = Vec::new();
    for &b in &stream {
        pending.push(b);
        let p = r
            .feed(&mut pending, MAX, &mut |m| {
                got.push(own(m));
                true
            })
            .unwrap();
        pending.drain(..p.consumed);
    }
    assert!(pending.is_empty());
    assert_eq!(got, want);
}

/// Feeds `stream` the way a reactor does: `step` new bytes at a time, each time after the bytes
/// the reader left unconsumed (as it left them: partly unmasked in place). Returns the
/// messages, and the error with how many bytes of the stream had arrived when it came.
fn trickle(stream: &[u8], step: usize) -> (Vec<Owned>, Result<(), (close, usize)>) {
    let mut r = Reader::default();
    let mut got = Vec::new();
    let mut kept: Vec<u8> = Vec::new();
    let mut arrived = 0;
    while arrived < stream.len() {
        let next = (arrived + step).min(stream.len());
        kept.extend_from_slice(&stream[arrived..next]);
        arrived = next;
        let res = r.feed(&mut kept, MAX, &mut |m| {
            got.push(own(m));
            true
        });
        match res {
            Ok(p) => drop(kept.drain(..p.consumed)),
            Err(e) => return (got, Err((e.close_code(), arrived))),
        }
    }
    assert!(kept.is_empty(), "{} bytes left over", kept.len());
    (got, Ok(()))
}

/// Bytes of `payload` after which it is certainly not UTF-8, whatever follows (std's verdict
/// on each prefix); `None` if every prefix could still become valid.
fn certain_at(payload: &[u8]) -> Option<usize> {
    (1..=payload.len())
        .find(|&n| std::str::from_utf8(&payload[..n]).is_err_and(|e| e.error_len().is_some()))
}

#[test]
fn invalid_utf8_inside_a_frame_fails_as_soon_as_it_arrives() {
    let long_ok = "λ€𝄞z".repeat(40); // > 125 bytes: the 16-bit length form
    let payloads: Vec<Vec<u8>> = vec![
        // Autobahn 6.4.3/6.4.4: F4 90 is above U+10FFFF.
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited".to_vec(),
        b"ab\xffcd".to_vec(),
        b"\xed\xa0\x80 surrogate".to_vec(),
        b"\xe2\x82A".to_vec(),
        [long_ok.as_bytes(), b"\xc0\xaf", long_ok.as_bytes()].concat(),
    ];
    for payload in &payloads {
        let bad = certain_at(payload).expect("invalid");
        for fin in [true, false] {
            let f = frame(fin, 1, payload);
            let header = f.len() - payload.len();
            for step in [1, 2, 3, 7] {
                let (got, res) = trickle(&f, step);
                assert!(got.is_empty());
                let (code, arrived) = res.expect_err("must fail");
                assert_eq!(code, close::INVALID_DATA);
                // Failed with the read that brought the byte proving it, not later.
                let proof = header + bad;
                assert!(
                    arrived >= proof && arrived < proof + step,
                    "{payload:x?} fin {fin} step {step}: failed at {arrived}, proof at {proof}"
                );
            }
        }
        // The same in a continuation frame of a fragmented text message.
        let first = frame(false, 1, "ok €".as_bytes());
        let stream = cat(&[first.clone(), frame(true, 0, payload)]);
        let header = stream.len() - first.len() - payload.len();
        let (got, res) = trickle(&stream, 1);
        assert!(got.is_empty());
        assert_eq!(
            res,
            Err((close::INVALID_DATA, first.len() + header + bad)),
            "{payload:x?}"
        );
    }
}

#[test]
fn a_code_point_split_between_reads_and_fragments_is_valid() {
    let long = "a€𝄞λ".repeat(30);
    let euro = "€".as_bytes();
    let stream = cat(&[
        text(&long),
        frame(false, 1, &[long.as_bytes(), &euro[..1]].concat()),
        frame(true, 9, b"in between"),
        frame(false, 0, &euro[1..2]),
        frame(true, 0, &[&euro[2..], long.as_bytes()].concat()),
        frame(true, 2, &[0xff; 200]),
        text("z"),
    ]);
    let want = vec![
        Owned::Text(long.clone()),
        Owned::Ping(b"in between".to_vec()),
        Owned::Text(format!("{long}€{long}")),
        Owned::Binary(vec![0xff; 200]),
        Owned::Text("z".into()),
    ];
    for step in 1..=17 {
        assert_eq!(
            trickle(&stream, step),
            (want.clone(), Ok(())),
            "step {step}"
        );
    }
    // Every two-way split.
    for k in 0..=stream.len() {
        let mut r = Reader::default();
        let mut got = Vec::new();
        let mut on = |m: Message<'_>| {
            got.push(own(m));
            true
        };
        let mut buf = stream[..k].to_vec();
        let p = r.feed(&mut buf, MAX, &mut on).unwrap();
        let mut rest = buf[p.consumed..].to_vec();
        rest.extend_from_slice(&stream[k..]);
        let res = r.feed(&mut rest, MAX, &mut on);
        assert_eq!(
            res.map_err(ProtocolError::close_code),
            done(rest.len()),
            "k {k}"
        );
        assert_eq!(got, want, "k {k}");
    }
}

#[test]
fn close_payloads_we_send_are_accepted_by_the_reader() {
    let mut out = [0u8; 125];
    let long = format!("a{}", "€".repeat(50));
    for reason in ["", "x", &"é".repeat(100), &long] {
        let n = close_payload(&mut out, close::NORMAL, reason);
        let (got, res) = feed_all(&frame(true, 8, &out[..n]), MAX);
        assert_eq!(res, done(6 + n));
        assert!(
            matches!(&got[..], [Owned::Close(Some(1000), r)] if reason.starts_with(r.as_str()))
        );
    }
}
