//! App events as JS receives them: one plain object per event, fields by `type`.
//!
//! Built on the JS thread by the events ThreadsafeFunction's callback when it drains the
//! batch (`NativeServer.listen`).

use napi_derive::napi;

use crate::protocol::Event;
use crate::reactor::events::{ConnEvent, Request};

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

pub(super) fn js_event(ev: ConnEvent) -> JsAppEvent {
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
    let kind = match ev.event {
        Event::Init { payload } => {
            out.payload = payload;
            // Always present on `init` ("" and none once an `opened` carried them).
            let r = ev.request.map_or_else(Request::default, |r| *r);
            (out.url, out.headers, out.protocol) = request(r);
            "init"
        }
        Event::Subscribe {
            id,
            serial,
            payload,
        } => {
            out.id = Some(id);
            out.serial = Some(serial);
            out.payload = Some(payload);
            "subscribe"
        }
        Event::Complete { id } => {
            out.id = Some(id);
            "complete"
        }
        Event::Opened => {
            let r = ev.request.map_or_else(Request::default, |r| *r);
            (out.url, out.headers, out.protocol) = request(r);
            "opened"
        }
        Event::Ping { payload } => {
            out.payload = payload;
            "ping"
        }
        Event::Pong { payload } => {
            out.payload = payload;
            "pong"
        }
        Event::Message { text } => {
            out.payload = Some(text);
            "message"
        }
        Event::Refused { id, payload } => {
            out.id = Some(id);
            out.payload = Some(payload);
            "refused"
        }
        Event::Closed {
            code,
            reason,
            acknowledged,
        } => {
            out.code = Some(code.get().into());
            out.reason = Some(reason);
            out.acknowledged = Some(acknowledged);
            "closed"
        }
    };
    out.kind = kind.into();
    out
}

/// The request's fields as JS reads them: `url`, `headers` as `[name, value]` pairs,
/// `protocol`.
fn request(r: Request) -> (Option<String>, Option<Vec<Vec<String>>>, Option<String>) {
    let headers = r.headers.into_iter().map(|(n, v)| vec![n, v]).collect();
    (Some(r.url), Some(headers), Some(r.protocol.into()))
}
