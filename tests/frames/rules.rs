//! RFC 6455's rules, one failure at a time, each with the close code it brings; limits,
//! close codes and reasons, and a callback that stops the reader.

use crate::support::*;

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
