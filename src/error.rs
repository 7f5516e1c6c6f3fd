//! Errors that cross into JavaScript: a stable `code` and a message a person can act on.
//!
//! The napi bridge turns a [`SubwireError`] into a JS `Error` whose `code` is
//! [`Code::as_str`]; reactors report runtime faults (a caught panic, an accept failure)
//! through the server's event sink with the same codes.

use std::fmt;
use std::io;

/// Stable error codes. JS code matches on these strings, so they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The address is already bound by another socket.
    AddrInUse,
    /// The host is not an address of this machine, or does not parse.
    AddrNotAvailable,
    /// Binding a port below 1024 without the privilege, or similar.
    PermissionDenied,
    /// An option has the wrong type or an out-of-range value.
    InvalidOption,
    /// The server was already disposed.
    Disposed,
    /// A reactor thread panicked; the connection it was serving was closed.
    ReactorPanic,
    /// `accept()` failed for lack of file descriptors; accepting resumes when some free up.
    TooManyOpenFiles,
    /// A socket handed over from Node could not be taken (not a TCP socket, fd gone, …).
    Attach,
    /// Any other I/O failure, with the OS's message.
    Io,
    /// The scale-out broker (Redis) is not connected: a publish failed fast, or the
    /// connection went down before Redis answered (the down event says why and since when).
    BrokerDown,
    /// Redis answered a command with an error (an ACL refusal, …).
    BrokerCommand,
    /// More publishes are waiting for Redis than the broker's queue bound allows.
    BrokerOverloaded,
    /// A message from Redis was not delivered: bigger than the payload limit, or on a
    /// channel that is not valid UTF-8 under the prefix.
    BrokerMessage,
}

impl Code {
    /// The string JS sees as `error.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::AddrInUse => "ERR_SUBWIRE_ADDR_IN_USE",
            Code::AddrNotAvailable => "ERR_SUBWIRE_ADDR_NOT_AVAILABLE",
            Code::PermissionDenied => "ERR_SUBWIRE_PERMISSION_DENIED",
            Code::InvalidOption => "ERR_SUBWIRE_INVALID_OPTION",
            Code::Disposed => "ERR_SUBWIRE_DISPOSED",
            Code::ReactorPanic => "ERR_SUBWIRE_REACTOR_PANIC",
            Code::TooManyOpenFiles => "ERR_SUBWIRE_EMFILE",
            Code::Attach => "ERR_SUBWIRE_ATTACH",
            Code::Io => "ERR_SUBWIRE_IO",
            Code::BrokerDown => "ERR_SUBWIRE_BROKER_DOWN",
            Code::BrokerCommand => "ERR_SUBWIRE_BROKER_COMMAND",
            Code::BrokerOverloaded => "ERR_SUBWIRE_BROKER_OVERLOADED",
            Code::BrokerMessage => "ERR_SUBWIRE_BROKER_MESSAGE",
        }
    }
}

/// An error with a code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubwireError {
    pub code: Code,
    pub message: String,
}

impl SubwireError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        SubwireError {
            code,
            message: message.into(),
        }
    }

    /// Maps a bind/listen failure to a code and says what to do about it.
    pub(crate) fn from_bind(err: &io::Error, addr: &str) -> Self {
        match err.kind() {
            io::ErrorKind::AddrInUse => Self::new(
                Code::AddrInUse,
                format!("address {addr} is already in use: stop the other server or pick another port (port 0 picks a free one)"),
            ),
            io::ErrorKind::AddrNotAvailable => Self::new(
                Code::AddrNotAvailable,
                format!("address {addr} is not available on this machine: check the host option"),
            ),
            io::ErrorKind::PermissionDenied => Self::new(
                Code::PermissionDenied,
                format!("no permission to bind {addr}: ports below 1024 need privileges"),
            ),
            _ => Self::new(Code::Io, format!("cannot listen on {addr}: {err}")),
        }
    }
}

impl fmt::Display for SubwireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for SubwireError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_errors_map_to_codes() {
        let e = SubwireError::from_bind(&io::Error::from(io::ErrorKind::AddrInUse), "127.0.0.1:80");
        assert_eq!(e.code, Code::AddrInUse);
        assert!(e
            .to_string()
            .starts_with("ERR_SUBWIRE_ADDR_IN_USE: address 127.0.0.1:80"));
        let e = SubwireError::from_bind(&io::Error::other("boom"), "x");
        assert_eq!(e.code, Code::Io);
    }
}
