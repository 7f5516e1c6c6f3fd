//! Bytes as they arrive: every split of a stream yields the same messages, and invalid
//! UTF-8 fails at the read that proves it, even inside a frame still arriving.

use crate::support::*;

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
