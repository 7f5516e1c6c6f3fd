//! Why a peer's bytes fail a connection: the read side's typed error.
//!
//! Returned by [`super::frame::decode_client_header`] and [`super::message::Reader::feed`];
//! the reactor closes the connection with [`ProtocolError::close_code`] and that code's
//! default reason (tungstenite's `ProtocolError` plays the same part).

use super::close::CloseCode;

/// What was wrong with the client's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// RSV bits set: no extension was negotiated.
    ReservedBits,
    /// An opcode RFC 6455 reserves (3–7, 11–15).
    ReservedOpcode,
    /// A control frame (close, ping, pong) fragmented or over 125 bytes.
    BadControlFrame,
    /// A client frame without a mask.
    Unmasked,
    /// A 64-bit length with its top bit set.
    BadLength,
    /// A continuation with no message in progress, or a new message inside one.
    BadSequence,
    /// A close payload of one byte, or a code a peer may not send.
    BadClose,
    /// A message over `max_payload`.
    TooBig,
    /// Text (or a close reason) that is not UTF-8.
    InvalidUtf8,
}

impl ProtocolError {
    /// The code the connection is closed with: 1009 for size, 1007 for UTF-8, else 1002.
    pub fn close_code(self) -> CloseCode {
        match self {
            ProtocolError::TooBig => CloseCode::TOO_BIG,
            ProtocolError::InvalidUtf8 => CloseCode::INVALID_DATA,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}
