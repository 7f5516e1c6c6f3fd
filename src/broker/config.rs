//! Broker options and their validation: the Redis URL (checked synchronously, so a malformed
//! one is a coded error at start, never a retry loop), the channel prefix, limits and timings.
//! Called by [`super::Broker::start`]; `driver.rs` reads the validated result.

use std::time::Duration;

use redis::{IntoConnectionInfo, ProtocolVersion};

use crate::error::{Code, SubwireError};

/// What the caller configures. `url` and `prefix` come from the app's `broker` option; the
/// rest have defaults that suit a server.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS).
    pub url: String,
    /// Prepended to every topic to make the Redis channel (`prefix + topic`).
    pub prefix: String,
    /// PEM root certificate(s) to trust for `rediss://` instead of the system's roots.
    pub tls_ca_pem: Option<Vec<u8>>,
    /// Messages from Redis bigger than this are counted and reported, not delivered.
    pub max_payload: usize,
    /// Bound on publishes accepted but not yet answered by Redis, in payload bytes; past it a
    /// publish fails with `ERR_SUBWIRE_BROKER_OVERLOADED`.
    pub max_queued_bytes: usize,
    /// Each connection attempt gives up after this long.
    pub connect_timeout: Duration,
    /// A command (or pipelined batch) unanswered after this long means the connection is dead.
    pub command_timeout: Duration,
    /// With no traffic for this long, a PING checks that the connection is alive.
    pub idle_ping: Duration,
    /// Reconnect backoff: first delay and cap.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// An own publish whose echo has not come back after this long is forgotten.
    pub echo_ttl: Duration,
}

impl BrokerConfig {
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> Self {
        BrokerConfig {
            url: url.into(),
            prefix: prefix.into(),
            tls_ca_pem: None,
            max_payload: 64 << 20,
            max_queued_bytes: 32 << 20,
            connect_timeout: Duration::from_secs(3),
            command_timeout: Duration::from_secs(5),
            idle_ping: Duration::from_secs(10),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            echo_ttl: Duration::from_secs(30),
        }
    }

    /// The URL with any password replaced, for messages and logs.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }
}

/// Replaces the user-info part of a URL (`//user:secret@`) with `//***@`.
pub(super) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..auth_end].rfind('@') {
        Some(at) => format!("{}://***@{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_string(),
    }
}

fn invalid(msg: String) -> SubwireError {
    SubwireError::new(Code::InvalidOption, msg)
}

/// Checks the options and builds the redis-rs client (no I/O). The connection always speaks
/// RESP3: it carries SUBSCRIBE, the messages and PUBLISH on one ordered stream.
pub(super) fn client(cfg: &BrokerConfig) -> Result<redis::Client, SubwireError> {
    let shown = cfg.redacted_url();
    let scheme = cfg.url.split("://").next().unwrap_or("");
    if !cfg.url.contains("://") || !matches!(scheme, "redis" | "rediss") {
        return Err(invalid(format!(
            "broker url {shown:?} must start with redis:// or rediss:// (TLS)"
        )));
    }
    if cfg.max_payload == 0 || cfg.max_queued_bytes == 0 {
        return Err(invalid("broker limits must be greater than 0".into()));
    }
    let timings = [
        cfg.connect_timeout,
        cfg.command_timeout,
        cfg.idle_ping,
        cfg.backoff_min,
        cfg.backoff_max,
        cfg.echo_ttl,
    ];
    if timings.iter().any(|d| d.is_zero()) {
        return Err(invalid(
            "broker timeouts and delays must be greater than 0".into(),
        ));
    }
    if cfg.tls_ca_pem.is_some() && scheme != "rediss" {
        return Err(invalid(format!(
            "broker url {shown:?}: a TLS root certificate needs a rediss:// url"
        )));
    }
    let info = cfg
        .url
        .as_str()
        .into_connection_info()
        .map_err(|e| invalid(format!("broker url {shown:?} does not parse: {e}")))?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    let info = info.set_redis_settings(settings);
    let built = match &cfg.tls_ca_pem {
        Some(pem) => redis::Client::build_with_tls(
            info,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.clone()),
            },
        ),
        None => redis::Client::open(info),
    };
    built.map_err(|e| invalid(format!("broker url {shown:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_synchronously_with_codes() {
        for bad in [
            "",
            "127.0.0.1:6379",
            "http://127.0.0.1:6379",
            "redis://",
            "redis://:6379",
            "unix:///tmp/redis.sock",
            "redis://127.0.0.1:notaport",
        ] {
            let e = client(&BrokerConfig::new(bad, "p:")).err();
            let e = e.unwrap_or_else(|| panic!("{bad:?} should be rejected"));
            assert_eq!(e.code, Code::InvalidOption, "{bad:?}");
        }
        for good in [
            "redis://127.0.0.1:6379",
            "redis://localhost",
            "redis://:secret@127.0.0.1:6379/2",
            "redis://user:secret@127.0.0.1:6379",
            "rediss://127.0.0.1:6380",
        ] {
            assert!(client(&BrokerConfig::new(good, "")).is_ok(), "{good:?}");
        }
        let mut c = BrokerConfig::new("redis://127.0.0.1", "");
        c.tls_ca_pem = Some(b"pem".to_vec());
        assert_eq!(client(&c).err().map(|e| e.code), Some(Code::InvalidOption));
        let mut c = BrokerConfig::new("redis://127.0.0.1", "");
        c.idle_ping = Duration::ZERO;
        assert_eq!(client(&c).err().map(|e| e.code), Some(Code::InvalidOption));
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("redis://user:hunter2@10.0.0.1:6379/0"),
            "redis://***@10.0.0.1:6379/0"
        );
        assert_eq!(redact("redis://127.0.0.1"), "redis://127.0.0.1");
        let e = client(&BrokerConfig::new("redis://:hunter2@host:bad", "")).unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
    }
}
