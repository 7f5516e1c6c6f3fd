//! Whole messages: every length form, zero-copy delivery, fragments with controls between
//! them, empty frames.

use crate::support::*;

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
