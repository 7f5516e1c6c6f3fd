//! `rediss://` against a real redis-server with TLS (a throwaway CA and server certificate
//! made with openssl in the test's temp dir), and a password in the URL.

use std::process::Command;
use std::time::Duration;

use subwire::broker::{BrokerConfig, BrokerEvent, BrokerState};
use subwire::error::Code;

use crate::support::*;

const T: Duration = Duration::from_secs(20);

fn openssl(dir: &std::path::Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A CA and a server certificate for 127.0.0.1 signed by it. None when openssl is missing.
fn certificates(dir: &std::path::Path) -> Option<()> {
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .ok()?;
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=subwire test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    ];
    for s in steps {
        if !openssl(dir, s) {
            return None;
        }
    }
    Some(())
}

#[test]
fn rediss_with_a_password_delivers_and_a_wrong_one_is_reported() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let certs = TempDir::new("tls");
    if certificates(&certs.0).is_none() {
        eprintln!("SKIPPED: openssl could not make test certificates");
        return;
    }
    let path = |f: &str| certs.0.join(f).to_str().unwrap().to_string();
    let port = free_port();
    let redis = RedisServer::start_with(
        port,
        &[
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &path("server.pem"),
            "--tls-key-file",
            &path("server.key"),
            "--tls-ca-cert-file",
            &path("ca.pem"),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            "s3cret",
        ],
    );
    let ca = std::fs::read(certs.0.join("ca.pem")).unwrap();
    let cfg = |url: String| {
        let mut c = BrokerConfig::new(url, "tls:");
        c.tls_ca_pem = Some(ca.clone());
        c
    };
    let url = format!("rediss://:s3cret@127.0.0.1:{port}");
    let (sa, sb) = (Sink::new(), Sink::new());
    let a = start_with(cfg(url.clone()), &sa);
    let b = start_with(cfg(url), &sb);
    a.subscribe("t");
    settle(&a);
    publish(&b, "t", "{\"secure\":true}").unwrap();
    sa.wait("the message over TLS", T, |s| {
        s.payloads("t") == ["{\"secure\":true}"]
    });
    assert_eq!(a.stats().state, BrokerState::Up);

    // A wrong password: reported as down, with the reason, and the password is not shown.
    let sc = Sink::new();
    let c = start_with(cfg(format!("rediss://:wrong-pw@127.0.0.1:{port}")), &sc);
    sc.wait("the down event", T, |s| s.downs() == 1);
    match &sc.seen().events[0] {
        BrokerEvent::Down { error, .. } => {
            assert_eq!(error.code, Code::BrokerDown);
            assert!(!error.message.contains("wrong-pw"), "{}", error.message);
            assert!(
                error.message.to_lowercase().contains("pass") || error.message.contains("AUTH"),
                "{}",
                error.message
            );
        }
        other => panic!("{other:?}"),
    }
    drop(c);

    // A certificate not signed by the trusted CA (the system roots): refused, reported.
    let sd = Sink::new();
    let d = start(&format!("rediss://:s3cret@127.0.0.1:{port}"), "", &sd);
    sd.wait("the down event", T, |s| s.downs() == 1);
    assert_eq!(d.stats().state, BrokerState::Down);
    drop(redis);
}

#[test]
fn a_password_in_a_plain_url() {
    let _g = serial();
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start_with(free_port(), &["--requirepass", "pw"]);
    let sa = Sink::new();
    let a = start(&format!("redis://:pw@127.0.0.1:{}/0", redis.port), "", &sa);
    a.subscribe("t");
    settle(&a);
    let mut r = redis.client();
    r.cmd(&[b"AUTH", b"pw"]);
    r.cmd(&[b"PUBLISH", b"t", b"{\"ok\":1}"]);
    sa.wait("the message", T, |s| s.messages.len() == 1);
}
