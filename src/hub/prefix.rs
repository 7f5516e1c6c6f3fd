//! A subscriber's message prefix, `{"id":<id>,"type":"next","payload":` (legacy: `data`),
//! and the operation id read back out of it.
//!
//! The prefix is the only place a subscriber's operation id is kept: the hub matches a
//! leaving subscriber by it and recovers the id for `error`/`complete`, and the reactor
//! recovers it when the serial alone cannot tell whether the subscriber is still active
//! (serial 0, or a connection with many ids). It is written by [`Outgoing::write_head`], so the
//! id sits between a fixed head and one of two tails of equal length, as a JSON string
//! (serde_json's escaping: `"`, `\` and control characters; nothing else).

use bytes::Bytes;
use std::borrow::Cow;
use std::sync::Arc;

use crate::protocol::{write_json_str, Outgoing, Payload};

/// What comes before the id's JSON string.
const HEAD: &[u8] = br#"{"id":"#;
/// What follows it, for each protocol (both the same length).
const NEXT_TAIL: &[u8] = br#","type":"next","payload":"#;
const DATA_TAIL: &[u8] = br#","type":"data","payload":"#;

/// The prefix for operation `id`; `legacy`: subscriptions-transport-ws (`data`). One
/// allocation: the reference count sits beside the bytes (a `Bytes` would add a second
/// block for its count, and 16 bytes to every `Target`).
pub fn build(id: &str, legacy: bool) -> Arc<[u8]> {
    let msg = Outgoing {
        id: Some(id),
        kind: if legacy { "data" } else { "next" },
        payload: Some(Payload::Shared(&Bytes::new())),
    };
    let mut buf = Vec::with_capacity(HEAD.len() + id.len() + 2 + NEXT_TAIL.len());
    msg.write_head(&mut buf);
    Arc::from(buf)
}

/// The id as `write_json_str` writes it (quotes included), for [`has_json_id`].
pub fn json_id(id: &str, buf: &mut Vec<u8>) {
    buf.clear();
    write_json_str(buf, id);
}

/// The id's JSON string in `prefix`, quotes included (None: not a prefix [`build`] wrote).
pub fn json_of(prefix: &[u8]) -> Option<&[u8]> {
    let rest = prefix.strip_prefix(HEAD)?;
    let json = rest
        .strip_suffix(NEXT_TAIL)
        .or_else(|| rest.strip_suffix(DATA_TAIL))?;
    (json.len() >= 2 && json.starts_with(b"\"") && json.ends_with(b"\"")).then_some(json)
}

/// Whether `prefix` is the prefix of the operation whose id is `json` (from [`json_id`]),
/// in either protocol.
pub fn has_json_id(prefix: &[u8], json: &[u8]) -> bool {
    // The tails have one length, so the length and the bytes after the head decide it.
    prefix.len() == HEAD.len() + json.len() + NEXT_TAIL.len()
        && prefix.get(HEAD.len()..HEAD.len() + json.len()) == Some(json)
}

/// The operation id in `prefix`: borrowed when it needed no escape (the usual case, and the
/// one the reactor meets per frame), unescaped otherwise. None: not a prefix [`build`] wrote.
pub fn id_of(prefix: &[u8]) -> Option<Cow<'_, str>> {
    let json = json_of(prefix)?;
    let inner = &json[1..json.len() - 1];
    if !inner.contains(&b'\\') {
        // No backslash: nothing was escaped, so the bytes are the id's own.
        return std::str::from_utf8(inner).ok().map(Cow::Borrowed);
    }
    // serde_json reads back exactly what it wrote.
    serde_json::from_slice::<String>(json).ok().map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &[&str] = &[
        "1",
        "",
        "op \"1\"",
        r"back\slash",
        "\\",
        "\"",
        "\\\"",
        "ctl \u{0}\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}\u{7f}",
        "ünïcødé ✓ 😀",
        "/slash/",
        r#"x","type":"next","payload":"#,
        "\u{2028}\u{2029}",
        "9e3c4f7a-0b1d-4c2e-8f6a-3d5b7c9e1f20",
    ];

    #[test]
    fn ids_round_trip_through_the_prefix() {
        for id in IDS {
            for legacy in [false, true] {
                let prefix = build(id, legacy);
                assert_eq!(prefix.len(), {
                    let mut head = Vec::new();
                    Outgoing {
                        id: Some(id),
                        kind: if legacy { "data" } else { "next" },
                        payload: Some(Payload::Shared(&Bytes::new())),
                    }
                    .write_head(&mut head);
                    assert_eq!(&prefix[..], &head[..], "same bytes as write_head");
                    head.len()
                });
                assert_eq!(
                    id_of(&prefix).as_deref(),
                    Some(*id),
                    "{id:?} legacy {legacy}"
                );
                let borrowed = matches!(id_of(&prefix), Some(Cow::Borrowed(_)));
                let escaped = id.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20);
                assert_eq!(borrowed, !escaped, "{id:?}: borrowed unless escaped");
                let mut json = Vec::new();
                json_id(id, &mut json);
                assert_eq!(json_of(&prefix), Some(&json[..]));
                assert!(has_json_id(&prefix, &json));
                for other in IDS.iter().filter(|o| *o != id) {
                    json_id(other, &mut json);
                    assert!(!has_json_id(&prefix, &json), "{id:?} is not {other:?}");
                }
            }
        }
    }

    #[test]
    fn anything_else_has_no_id() {
        for bad in [
            &b""[..],
            b"{\"id\":",
            b"{\"id\":\"1\",\"type\":\"error\",\"payload\":",
            b"{\"id\":1,\"type\":\"next\",\"payload\":",
            b"{\"id\":\",\"type\":\"next\",\"payload\":",
            b"{\"id\":\"\xff\",\"type\":\"next\",\"payload\":",
            b"{\"id\":\"a\\q\",\"type\":\"next\",\"payload\":",
        ] {
            assert_eq!(id_of(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
