//! Reading client messages: serde_json on the borrowed text, fields checked by hand.
//!
//! Called by both protocol sessions. The envelope (`type`, `id`, `payload`) is read in one
//! pass with every field as a borrowed `&RawValue`, so nothing is copied or allocated unless
//! a string has escapes; each session then checks the fields its message type needs and
//! words its own errors ("`subscribe` needs a string `id`, got a number"), which become 4400
//! reasons (graphql-transport-ws) or `error` messages (legacy).

use serde::de::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A client message's envelope; unknown fields are ignored.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Field<'a>,
    #[serde(borrow, default)]
    id: Field<'a>,
    #[serde(borrow, default)]
    payload: Field<'a>,
}

/// A field that keeps `null` apart from absent (serde's `Option` would fold them).
#[derive(Default)]
pub(crate) struct Field<'a>(pub Option<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(d).map(|raw| Field(Some(raw)))
    }
}

/// A parsed message: `type` as text, `id` and `payload` still raw (`None`: absent).
pub(crate) struct Msg<'a> {
    pub kind: Cow<'a, str>,
    pub id: Option<&'a RawValue>,
    pub payload: Option<&'a RawValue>,
}

/// Why a text is not a message at all.
pub(crate) enum BadMessage {
    /// Not JSON.
    Syntax(String),
    /// JSON, but not an object with a string `type`.
    Shape(String),
}

/// Parses the envelope of a client message.
pub(crate) fn message(text: &str) -> Result<Msg<'_>, BadMessage> {
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r']);
    if !trimmed.starts_with('{') {
        return Err(match serde_json::from_str::<&RawValue>(text) {
            Err(e) => BadMessage::Syntax(format!("Invalid JSON: {e}")),
            Ok(v) => BadMessage::Shape(format!(
                "A message must be a JSON object, got {}",
                json_kind(Some(v))
            )),
        });
    }
    let env: Envelope<'_> = serde_json::from_str(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            BadMessage::Syntax(format!("Invalid JSON: {e}"))
        } else {
            BadMessage::Shape(format!("Invalid message: {e}"))
        }
    })?;
    let kind = match env.kind.0 {
        None => return Err(BadMessage::Shape("A message needs a 'type'".into())),
        Some(raw) if is(raw, b'n') => {
            return Err(BadMessage::Shape("A message needs a 'type'".into()))
        }
        Some(raw) => match string(raw) {
            Some(k) if k.is_empty() => {
                return Err(BadMessage::Shape("A message needs a 'type'".into()))
            }
            Some(k) => k,
            None => {
                return Err(BadMessage::Shape(format!(
                    "A message's 'type' must be a string, got {}",
                    json_kind(Some(raw))
                )))
            }
        },
    };
    Ok(Msg {
        kind,
        id: env.id.0,
        payload: env.payload.0,
    })
}

impl<'a> Msg<'a> {
    /// The `id` as a string: `Err` with a reason when absent, not a string, or (if
    /// `non_empty`) empty.
    pub(super) fn id(&self, non_empty: bool) -> Result<Cow<'a, str>, String> {
        match self.id.and_then(string) {
            Some(id) if non_empty && id.is_empty() => {
                Err(format!("'{}' needs a non-empty 'id'", self.kind))
            }
            Some(id) => Ok(id),
            None => Err(format!(
                "'{}' needs a string 'id', got {}",
                self.kind,
                json_kind(self.id)
            )),
        }
    }

    /// The payload when it must be an object or absent/null: `Ok(None)` for absent or null.
    pub(super) fn optional_object(&self) -> Result<Option<&'a RawValue>, String> {
        match self.payload {
            None => Ok(None),
            Some(p) if is(p, b'n') => Ok(None),
            Some(p) if is(p, b'{') => Ok(Some(p)),
            Some(p) => Err(format!(
                "'{}' payload must be an object or null, got {}",
                self.kind,
                json_kind(Some(p))
            )),
        }
    }

    /// The payload of an operation (`subscribe`, legacy `start`): an object with a string
    /// `query` and, when present and not null, object `variables` and `extensions` and a
    /// string `operationName`.
    pub(super) fn operation(&self) -> Result<&'a RawValue, String> {
        let kind = &self.kind;
        let payload = match self.payload {
            Some(p) if is(p, b'{') => p,
            other => {
                return Err(format!(
                    "'{kind}' needs an object 'payload', got {}",
                    json_kind(other)
                ))
            }
        };
        let op: Operation<'_> = serde_json::from_str(payload.get())
            .map_err(|e| format!("'{kind}' payload is invalid: {e}"))?;
        if !op.query.0.is_some_and(|q| is(q, b'"')) {
            return Err(format!(
                "'{kind}' payload needs a string 'query', got {}",
                json_kind(op.query.0)
            ));
        }
        let checks = [
            ("variables", op.variables.0, b'{', "an object"),
            ("extensions", op.extensions.0, b'{', "an object"),
            ("operationName", op.operation_name.0, b'"', "a string"),
        ];
        for (name, value, first, want) in checks {
            if let Some(v) = value {
                if !is(v, first) && !is(v, b'n') {
                    return Err(format!(
                        "'{kind}' payload '{name}' must be {want} or null, got {}",
                        json_kind(Some(v))
                    ));
                }
            }
        }
        Ok(payload)
    }
}

#[derive(serde::Deserialize)]
struct Operation<'a> {
    #[serde(borrow, default)]
    query: Field<'a>,
    #[serde(borrow, default)]
    variables: Field<'a>,
    #[serde(borrow, default, rename = "operationName")]
    operation_name: Field<'a>,
    #[serde(borrow, default)]
    extensions: Field<'a>,
}

/// Whether a raw value starts with `first` (`{` object, `"` string, `n` null, …).
fn is(raw: &RawValue, first: u8) -> bool {
    raw.get().as_bytes().first() == Some(&first)
}

/// A raw JSON string's text: borrowed when it has no escapes; `None` when not a string.
pub(crate) fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    let s = raw.get();
    if !is(raw, b'"') {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(s).ok().map(Cow::Owned)
}

/// "an object", "a number", … for error messages; "nothing" when absent.
pub(crate) fn json_kind(raw: Option<&RawValue>) -> &'static str {
    match raw.and_then(|r| r.get().as_bytes().first()) {
        None => "nothing",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(_) => "a number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_and_keeps_null_apart_from_absent() {
        let m = message(" {\"type\" : \"ping\", \"id\":\"a\" , \"payload\" :  null }")
            .ok()
            .unwrap();
        assert!(matches!(m.kind, Cow::Borrowed("ping")));
        assert!(matches!(m.id(true), Ok(Cow::Borrowed("a"))));
        assert_eq!(m.payload.map(|p| p.get()), Some("null"));
        assert!(m.optional_object().unwrap().is_none());
        let m = message(r#"{"type":"p\u0069ng","id":"\"q\""}"#)
            .ok()
            .unwrap();
        assert_eq!(m.kind, "ping");
        assert_eq!(m.id(true).unwrap(), "\"q\"");
        assert!(m.payload.is_none());
    }

    #[test]
    fn says_what_is_wrong() {
        let reason = |t: &str| match message(t) {
            Err(BadMessage::Syntax(s) | BadMessage::Shape(s)) => s,
            Ok(_) => String::new(),
        };
        assert!(reason("{").starts_with("Invalid JSON"));
        assert!(reason("[1,").starts_with("Invalid JSON"));
        assert_eq!(
            reason("[]"),
            "A message must be a JSON object, got an array"
        );
        assert_eq!(reason("{}"), "A message needs a 'type'");
        assert_eq!(reason(r#"{"type":""}"#), "A message needs a 'type'");
        assert_eq!(
            reason(r#"{"type":1}"#),
            "A message's 'type' must be a string, got a number"
        );
        assert!(reason(r#"{"type":"a","type":"b"}"#).contains("duplicate field"));
    }
}
