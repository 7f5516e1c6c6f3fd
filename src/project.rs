//! Projecting a published JSON payload straight into a subscription's result, without JS.
//!
//! For a subscription whose every field is resolved by graphql-js's default resolver (the
//! root field reads `payload[fieldName]`, nested fields read `parent[fieldName]`) and whose
//! leaves are built-in scalars or plain enums, the result of an event is a function of the
//! payload alone: `{"data":{<alias>:<the selected part of payload[name]>}}`. JS compiles the
//! operation into a [`Plan`] once (lib/projection.js); the napi bridge keeps it per trigger
//! and runs [`project`] per published payload, so an event reaches every subscriber of the
//! trigger without a JS execution.
//!
//! Values are copied as the raw JSON text JS's `JSON.stringify` produced (numbers and
//! strings keep their exact bytes, which is what graphql-js's own serialization of the same
//! values would print). Whatever graphql-js would turn into an error or coerce (a null in a
//! non-null field, a number in a String field, a non-array in a list…) makes [`project`]
//! return `None`, and the caller executes that event in JS instead: the projection is
//! exact or it is not used.
//!
//! The JSON is only half of the proof: JSON.stringify writes what it reads (own enumerable
//! properties, `toJSON()`, no functions, NaN as null…), graphql-js reads something else for
//! some values (getters, inherited methods, Dates). lib/projection-check.js proves, per
//! event and along this plan's paths, that both read the same before JS calls [`project`].

mod canonical;

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;

/// How to complete one value (graphql-js `completeValue`, restricted to what is exact here).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "k", rename_all = "lowercase")]
pub(crate) enum Node {
    Int {
        nn: bool,
    },
    Float {
        nn: bool,
    },
    String {
        nn: bool,
    },
    Bool {
        nn: bool,
    },
    Id {
        nn: bool,
    },
    /// An enum whose values serialize as their names.
    Enum {
        nn: bool,
        values: Vec<String>,
    },
    List {
        nn: bool,
        of: Box<Node>,
    },
    /// An object type: its selected fields in order as `(response key, field name, node)`;
    /// `__typename` is `(key, "__typename", Typename)`.
    Obj {
        nn: bool,
        fields: Vec<(String, String, Node)>,
    },
    /// `__typename` of the enclosing object type.
    Typename {
        name: String,
    },
}

/// A subscription's projection: the root field's response key, its name in the payload,
/// and how to complete it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct Plan {
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) node: Node,
}

impl Plan {
    pub(crate) fn parse(json: &str) -> Result<Plan, String> {
        serde_json::from_str(json).map_err(|e| format!("not a projection plan: {e}"))
    }
}

/// `{"data":{…}}` for `payload`, or `None` when only graphql-js can say what it is.
/// `payload` is what this process's `JSON.stringify` wrote, so its leaves are copied as
/// they are.
pub(crate) fn project(plan: &Plan, payload: &str) -> Option<Vec<u8>> {
    project_text(plan, payload, Text::Stringified)
}

/// [`project`] for JSON text from elsewhere (a message from the broker: another process,
/// redis-cli, another language): graphql-js would see `JSON.parse` of it, so each leaf is
/// written as `JSON.stringify` would write the parsed value (`1.50` → `1.5`, `1e3` → `1000`),
/// and a string with an escape `JSON.stringify` would not write (`\u0041`, `\/`) is left to
/// graphql-js (`None`), as is a number that is not finite in JS (`1e400`).
pub(crate) fn project_foreign(plan: &Plan, payload: &str) -> Option<Vec<u8>> {
    project_text(plan, payload, Text::Foreign)
}

/// Where a payload's text comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Text {
    /// This process's `JSON.stringify`: every leaf is already in its canonical form.
    Stringified,
    /// Anyone's JSON.
    Foreign,
}

fn project_text(plan: &Plan, payload: &str, from: Text) -> Option<Vec<u8>> {
    let root = fields_of(payload)?;
    let mut out = Vec::with_capacity(payload.len() + 32);
    out.extend_from_slice(b"{\"data\":{");
    write_str(&mut out, &plan.key);
    out.push(b':');
    complete(
        &mut out,
        &plan.node,
        root.get(plan.name.as_str()).copied(),
        from,
    )?;
    out.extend_from_slice(b"}}");
    Some(out)
}

/// An object's fields by name, borrowed from its text; `None` if it is not an object.
fn fields_of(json: &str) -> Option<HashMap<Cow<'_, str>, &RawValue>> {
    serde_json::from_str(json).ok()
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

fn nullable(node: &Node) -> bool {
    match node {
        Node::Int { nn }
        | Node::Float { nn }
        | Node::String { nn }
        | Node::Bool { nn }
        | Node::Id { nn }
        | Node::Enum { nn, .. }
        | Node::List { nn, .. }
        | Node::Obj { nn, .. } => !nn,
        Node::Typename { .. } => false,
    }
}

/// Appends the completed value of `raw` (absent = undefined) for `node`.
fn complete(out: &mut Vec<u8>, node: &Node, raw: Option<&RawValue>, from: Text) -> Option<()> {
    let text = raw.map(|r| r.get().trim()).unwrap_or("null");
    if let Node::Typename { name } = node {
        write_str(out, name);
        return Some(());
    }
    if text == "null" {
        // graphql-js: null for a nullable field, an error for a non-null one.
        return nullable(node).then(|| out.extend_from_slice(b"null"));
    }
    let first = text.as_bytes()[0];
    match node {
        Node::Int { .. } => out.extend_from_slice(int_text(text)?.as_bytes()),
        Node::Float { .. } => {
            if !is_number(first) {
                return None;
            }
            match from {
                Text::Stringified => out.extend_from_slice(text.as_bytes()),
                Text::Foreign => canonical::number(out, text.parse().ok()?)?,
            }
        }
        Node::String { .. } => {
            if first != b'"' || (from == Text::Foreign && !canonical::string(text)) {
                return None;
            }
            out.extend_from_slice(text.as_bytes())
        }
        Node::Bool { .. } => {
            if text != "true" && text != "false" {
                return None;
            }
            out.extend_from_slice(text.as_bytes())
        }
        Node::Id { .. } => {
            if first == b'"' {
                if from == Text::Foreign && !canonical::string(text) {
                    return None;
                }
                out.extend_from_slice(text.as_bytes())
            } else {
                // graphql-js serializes an integer ID as its decimal string.
                let digits = int_text(text)?;
                out.push(b'"');
                out.extend_from_slice(digits.as_bytes());
                out.push(b'"');
            }
        }
        Node::Enum { values, .. } => {
            let name: String = serde_json::from_str(text).ok()?;
            if !values.contains(&name) {
                return None;
            }
            // (a foreign text may spell the name with escapes: write it as graphql-js would)
            write_str(out, &name)
        }
        Node::List { of, .. } => {
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            out.push(b'[');
            for (i, item) in items.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                complete(out, of, Some(item), from)?;
            }
            out.push(b']');
        }
        Node::Obj { fields, .. } => {
            let map = fields_of(text)?;
            out.push(b'{');
            for (i, (key, name, child)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                complete(out, child, map.get(name.as_str()).copied(), from)?;
            }
            out.push(b'}');
        }
        Node::Typename { .. } => unreachable!("handled above"),
    }
    Some(())
}

fn is_number(first: u8) -> bool {
    first == b'-' || first.is_ascii_digit()
}

/// The text graphql-js's Int would print for this JSON number: an integer within 32 bits.
fn int_text(text: &str) -> Option<Cow<'_, str>> {
    if !is_number(text.as_bytes()[0]) {
        return None;
    }
    if let Ok(n) = text.parse::<i32>() {
        return Some(if n == 0 { "0".into() } else { text.into() });
    }
    // 2.0, 1e3: integral values in range print as integers.
    let f: f64 = text.parse().ok()?;
    let in_range = f.fract() == 0.0 && f >= i32::MIN as f64 && f <= i32::MAX as f64;
    in_range.then(|| (f as i32).to_string().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick_plan() -> Plan {
        Plan::parse(
            r#"{"key":"t","name":"tick","node":{"k":"obj","nn":true,"fields":[
                ["seq","seq",{"k":"int","nn":true}],
                ["at","sentAt",{"k":"float","nn":false}],
                ["body","body",{"k":"string","nn":false}],
                ["__typename","__typename",{"k":"typename","name":"Tick"}],
                ["tags","tags",{"k":"list","nn":false,"of":{"k":"enum","nn":true,"values":["A","B"]}}],
                ["id","id",{"k":"id","nn":false}],
                ["ok","ok",{"k":"bool","nn":false}]]}}"#,
        )
        .unwrap()
    }

    fn run(payload: &str) -> Option<String> {
        project(&tick_plan(), payload).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn selects_renames_and_keeps_raw_text() {
        let out = run(
            r#"{"tick":{"body":"h\u00e9\"y","seq":7,"sentAt":1.5e3,"extra":{"x":[1]},"tags":["B","A"],"id":42,"ok":true},"other":1}"#,
        );
        assert_eq!(
            out.as_deref(),
            Some(
                r#"{"data":{"t":{"seq":7,"at":1.5e3,"body":"h\u00e9\"y","__typename":"Tick","tags":["B","A"],"id":"42","ok":true}}}"#
            )
        );
        // Absent nullable fields are null.
        let out = run(r#"{"tick":{"seq":1}}"#).unwrap();
        assert_eq!(
            out,
            r#"{"data":{"t":{"seq":1,"at":null,"body":null,"__typename":"Tick","tags":null,"id":null,"ok":null}}}"#
        );
    }

    #[test]
    fn whatever_graphql_js_would_coerce_or_reject_is_left_to_it() {
        for payload in [
            r#"{"tick":null}"#,                    // non-null root field
            r#"{}"#,                               // absent non-null root field
            r#"{"tick":{"seq":null}}"#,            // non-null leaf
            r#"{"tick":{"seq":1.5}}"#,             // Int that is not an integer
            r#"{"tick":{"seq":3000000000}}"#,      // Int out of 32 bits
            r#"{"tick":{"seq":"1"}}"#,             // a string for an Int
            r#"{"tick":{"seq":1,"body":2}}"#,      // a number for a String
            r#"{"tick":{"seq":1,"ok":1}}"#,        // a number for a Boolean
            r#"{"tick":{"seq":1,"tags":"A"}}"#,    // not a list
            r#"{"tick":{"seq":1,"tags":["C"]}}"#,  // not an enum value
            r#"{"tick":{"seq":1,"tags":[null]}}"#, // null in a list of non-null
            r#"{"tick":{"seq":1,"id":1.5}}"#,      // a float ID
            r#"{"tick":[]}"#,                      // not an object
            r#"[1]"#,                              // a payload that is not an object
            r#"{"tick":"#,                         // not JSON
        ] {
            assert_eq!(run(payload), None, "{payload}");
        }
    }

    #[test]
    fn lone_surrogates_are_copied_as_json_stringify_escaped_them() {
        // JSON.stringify escapes a lone surrogate (`\ud800`), as graphql-ws's own
        // JSON.stringify of the result does: the escape is copied, never decoded.
        let out = run(r#"{"tick":{"seq":1,"body":"a\ud800b"}}"#).unwrap();
        assert!(out.contains(r#""body":"a\ud800b""#), "{out}");
        // In a key (the plan never names one) it does not parse: graphql-js runs the event.
        assert_eq!(run(r#"{"tick":{"seq":1,"\udc00":1}}"#), None);
    }

    #[test]
    fn integral_numbers_in_range_print_as_graphql_js_prints_them() {
        assert_eq!(int_text("2.0").as_deref(), Some("2"));
        assert_eq!(int_text("1e3").as_deref(), Some("1000"));
        assert_eq!(int_text("-0").as_deref(), Some("0"));
        assert_eq!(int_text("-2147483648").as_deref(), Some("-2147483648"));
        assert_eq!(int_text("2147483648"), None);
    }

    #[test]
    fn foreign_text_is_written_as_json_stringify_would_write_its_parse() {
        let foreign =
            |p: &str| project_foreign(&tick_plan(), p).map(|b| String::from_utf8(b).unwrap());
        assert_eq!(
            foreign(r#"{ "tick" : { "seq" : 2.0, "sentAt" : 1.50e3, "tags" : [ "\u0041" ], "body" : "x" } }"#)
                .as_deref(),
            Some(
                r#"{"data":{"t":{"seq":2,"at":1500,"body":"x","__typename":"Tick","tags":["A"],"id":null,"ok":null}}}"#
            )
        );
        // Escapes JSON.stringify would not write, and numbers JS cannot hold: graphql-js.
        assert_eq!(foreign(r#"{"tick":{"seq":1,"body":"\/"}}"#), None);
        assert_eq!(foreign(r#"{"tick":{"seq":1,"id":"\u0041"}}"#), None);
        assert_eq!(foreign(r#"{"tick":{"seq":1,"sentAt":1e400}}"#), None);
        // The trusted path copies what this process's JSON.stringify wrote.
        assert!(run(r#"{"tick":{"seq":1,"sentAt":1.5e3}}"#)
            .unwrap()
            .contains(r#""at":1.5e3"#));
    }

    #[test]
    fn plans_that_do_not_parse_are_refused() {
        assert!(Plan::parse(r#"{"key":"a","name":"a","node":{"k":"custom"}}"#).is_err());
        assert!(Plan::parse("nope").is_err());
    }
}
