//! Close codes: one type for every code a connection can end with, and one table of them.
//!
//! A [`CloseCode`] is the 16-bit code of a WebSocket close (RFC 6455 §7.4): the protocol's
//! own codes (with the IANA registry's later ones), the two that only ever describe a close
//! and never travel in a close frame (1005 no status, 1006 abnormal), and the application
//! codes 4400–4500 that graphql-ws closes with (its `CloseCode` enum), which subwire's GraphQL
//! sessions use too. The frame reader asks [`CloseCode::from_peer`] whether a peer may send a
//! code, the napi bridge [`CloseCode::from_app`] whether an app may close with one; the
//! sessions and the reactor name the codes they send by their constants, and take the
//! default reasons from the table; every reason is cut to what a close frame holds
//! ([`cut_reason`]). Modelled on h2's `Reason` (a newtype over the wire value
//! with named constants and a description table) and tungstenite's `CloseCode`.

use std::fmt;

/// The longest close reason a close frame can carry (125-byte payload minus the code).
pub const MAX_REASON: usize = 123;

/// Cuts a close reason to [`MAX_REASON`] bytes at a UTF-8 character boundary.
pub fn cut_reason(reason: &str) -> &str {
    let mut n = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(n) {
        n -= 1; // stops at 0 at the latest
    }
    &reason[..n]
}

/// A close code. Any `u16` can be carried (a peer's 3000–4999 codes are its own business);
/// the ones subwire knows are in [`TABLE`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the server is going down (`dispose()`).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: a frame broke RFC 6455.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1005: the peer's close frame had no code (never sent).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection was lost without a close frame (never sent).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: a text message (or close reason) that is not UTF-8.
    pub const INVALID_DATA: CloseCode = CloseCode(1007);
    /// 1008: the peer broke a limit of the server (slow consumer, too many waiting messages).
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message over `maxPayload`.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: the legacy protocol's close after `connection_error` (as subscriptions-transport-ws).
    pub const INTERNAL: CloseCode = CloseCode(1011);
    /// 4400: a graphql-ws message that is not one.
    pub const BAD_REQUEST: CloseCode = CloseCode(4400);
    /// 4401: `subscribe` before `connection_init`.
    pub const UNAUTHORIZED: CloseCode = CloseCode(4401);
    /// 4403: the app refused `connection_init`.
    pub const FORBIDDEN: CloseCode = CloseCode(4403);
    /// 4406: the client offered neither GraphQL subprotocol.
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: CloseCode = CloseCode(4406);
    /// 4408: no `connection_init` within the init timeout.
    pub const INIT_TIMEOUT: CloseCode = CloseCode(4408);
    /// 4409: `subscribe` with the id of an active operation.
    pub const SUBSCRIBER_EXISTS: CloseCode = CloseCode(4409);
    /// 4429: a second `connection_init`.
    pub const TOO_MANY_INITS: CloseCode = CloseCode(4429);
    /// 4500: a hook threw (the app words the reason).
    pub const INTERNAL_SERVER_ERROR: CloseCode = CloseCode(4500);

    /// The code on the wire.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// A code from a peer's close frame, if a peer may send it: 1000–1003, 1007–1014 (the
    /// table's codes that may be sent) and 3000–4999 (registered and private use); anything
    /// else fails the connection with 1002.
    pub fn from_peer(code: u16) -> Option<CloseCode> {
        Some(CloseCode(code)).filter(|c| c.may_send())
    }

    /// A code an app may close a connection with: 1000, or 3000–4999.
    pub fn from_app(code: u32) -> Option<CloseCode> {
        let code = u16::try_from(code).ok()?;
        (code == 1000 || (3000..5000).contains(&code)).then_some(CloseCode(code))
    }

    /// Whether the code may travel in a close frame (RFC 6455 §7.4: not 1004–1006 or
    /// 1015, nothing unregistered below 3000, nothing from 5000 on).
    pub fn may_send(self) -> bool {
        match self.0 {
            0..=2999 => self.known().is_some_and(|k| k.on_wire),
            3000..=4999 => true,
            _ => false,
        }
    }

    /// The code's name (RFC 6455 and the IANA registry, graphql-ws for 4400–4500), if it has one.
    pub fn name(self) -> Option<&'static str> {
        self.known().map(|k| k.name)
    }

    /// The reason subwire sends with this code when the place that closes has nothing more
    /// specific to say ("" for codes it has no default for).
    pub fn reason(self) -> &'static str {
        self.known().map_or("", |k| k.reason)
    }

    fn known(self) -> Option<&'static Known> {
        TABLE.iter().find(|k| k.code == self)
    }

    /// How many codes the table names (metrics count closes per table code, plus "other").
    pub const KNOWN: usize = TABLE.len();

    /// The code's position in the table, if subwire knows it.
    pub fn table_index(self) -> Option<usize> {
        TABLE.iter().position(|k| k.code == self)
    }

    /// The table's code at position `i`.
    pub fn from_table_index(i: usize) -> Option<CloseCode> {
        TABLE.get(i).map(|k| k.code)
    }
}

impl From<CloseCode> for u16 {
    fn from(c: CloseCode) -> u16 {
        c.0
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} {name}", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One known code: its name, the reason subwire sends with it by default, and whether it may
/// be sent in a close frame.
struct Known {
    code: CloseCode,
    name: &'static str,
    reason: &'static str,
    on_wire: bool,
}

const fn known(code: u16, name: &'static str, reason: &'static str, on_wire: bool) -> Known {
    Known {
        code: CloseCode(code),
        name,
        reason,
        on_wire,
    }
}

/// Every code subwire knows. Below 3000 a code absent from here may not be sent.
const TABLE: &[Known] = &[
    known(1000, "NormalClosure", "", true),
    known(1001, "GoingAway", "Going away", true),
    known(1002, "ProtocolError", "protocol error", true),
    known(1003, "UnsupportedData", "", true),
    known(1004, "Reserved", "", false),
    known(1005, "NoStatusReceived", "", false),
    known(1006, "AbnormalClosure", "", false),
    known(
        1007,
        "InvalidFramePayloadData",
        "invalid UTF-8 in a text message",
        true,
    ),
    known(1008, "PolicyViolation", "", true),
    known(1009, "MessageTooBig", "message too big", true),
    known(1010, "MandatoryExtension", "", true),
    known(1011, "InternalError", "", true),
    known(1012, "ServiceRestart", "", true),
    known(1013, "TryAgainLater", "", true),
    known(1014, "BadGateway", "", true),
    known(1015, "TlsHandshake", "", false),
    known(4400, "BadRequest", "Invalid message received", true),
    known(4401, "Unauthorized", "Unauthorized", true),
    known(4403, "Forbidden", "Forbidden", true),
    known(
        4406,
        "SubprotocolNotAcceptable",
        "Subprotocol not acceptable",
        true,
    ),
    known(
        4408,
        "ConnectionInitialisationTimeout",
        "Connection initialisation timeout",
        true,
    ),
    known(
        4409,
        "SubscriberAlreadyExists",
        "Subscriber already exists",
        true,
    ),
    known(
        4429,
        "TooManyInitialisationRequests",
        "Too many initialisation requests",
        true,
    ),
    known(4500, "InternalServerError", "Internal server error", true),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_at_char_boundaries() {
        assert_eq!(cut_reason("short"), "short");
        let s = "é".repeat(70); // 140 bytes, boundaries at even offsets
        assert_eq!(cut_reason(&s).len(), 122);
        let s = "x".repeat(200);
        assert_eq!(cut_reason(&s).len(), MAX_REASON);
    }

    #[test]
    fn peer_close_code_validity_over_all_codes() {
        for code in 0..=u16::MAX {
            let want = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(CloseCode::from_peer(code).is_some(), want, "{code}");
        }
    }

    #[test]
    fn apps_close_with_1000_or_3000_to_4999() {
        for code in (0..=70_000u32).chain([u32::MAX]) {
            let want = code == 1000 || (3000..5000).contains(&code);
            let got = CloseCode::from_app(code);
            assert_eq!(got.is_some(), want, "{code}");
            assert!(got.is_none_or(|c| u32::from(c.get()) == code && c.may_send()));
        }
    }

    #[test]
    fn the_table_names_each_code_once_and_never_sends_1005_or_1006() {
        for (i, k) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..].iter().all(|o| o.code != k.code),
                "{:?}",
                k.code
            );
            assert!(!k.name.is_empty() && k.reason.len() <= 123);
        }
        for c in [CloseCode::NO_STATUS, CloseCode::ABNORMAL] {
            assert!(!c.may_send() && c.name().is_some());
        }
        assert_eq!(format!("{:?}", CloseCode::FORBIDDEN), "4403 Forbidden");
        assert_eq!(format!("{}", CloseCode(4999)), "4999");
        assert_eq!(CloseCode::TOO_BIG.reason(), "message too big");
        assert_eq!(CloseCode(3000).reason(), "");
        for i in 0..CloseCode::KNOWN {
            let c = CloseCode::from_table_index(i).unwrap();
            assert_eq!(c.table_index(), Some(i));
        }
        assert_eq!(CloseCode::from_table_index(CloseCode::KNOWN), None);
        assert_eq!(CloseCode(4999).table_index(), None);
    }
}
