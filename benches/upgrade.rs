//! Upgrade handshake throughput and allocations, for the benchmark report.
//!
//! `cargo bench --no-default-features --bench upgrade`. Parses a Chrome-like upgrade request
//! (14 headers, an Origin on the allow-list, a subprotocol offer, the client's first frame
//! pipelined behind it) and writes the 101, over and over on one thread for about a second,
//! and counts heap allocations with a wrapping global allocator. Prints
//! `allocations per upgrade: X` and `upgrades parsed per second: Y`, then the same with the two
//! header lookups the reactor does for onConnect/context.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use subwire::ws::upgrade::{parse, write_accept, Offered, Policy};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds the GlobalAlloc
// contract; the counting beside it only bumps an atomic (it cannot allocate or recurse).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same layout the caller gave us, per the GlobalAlloc contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` through this allocator with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const CHROME: &[u8] = b"GET /graphql HTTP/1.1\r\n\
Host: localhost:4000\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://localhost:3000\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: _ga=GA1.1.1234567890.1700000000; session=0f9a8b7c6d5e4f3a2b1c\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
Sec-WebSocket-Protocol: graphql-transport-ws\r\n\
\r\n\
\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";

fn select(offered: &Offered<'_>) -> Option<&'static str> {
    ["graphql-transport-ws", "graphql-ws"]
        .into_iter()
        .find(|p| offered.contains(p))
}

/// One upgrade: parse and answer.
#[inline(never)]
fn upgrade(buf: &[u8], policy: &Policy<'_>, out: &mut [u8; 256]) -> usize {
    let up = parse(buf, policy).expect("valid").expect("complete");
    write_accept(&up, out) + up.header_len
}

/// One upgrade as the reactor does it in GraphQL mode: also copy out headers for the app.
#[inline(never)]
fn upgrade_with_headers(buf: &[u8], policy: &Policy<'_>, out: &mut [u8; 256]) -> usize {
    let up = parse(buf, policy).expect("valid").expect("complete");
    let n = write_accept(&up, out);
    n + up.header("user-agent").map_or(0, <[u8]>::len) + up.header("cookie").map_or(0, <[u8]>::len)
}

/// Runs `f` over CHROME for about `secs`: (upgrades, allocations, upgrades per second).
fn measure(
    f: fn(&[u8], &Policy<'_>, &mut [u8; 256]) -> usize,
    policy: &Policy<'_>,
    secs: f64,
) -> (u64, usize, f64) {
    let mut out = [0u8; 256];
    let mut sink = 0usize;
    // Warm up, then check the answer once.
    for _ in 0..10_000 {
        sink += f(black_box(CHROME), policy, &mut out);
    }
    assert!(f(CHROME, policy, &mut out) > 200);
    assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(out
        .windows(44)
        .any(|w| w == b"Sec-WebSocket-Protocol: graphql-transport-ws"));

    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut count = 0u64;
    let start = Instant::now();
    let mut elapsed = Duration::ZERO;
    while elapsed.as_secs_f64() < secs {
        for _ in 0..10_000 {
            sink += f(black_box(CHROME), policy, &mut out);
        }
        count += 10_000;
        elapsed = start.elapsed();
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    black_box(sink);
    (count, allocations, count as f64 / elapsed.as_secs_f64())
}

fn main() {
    let origins = vec!["http://localhost:3000".to_string()];
    let policy = Policy {
        path: "/graphql",
        max_header_bytes: 8 << 10,
        allowed_origins: Some(&origins),
        select_protocol: select,
    };
    println!(
        "request: {} header bytes, 14 headers, subprotocol graphql-transport-ws, Origin checked",
        CHROME.len() - 11
    );

    let (count, allocations, per_sec) = measure(upgrade, &policy, 1.0);
    println!("parse + write_accept:");
    println!(
        "allocations per upgrade: {}",
        allocations as f64 / count as f64
    );
    println!("upgrades parsed per second: {per_sec:.0}");
    println!("ns per upgrade: {:.0}", 1e9 / per_sec);
    println!("({count} upgrades, {allocations} allocations, one thread)");

    let (count, allocations, per_sec) = measure(upgrade_with_headers, &policy, 0.5);
    println!("parse + write_accept + header(user-agent) + header(cookie):");
    println!(
        "allocations per upgrade: {}",
        allocations as f64 / count as f64
    );
    println!("upgrades parsed per second: {per_sec:.0}");
    println!("({count} upgrades, {allocations} allocations, one thread)");
}
