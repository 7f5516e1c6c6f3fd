//! App events as JS receives them: one plain object per event, fields by `type`.
//!
//! Built on the JS thread by the events ThreadsafeFunction's callback when it drains the
//! batch (`NativeServer.listen`).

use napi_derive::napi;

use crate::reactor::events::{AppEvent, EventKind};

/// One app event, as JS receives it (fields by `type`).
#[napi(object)]
pub struct JsAppEvent {
    /// The connection's id (an exact integer).
    pub conn: f64,
    /// "init" | "subscribe" | "complete" | "closed" | "opened" | "ping" | "pong" |
    /// "message" | "refused"
    #[napi(js_name = "type")]
    pub kind: String,
    pub id: Option<String>,
    /// "subscribe": the operation's serial, to pass back with its answers (ids may be reused).
    pub serial: Option<u32>,
    /// Raw JSON: the init, subscribe, ping or pong payload (with raw messages: the token of
    /// the envelope); "message": the client's text.
    pub payload: Option<String>,
    pub url: Option<String>,
    /// Requested headers as `[name, value]` pairs.
    pub headers: Option<Vec<Vec<String>>>,
    pub protocol: Option<String>,
    pub code: Option<u32>,
    pub reason: Option<String>,
    pub acknowledged: Option<bool>,
}

pub(super) fn js_event(ev: AppEvent) -> JsAppEvent {
    let mut out = JsAppEvent {
        conn: ev.conn.0 as f64,
        kind: String::new(),
        id: None,
        serial: None,
        payload: None,
        url: None,
        headers: None,
        protocol: None,
        code: None,
        reason: None,
        acknowledged: None,
    };
    match ev.kind {
        EventKind::Init {
            payload,
            url,
            headers,
            protocol,
        } => {
            out.kind = "init".into();
            out.payload = payload;
            out.url = Some(url);
            out.headers = Some(headers.into_iter().map(|(n, v)| vec![n, v]).collect());
            out.protocol = Some(protocol.into());
        }
        EventKind::Subscribe {
            id,
            serial,
            payload,
        } => {
            out.kind = "subscribe".into();
            out.id = Some(id);
            out.serial = Some(serial);
            out.payload = Some(payload);
        }
        EventKind::Complete { id } => {
            out.kind = "complete".into();
            out.id = Some(id);
        }
        EventKind::Opened {
            url,
            headers,
            protocol,
        } => {
            out.kind = "opened".into();
            out.url = Some(url);
            out.headers = Some(headers.into_iter().map(|(n, v)| vec![n, v]).collect());
            out.protocol = Some(protocol.into());
        }
        EventKind::Ping { payload } => {
            out.kind = "ping".into();
            out.payload = payload;
        }
        EventKind::Pong { payload } => {
            out.kind = "pong".into();
            out.payload = payload;
        }
        EventKind::Message { text } => {
            out.kind = "message".into();
            out.payload = Some(text);
        }
        EventKind::Refused { id, payload } => {
            out.kind = "refused".into();
            out.id = Some(id);
            out.payload = Some(payload);
        }
        EventKind::Closed {
            code,
            reason,
            acknowledged,
        } => {
            out.kind = "closed".into();
            out.code = Some(code.get().into());
            out.reason = Some(reason);
            out.acknowledged = Some(acknowledged);
        }
    }
    out
}
