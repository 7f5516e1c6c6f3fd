//! Incremental UTF-8 validation of a text message that arrives in pieces.
//!
//! Owns nothing but the (at most 3) bytes of a code point split across two pieces: 4 bytes in
//! all. Called by [`crate::ws::message::Reader`] for each piece of a text message as it arrives —
//! the fragments of a fragmented message, and the bytes of a frame whose end has not arrived
//! yet — so an invalid message fails with 1007 at the first byte that makes it certainly
//! invalid, not at the end of its frame or message. The byte work is `std::str::from_utf8`;
//! `Utf8Error::{valid_up_to, error_len}` tell an invalid sequence (reject now) from an
//! incomplete tail (carry it into the next piece).

use std::str;

/// The input is not UTF-8 (or, at the last fragment, ends inside a code point).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Invalid;

/// Validation state carried between pieces: the incomplete code point at the end of the
/// previous piece, if any (a valid prefix is at most 3 bytes).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Validator {
    carry: [u8; 3],
    carry_len: u8,
}

impl Validator {
    /// Validates the next fragment. `last` = this is the final fragment: an incomplete code point
    /// at its end is then invalid. Once it returns `Err`, the state is meaningless.
    pub(super) fn feed(&mut self, chunk: &[u8], last: bool) -> Result<(), Invalid> {
        let mut rest = chunk;
        // Finish the code point carried over from the previous fragment, one byte at a time
        // (at most 3), so an impossible continuation is rejected as soon as it is seen.
        while self.carry_len > 0 {
            let Some((&b, tail)) = rest.split_first() else {
                return if last { Err(Invalid) } else { Ok(()) };
            };
            rest = tail;
            let n = usize::from(self.carry_len);
            let mut seq = [0u8; 4];
            seq[..3].copy_from_slice(&self.carry);
            let Some(slot) = seq.get_mut(n) else {
                return Err(Invalid); // unreachable: 4 bytes always complete or break a sequence
            };
            *slot = b;
            match str::from_utf8(seq.get(..=n).unwrap_or_default()) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_some() => return Err(Invalid),
                Err(_) => match self.carry.get_mut(n) {
                    // still a valid prefix (at most 3 bytes): need more bytes
                    Some(keep) => {
                        *keep = b;
                        self.carry_len += 1;
                    }
                    None => return Err(Invalid), // unreachable, as above
                },
            }
        }
        match str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() || last => Err(Invalid),
            Err(e) => {
                // A valid prefix of a code point (1..=3 bytes) ends the fragment: carry it.
                let tail = rest.get(e.valid_up_to()..).unwrap_or_default();
                match self.carry.get_mut(..tail.len()) {
                    Some(dst) => {
                        dst.copy_from_slice(tail);
                        self.carry_len = tail.len() as u8;
                        Ok(())
                    }
                    _ => Err(Invalid),
                }
            }
        }
    }

    /// True while a code point is split between the piece fed last and the next one.
    #[cfg(test)]
    pub(super) fn is_incomplete(&self) -> bool {
        self.carry_len > 0
    }
}

const _: () = assert!(std::mem::size_of::<Validator>() == 4);

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `parts` in order; the result of the first failing part (index) or Ok.
    fn run(parts: &[&[u8]]) -> Result<(), usize> {
        let mut v = Validator::default();
        for (i, p) in parts.iter().enumerate() {
            v.feed(p, i + 1 == parts.len()).map_err(|_| i)?;
        }
        Ok(())
    }

    #[test]
    fn every_two_and_three_way_split_of_valid_text() {
        let s = "a\u{7f}\u{80}é€\u{ffff}\u{10000}𝄞\u{10ffff}z".as_bytes();
        for i in 0..=s.len() {
            assert_eq!(run(&[&s[..i], &s[i..]]), Ok(()), "split at {i}");
            for j in i..=s.len() {
                assert_eq!(run(&[&s[..i], &s[i..j], &s[j..]]), Ok(()), "split {i},{j}");
            }
        }
    }

    #[test]
    fn split_code_point_across_many_one_byte_fragments() {
        let s = "𝄞".as_bytes();
        assert_eq!(run(&[&s[..1], &s[1..2], &s[2..3], &s[3..]]), Ok(()));
        assert_eq!(run(&[&s[..1], &[], &s[1..2], &[], &s[2..], &[]]), Ok(()));
    }

    #[test]
    fn incomplete_tail_is_invalid_only_at_the_end() {
        let s = "€".as_bytes();
        let mut v = Validator::default();
        assert_eq!(v.feed(&s[..2], false), Ok(()));
        assert!(v.is_incomplete());
        assert_eq!(v.feed(&[], true), Err(Invalid));
        assert_eq!(run(&[b"ok", &s[..1]]), Err(1));
        assert_eq!(run(&[&s[..2]]), Err(0));
    }

    #[test]
    fn rejects_as_soon_as_certainly_invalid() {
        // Invalid byte in the first fragment.
        assert_eq!(run(&[b"ab\xffc", b"ok", b"ok"]), Err(0));
        // E0 80 can never start a valid sequence (overlong), even though it is "incomplete".
        assert_eq!(run(&[b"x\xe0\x80", b"\x80", b""]), Err(0));
        // Surrogate: ED A0 is invalid at once.
        assert_eq!(run(&[b"\xed\xa0", b"\x80"]), Err(0));
        // Above U+10FFFF.
        assert_eq!(run(&[b"\xf4\x90", b"\x80\x80"]), Err(0));
        // Carried lead byte followed by a non-continuation in the next fragment.
        assert_eq!(run(&[b"\xe2", b"A", b""]), Err(1));
        assert_eq!(run(&[b"\xf0\x9d", b"\x84", b"A"]), Err(2));
        // Lone continuation byte.
        assert_eq!(run(&[b"ok", b"\x80"]), Err(1));
        // Invalid after a completed carry in the same fragment.
        assert_eq!(run(&[b"\xe2\x82", b"\xac\xc0\xaf", b""]), Err(1));
    }

    #[test]
    fn empty_input_is_valid() {
        assert_eq!(run(&[b""]), Ok(()));
        assert_eq!(run(&[b"", b"", b""]), Ok(()));
    }

    #[test]
    fn agrees_with_std_on_all_short_byte_strings_in_all_splits() {
        // Every 1..=3 byte string over a set of interesting bytes, every split.
        let bytes = [
            0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xff,
        ];
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for &a in &bytes {
            cases.push(vec![a]);
            for &b in &bytes {
                cases.push(vec![a, b]);
                for &c in &bytes {
                    cases.push(vec![a, b, c]);
                    cases.push(vec![0xf0, a, b, c]);
                    cases.push(vec![0xe1, a, b, c]);
                }
            }
        }
        for s in &cases {
            let want = str::from_utf8(s).is_ok();
            for i in 0..=s.len() {
                assert_eq!(run(&[&s[..i], &s[i..]]).is_ok(), want, "{s:x?} split {i}");
            }
        }
    }
}
