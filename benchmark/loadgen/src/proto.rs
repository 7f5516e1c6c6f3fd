//! The GraphQL-over-WebSocket messages the clients send and read, for both subprotocols:
//! `graphql-transport-ws` (graphql-ws the library) and the legacy `graphql-ws`
//! (subscriptions-transport-ws). Parsing borrows from the frame; nothing is kept.

use crate::args::Protocol;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

pub const CONNECTION_INIT: &[u8] = br#"{"type":"connection_init"}"#;
pub const PONG: &[u8] = br#"{"type":"pong"}"#;
pub const QUERY: &str = "subscription($t:String!){tick(topic:$t){seq sentAt body}}";

/// Appends the subscribe (`subscribe` or legacy `start`) message for subscription `id`
/// (`query`: `QUERY` or the `--query` document, its root field aliased `tick`).
pub fn write_subscribe(out: &mut Vec<u8>, protocol: Protocol, id: usize, topic: &str, query: &str) {
    let ty = if protocol == Protocol::LegacyWs {
        "start"
    } else {
        "subscribe"
    };
    // `topic` and `query` are checked at startup not to need escaping.
    let msg = format!(
        r#"{{"id":"{id}","type":"{ty}","payload":{{"query":"{query}","variables":{{"t":"{topic}"}}}}}}"#
    );
    out.extend_from_slice(msg.as_bytes());
}

/// A server message, as far as the load generator cares.
#[derive(Debug, PartialEq)]
pub enum ServerMsg {
    Ack,
    Ping,
    /// Protocol-level pong or legacy keep-alive (`ka`): nothing to do.
    Ignore,
    /// An event for subscription `id` (1-based, as sent).
    Next {
        id: usize,
        seq: u64,
        sent_at: f64,
    },
    /// `error`, `complete`, `connection_error` for a subscription or the connection.
    Error(String),
    Unknown(String),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    payload: Option<&'a RawValue>,
}

/// An event's `seq` and send time: `sentAt` (ms since the epoch) or, when the server has it,
/// the finer `sentAtNs` (ns since the epoch: a number, or a string since it exceeds 2^53).
#[derive(Deserialize)]
struct Tick<'a> {
    seq: u64,
    #[serde(rename = "sentAt", default)]
    sent_at: Option<f64>,
    #[serde(rename = "sentAtNs", default, borrow)]
    sent_at_ns: Option<&'a RawValue>,
}

impl Tick<'_> {
    /// The send time in ms since the epoch, preferring `sentAtNs`.
    fn sent_ms(&self) -> Option<f64> {
        self.sent_at_ns
            .and_then(|raw| ns_to_ms(raw.get()))
            .or(self.sent_at)
    }
}

/// `1763868208123456789`, `"1763868208123456789"` or `1.76e18` (ns) → ms, keeping the
/// sub-ms digits an f64 of ms can hold (the integer form is split so none are lost early).
fn ns_to_ms(raw: &str) -> Option<f64> {
    let t = raw.trim().trim_matches('"');
    if let Ok(ns) = t.parse::<u64>() {
        return Some((ns / 1_000_000) as f64 + (ns % 1_000_000) as f64 / 1e6);
    }
    t.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .map(|ns| ns / 1e6)
}

#[derive(Deserialize)]
struct TickData<'a> {
    #[serde(borrow)]
    tick: Tick<'a>,
}

#[derive(Deserialize)]
struct ExecResult<'a> {
    #[serde(borrow)]
    data: Option<TickData<'a>>,
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Parses one text message from a GraphQL server.
pub fn parse_server(text: &[u8]) -> Result<ServerMsg, String> {
    let env: Envelope =
        serde_json::from_slice(text).map_err(|e| format!("bad JSON message: {e}"))?;
    Ok(match env.ty.as_ref() {
        "connection_ack" => ServerMsg::Ack,
        "ping" => ServerMsg::Ping,
        "pong" | "ka" => ServerMsg::Ignore,
        "next" | "data" => {
            let id = env
                .id
                .as_deref()
                .and_then(|i| i.parse::<usize>().ok())
                .ok_or("event without a numeric id")?;
            let payload = env.payload.ok_or("event without payload")?;
            let r: ExecResult = serde_json::from_str(payload.get())
                .map_err(|e| format!("event payload: {e}: {}", short(payload.get())))?;
            let tick = r
                .data
                .ok_or_else(|| format!("event without data: {}", short(payload.get())))?
                .tick;
            let sent_at = tick
                .sent_ms()
                .ok_or_else(|| format!("event without sentAt: {}", short(payload.get())))?;
            ServerMsg::Next {
                id,
                seq: tick.seq,
                sent_at,
            }
        }
        "error" | "complete" | "connection_error" => {
            let p = env.payload.map_or("", |p| p.get());
            ServerMsg::Error(format!("{} {}", env.ty, short(p)))
        }
        other => ServerMsg::Unknown(short(other)),
    })
}

/// Parses a plain (protocol `none`) fan-out message: `{"seq":N,"sentAt":MS,...}` (or
/// `sentAtNs`).
pub fn parse_plain(text: &[u8]) -> Option<(u64, f64)> {
    let t = serde_json::from_slice::<Tick>(text).ok()?;
    Some((t.seq, t.sent_ms()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_messages_are_valid_json() {
        for (p, ty) in [
            (Protocol::TransportWs, "subscribe"),
            (Protocol::LegacyWs, "start"),
        ] {
            let mut out = Vec::new();
            write_subscribe(&mut out, p, 3, "news", QUERY);
            let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
            assert_eq!(v["id"], "3");
            assert_eq!(v["type"], ty);
            assert_eq!(v["payload"]["query"], QUERY);
            assert_eq!(v["payload"]["variables"]["t"], "news");
        }
    }

    #[test]
    fn parses_server_messages() {
        assert_eq!(
            parse_server(br#"{"type":"connection_ack"}"#),
            Ok(ServerMsg::Ack)
        );
        assert_eq!(
            parse_server(br#"{"type":"ping","payload":{}}"#),
            Ok(ServerMsg::Ping)
        );
        assert_eq!(parse_server(br#"{"type":"ka"}"#), Ok(ServerMsg::Ignore));
        let next = br#"{"id":"2","type":"next","payload":{"data":{"tick":{"seq":7,"sentAt":1700000000123.5,"body":"x"}}}}"#;
        assert_eq!(
            parse_server(next),
            Ok(ServerMsg::Next {
                id: 2,
                seq: 7,
                sent_at: 1_700_000_000_123.5
            })
        );
        let legacy = br#"{"type":"data","id":"1","payload":{"data":{"tick":{"body":"","seq":1,"sentAt":5}}}}"#;
        assert_eq!(
            parse_server(legacy),
            Ok(ServerMsg::Next {
                id: 1,
                seq: 1,
                sent_at: 5.0
            })
        );
        assert!(matches!(
            parse_server(br#"{"id":"1","type":"error","payload":[{"message":"no"}]}"#),
            Ok(ServerMsg::Error(_))
        ));
        assert!(parse_server(br#"{"id":"x","type":"next","payload":{}}"#).is_err());
        assert!(parse_server(br#"{"id":"1","type":"next","payload":{"errors":[]}}"#).is_err());
        assert!(parse_server(b"not json").is_err());
        assert_eq!(parse_plain(br#"{"seq":3,"sentAt":10}"#), Some((3, 10.0)));
        assert_eq!(parse_plain(br#"{"seq":3}"#), None);
    }

    #[test]
    fn prefers_hi_res_sent_at_ns() {
        let ms = |m: &[u8]| match parse_server(m) {
            Ok(ServerMsg::Next { sent_at, .. }) => Some(sent_at),
            _ => None,
        };
        let as_string = br#"{"id":"1","type":"next","payload":{"data":{"tick":{"seq":1,"sentAt":1700000000123,"sentAtNs":"1700000000123456789"}}}}"#;
        let got = ms(as_string).expect("event");
        assert!(
            (got - 1_700_000_000_123.0 - 0.456_789).abs() < 1e-3,
            "{got}"
        );
        let as_number = br#"{"id":"1","type":"next","payload":{"data":{"tick":{"seq":1,"sentAtNs":1700000000123456789}}}}"#;
        let got = ms(as_number).expect("event");
        assert!(
            (got - 1_700_000_000_123.0 - 0.456_789).abs() < 1e-3,
            "{got}"
        );
        assert_eq!(
            parse_plain(br#"{"seq":2,"sentAtNs":2500000}"#),
            Some((2, 2.5))
        );
        // Neither time field: refused, not read as 0.
        assert!(
            parse_server(br#"{"id":"1","type":"next","payload":{"data":{"tick":{"seq":1}}}}"#)
                .is_err()
        );
    }
}
