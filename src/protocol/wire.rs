//! The bytes of every server message: one home for the wire format.
//!
//! [`Outgoing`] is a message a session sends, `{"id":…,"type":…,"payload":…}` in the key
//! order graphql-ws and subscriptions-transport-ws use, written without serializing the
//! payloads again (they are JSON already). A `next` message to a subscriber of a shared
//! trigger is the same bytes split in two, so that the payload is shared: a per-subscriber
//! prefix ([`next_prefix`], which the hub keeps and from which the operation id is read back
//! with [`prefix_id`]) and a per-update body ([`next_body`]: the payload and the closing `}`).
//! Sessions, the reactor's sink, the hub and the fan-out all call here; nothing else
//! writes or parses these bytes.

use bytes::Bytes;
use std::borrow::Cow;
use std::sync::Arc;

/// A payload inside an outgoing message, written as given (never re-serialized).
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// JSON text, e.g. the client's ping payload echoed, or the app's ack payload.
    Json(&'a str),
    /// JSON bytes from the app that many frames may share (`next`/`data`, `error`).
    Shared(&'a Bytes),
    /// `{"message":<this text as a JSON string>}`, the legacy protocol's error shape.
    Message(&'a str),
    /// The WHOLE message, as the app serialized it (graphql-ws's `jsonMessageReplacer`
    /// applies to the whole message): `id` and `kind` are only for the session's books.
    Whole(&'a Bytes),
}

/// One outgoing message: `{"id":<id>,"type":<kind>,"payload":<payload>}`, with `id` and
/// `payload` left out when `None` (the key order graphql-ws and subscriptions-transport-ws use).
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub id: Option<&'a str>,
    pub kind: &'static str,
    pub payload: Option<Payload<'a>>,
}

impl<'a> Outgoing<'a> {
    /// A message that is only its `type`.
    pub(crate) fn bare(kind: &'static str) -> Self {
        Outgoing {
            id: None,
            kind,
            payload: None,
        }
    }

    /// The whole message as a static string when it has no id and no payload
    /// (`{"type":"pong"}`, `{"type":"ka"}`, …), so a sink can send it without building it.
    pub fn as_static(&self) -> Option<&'static str> {
        if self.id.is_some() || self.payload.is_some() {
            return None;
        }
        Some(match self.kind {
            "connection_ack" => r#"{"type":"connection_ack"}"#,
            "pong" => r#"{"type":"pong"}"#,
            "ping" => r#"{"type":"ping"}"#,
            "ka" => r#"{"type":"ka"}"#,
            _ => return None,
        })
    }

    /// The whole message, when the app wrote it (send it as it is; nothing is framed around).
    pub fn whole(&self) -> Option<&'a Bytes> {
        match self.payload {
            Some(Payload::Whole(b)) => Some(b),
            _ => None,
        }
    }

    /// The shared payload, if the message carries one: a sink that keeps [`Bytes`] frames
    /// queues `head`, a clone of this, and [`Outgoing::tail`] instead of copying it.
    pub fn shared(&self) -> Option<&'a Bytes> {
        match self.payload {
            Some(Payload::Shared(b)) => Some(b),
            _ => None,
        }
    }

    /// `"}"` after a shared payload, `""` otherwise.
    pub fn tail(&self) -> &'static str {
        if self.shared().is_some() {
            "}"
        } else {
            ""
        }
    }

    /// Appends everything before the shared payload: the whole message when there is none
    /// (nothing for a [`Payload::Whole`] message: see [`Outgoing::encode`]).
    pub fn write_head(&self, buf: &mut Vec<u8>) {
        if self.whole().is_some() {
            return;
        }
        buf.push(b'{');
        if let Some(id) = self.id {
            buf.extend_from_slice(br#""id":"#);
            write_json_str(buf, id);
            buf.push(b',');
        }
        buf.extend_from_slice(br#""type":""#);
        buf.extend_from_slice(self.kind.as_bytes());
        buf.push(b'"');
        match self.payload {
            None => buf.push(b'}'),
            Some(p) => {
                buf.extend_from_slice(br#","payload":"#);
                match p {
                    Payload::Json(json) => buf.extend_from_slice(json.as_bytes()),
                    Payload::Shared(_) | Payload::Whole(_) => return,
                    Payload::Message(text) => {
                        buf.extend_from_slice(br#"{"message":"#);
                        write_json_str(buf, text);
                        buf.push(b'}');
                    }
                }
                buf.push(b'}');
            }
        }
    }

    /// Appends the whole message.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        if let Some(whole) = self.whole() {
            return buf.extend_from_slice(whole);
        }
        self.write_head(buf);
        if let Some(shared) = self.shared() {
            buf.extend_from_slice(shared);
            buf.extend_from_slice(self.tail().as_bytes());
        }
    }
}

/// Appends `s` as a JSON string literal (quotes and escapes included).
pub(super) fn write_json_str(buf: &mut Vec<u8>, s: &str) {
    // Writing a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, s);
}

/// What comes before the id's JSON string in a `next` prefix.
const HEAD: &[u8] = br#"{"id":"#;
/// What follows it, for each protocol (both the same length).
const NEXT_TAIL: &[u8] = br#","type":"next","payload":"#;
const DATA_TAIL: &[u8] = br#","type":"data","payload":"#;

/// The shared part of a `next` message for a payload: the payload and the message's
/// closing `}`, so that a subscriber's frame is its prefix and these bytes. The hub makes
/// one per reactor per update.
pub(crate) fn next_body(payload: &[u8]) -> Bytes {
    let mut body = Vec::with_capacity(payload.len() + 1);
    body.extend_from_slice(payload);
    body.push(b'}');
    Bytes::from(body)
}

/// The `next` prefix for operation `id`: `{"id":<id>,"type":"next","payload":` (`legacy`:
/// subscriptions-transport-ws, `data`), exactly what [`Outgoing::write_head`] writes before a
/// shared payload. One allocation: the reference count sits beside the bytes (a `Bytes`
/// would add a second block for its count, and 16 bytes to every subscriber the hub keeps).
pub(crate) fn next_prefix(id: &str, legacy: bool) -> Arc<[u8]> {
    let msg = Outgoing {
        id: Some(id),
        kind: if legacy { "data" } else { "next" },
        payload: Some(Payload::Shared(&Bytes::new())),
    };
    let mut buf = Vec::with_capacity(HEAD.len() + id.len() + 2 + NEXT_TAIL.len());
    msg.write_head(&mut buf);
    Arc::from(buf)
}

/// The id as `write_json_str` writes it (quotes included), for [`prefix_has_json_id`].
pub(crate) fn json_id(id: &str, buf: &mut Vec<u8>) {
    buf.clear();
    write_json_str(buf, id);
}

/// The id's JSON string in `prefix`, quotes included (None: not a [`next_prefix`]).
pub(crate) fn prefix_json_id(prefix: &[u8]) -> Option<&[u8]> {
    let rest = prefix.strip_prefix(HEAD)?;
    let json = rest
        .strip_suffix(NEXT_TAIL)
        .or_else(|| rest.strip_suffix(DATA_TAIL))?;
    (json.len() >= 2 && json.starts_with(b"\"") && json.ends_with(b"\"")).then_some(json)
}

/// Whether `prefix` is the [`next_prefix`] of the operation whose id is `json` (from
/// [`json_id`]), in either protocol.
pub(crate) fn prefix_has_json_id(prefix: &[u8], json: &[u8]) -> bool {
    // The tails have one length, so the length and the bytes after the head decide it.
    prefix.len() == HEAD.len() + json.len() + NEXT_TAIL.len()
        && prefix.get(HEAD.len()..HEAD.len() + json.len()) == Some(json)
}

/// The operation id in `prefix`: borrowed when it needed no escape (the usual case, and the
/// one the reactor meets per frame), unescaped otherwise. None: not a [`next_prefix`].
pub(crate) fn prefix_id(prefix: &[u8]) -> Option<Cow<'_, str>> {
    let json = prefix_json_id(prefix)?;
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

    fn text(msg: Outgoing<'_>) -> String {
        let mut buf = Vec::new();
        msg.encode(&mut buf);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn shapes() {
        let shared = Bytes::from_static(br#"{"data":1}"#);
        let next = Outgoing {
            id: Some("a\"b"),
            kind: "next",
            payload: Some(Payload::Shared(&shared)),
        };
        assert_eq!(
            text(next),
            r#"{"id":"a\"b","type":"next","payload":{"data":1}}"#
        );
        let mut head = Vec::new();
        next.write_head(&mut head);
        assert_eq!(head, br#"{"id":"a\"b","type":"next","payload":"#);
        assert_eq!(next.tail(), "}");
        let err = Outgoing {
            id: None,
            kind: "connection_error",
            payload: Some(Payload::Message("no\nway")),
        };
        assert_eq!(
            text(err),
            r#"{"type":"connection_error","payload":{"message":"no\nway"}}"#
        );
        let whole = Bytes::from_static(br#"{"type":"CONNECTION_ACK"}"#);
        let w = Outgoing {
            id: Some("1"),
            kind: "next",
            payload: Some(Payload::Whole(&whole)),
        };
        assert_eq!(text(w), r#"{"type":"CONNECTION_ACK"}"#, "sent as it is");
        assert!(w.shared().is_none() && w.as_static().is_none());
        let mut head = Vec::new();
        w.write_head(&mut head);
        assert!(head.is_empty());
        for kind in ["connection_ack", "pong", "ping", "ka"] {
            let o = Outgoing::bare(kind);
            assert_eq!(o.as_static().unwrap(), text(o));
        }
        assert!(Outgoing::bare("complete").as_static().is_none());
    }

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
                let prefix = next_prefix(id, legacy);
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
                    prefix_id(&prefix).as_deref(),
                    Some(*id),
                    "{id:?} legacy {legacy}"
                );
                let borrowed = matches!(prefix_id(&prefix), Some(Cow::Borrowed(_)));
                let escaped = id.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20);
                assert_eq!(borrowed, !escaped, "{id:?}: borrowed unless escaped");
                let mut json = Vec::new();
                json_id(id, &mut json);
                assert_eq!(prefix_json_id(&prefix), Some(&json[..]));
                assert!(prefix_has_json_id(&prefix, &json));
                for other in IDS.iter().filter(|o| *o != id) {
                    json_id(other, &mut json);
                    assert!(
                        !prefix_has_json_id(&prefix, &json),
                        "{id:?} is not {other:?}"
                    );
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
            assert_eq!(prefix_id(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
