//! graphql-transport-ws: malformed messages, escaping, internal errors, server close.

use crate::support::*;

#[test]
fn malformed_messages_close_4400() {
    let subscribe_ok = r#""payload":{"query":"{ a }"}"#;
    let table: &[(&str, &str)] = &[
        ("[]", "A message must be a JSON object, got an array"),
        ("\"hi\"", "A message must be a JSON object, got a string"),
        ("42", "A message must be a JSON object, got a number"),
        ("null", "A message must be a JSON object, got null"),
        ("{}", "A message needs a 'type'"),
        (r#"{"type":""}"#, "A message needs a 'type'"),
        (r#"{"type":null}"#, "A message needs a 'type'"),
        (
            r#"{"type":7}"#,
            "A message's 'type' must be a string, got a number",
        ),
        (
            r#"{"type":"subscription"}"#,
            "Unknown message type 'subscription'",
        ),
        (
            r#"{"type":"start","id":"1"}"#,
            "Unknown message type 'start'",
        ),
        (
            r#"{"type":"next","id":"1","payload":{}}"#,
            "'next' is a server message; a client may not send it",
        ),
        (
            r#"{"type":"connection_ack"}"#,
            "'connection_ack' is a server message; a client may not send it",
        ),
        (
            &format!(r#"{{"type":"subscribe","id":1,{subscribe_ok}}}"#),
            "'subscribe' needs a string 'id', got a number",
        ),
        (
            &format!(r#"{{"type":"subscribe",{subscribe_ok}}}"#),
            "'subscribe' needs a string 'id', got nothing",
        ),
        (
            &format!(r#"{{"type":"subscribe","id":"",{subscribe_ok}}}"#),
            "'subscribe' needs a non-empty 'id'",
        ),
        (
            r#"{"type":"subscribe","id":"1"}"#,
            "'subscribe' needs an object 'payload', got nothing",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":null}"#,
            "'subscribe' needs an object 'payload', got null",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":"{ a }"}"#,
            "'subscribe' needs an object 'payload', got a string",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":{}}"#,
            "'subscribe' payload needs a string 'query', got nothing",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":{"query":{}}}"#,
            "'subscribe' payload needs a string 'query', got an object",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }","variables":[]}}"#,
            "'subscribe' payload 'variables' must be an object or null, got an array",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }","operationName":3}}"#,
            "'subscribe' payload 'operationName' must be a string or null, got a number",
        ),
        (
            r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }","extensions":true}}"#,
            "'subscribe' payload 'extensions' must be an object or null, got a boolean",
        ),
        (
            r#"{"type":"complete","id":false}"#,
            "'complete' needs a string 'id', got a boolean",
        ),
        (
            r#"{"type":"complete","id":""}"#,
            "'complete' needs a non-empty 'id'",
        ),
        (
            r#"{"type":"connection_init","payload":"token"}"#,
            "'connection_init' payload must be an object or null, got a string",
        ),
        (
            r#"{"type":"pong","payload":1}"#,
            "'pong' payload must be an object or null, got a number",
        ),
    ];
    for (text, reason) in table {
        let mut c = Client::acked();
        assert_eq!(
            c.text(text),
            closed(code::BAD_REQUEST, reason, true),
            "{text}"
        );
        assert!(c.s.is_closed());
    }
    // Not JSON at all: the reason carries the parser's complaint.
    for text in [
        "",
        "{",
        "{\"type\":\"ping\"",
        "{'type':'ping'}",
        "[1,",
        "nul",
    ] {
        let mut c = Client::acked();
        let out = c.text(text);
        match &out[..] {
            [Output::Close {
                code: code::BAD_REQUEST,
                reason,
            }, Output::App(Event::Closed {
                code: code::BAD_REQUEST,
                ..
            })] if reason.starts_with("Invalid JSON: ") => {}
            other => panic!("{text:?}: {other:?}"),
        }
    }
    // A repeated field is caught by the parser too.
    let mut c = Client::acked();
    let out = c.text(r#"{"type":"ping","type":"pong"}"#);
    assert!(
        matches!(&out[0], Output::Close { code: code::BAD_REQUEST, reason } if reason.contains("duplicate field `type`")),
        "{out:?}"
    );
}

#[test]
fn next_frames_escape_the_id_and_keep_the_payload_bytes() {
    let mut c = Client::acked();
    // JSON escapes in the client's id: quote, backslash, newline, tab, unicode escapes.
    let wire_id = r#""a\"b\\c\n\t\u00e9\u2028</script>""#;
    let out = c.text(&format!(
        r#"{{"type":"subscribe","id":{wire_id},"payload":{{"query":"{{ a }}"}}}}"#
    ));
    let id = "a\"b\\c\n\té\u{2028}</script>";
    assert_eq!(out, [subscribe_event(id, r#"{"query":"{ a }"}"#)]);
    // The payload goes out exactly as given (spacing, key order, number forms).
    let payload = "{ \"data\" : {\"z\":1.50e0, \"a\":[ ]} }";
    let framed = format!(
        r#"{{"id":"a\"b\\c\n\té{}</script>","type":"next","payload":{payload}}}"#,
        '\u{2028}'
    );
    assert_eq!(c.next(id, payload), [send(&framed)]);
    // The frame is JSON and names the id the client sent.
    let Output::Send(text) = &c.next(id, payload)[0] else {
        unreachable!()
    };
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(v["id"], id);
    assert_eq!(v["type"], "next");
    // The same id written two ways is the same operation.
    assert_eq!(
        c.text(r#"{"type":"complete","id":"a\"b\\c\n\t\u00E9\u2028<\/script>"}"#),
        [app(Event::Complete { id: id.into() })]
    );
}

#[test]
fn internal_error_4500_cut_at_a_char_boundary() {
    let mut c = Client::acked();
    // 1 + 50×3 bytes: byte 123 falls inside a '€', so the cut lands at 121.
    let message = format!("a{}", "€".repeat(50));
    c.s.internal_error(&message, &mut c.out);
    let want = &message[..121];
    assert!(!message.is_char_boundary(123) && !message.is_char_boundary(122));
    assert_eq!(c.take(), closed(code::INTERNAL_SERVER_ERROR, want, true));
    // Short messages go as they are.
    let mut c = Client::transport();
    c.s.internal_error("The GraphQL schema is not provided", &mut c.out);
    assert_eq!(
        c.take(),
        closed(
            code::INTERNAL_SERVER_ERROR,
            "The GraphQL schema is not provided",
            false
        )
    );
}

#[test]
fn server_close_and_dispose() {
    let mut c = Client::acked();
    c.s.close(code::GOING_AWAY, "Going away", &mut c.out);
    assert_eq!(c.take(), closed(code::GOING_AWAY, "Going away", true));
    c.s.close(code::NORMAL, "", &mut c.out);
    assert!(c.take().is_empty());
    assert!(!c.s.acknowledged());
}
