//! A successful upgrade allocates nothing: parse, the 101, header lookups, the subprotocol
//! callback, and refusals too. Counted by a global allocator, only on the measuring thread and
//! only inside the measured region (the test harness allocates on its own, and tests run in
//! parallel: the count is per thread too, so one test never sees another's allocations).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use subwire::ws::upgrade::{parse, write_accept, Offered, Policy, Reject};

struct Counting;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    if MEASURING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the GlobalAlloc
// contract; the counting beside it touches only const thread-local `Cell`s (no lazy
// initialisation, no destructor, so it cannot itself allocate or recurse).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same layout the caller gave us, per the GlobalAlloc contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
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

/// Allocations made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    MEASURING.with(|m| m.set(true));
    f();
    MEASURING.with(|m| m.set(false));
    ALLOCATIONS.with(Cell::get) - before
}

fn select(offered: &Offered<'_>) -> Option<&'static str> {
    ["graphql-transport-ws", "graphql-ws"]
        .into_iter()
        .find(|p| offered.contains(p))
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn request(path: &str, extra: &str) -> Vec<u8> {
    let mut buf = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost:4000\r\nConnection: keep-alive, Upgrade\r\n\
         User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0.0.0\r\nUpgrade: websocket\r\n\
         Origin: https://app.example\r\nSec-WebSocket-Version: 13\r\n\
         Accept-Encoding: gzip, deflate, br\r\nSec-WebSocket-Key: {KEY}\r\n{extra}\r\n"
    )
    .into_bytes();
    // The client's first frame, pipelined after the head.
    buf.extend_from_slice(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    buf
}

/// What Chrome sends (12 headers after the request line), with an Origin and a protocol offer.
const CHROME: &[u8] = b"GET /graphql HTTP/1.1\r\n\
Host: localhost:4000\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: https://app.example\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Protocol: graphql-transport-ws\r\n\
\r\n";

#[test]
fn ten_thousand_chrome_upgrades_allocate_nothing() {
    const N: usize = 10_000;
    let origins = vec!["https://app.example".to_string()];
    let policy = Policy {
        path: "/graphql",
        max_header_bytes: 8 << 10,
        allowed_origins: Some(&origins),
        select_protocol: select,
    };
    // The counter works: one Vec inside the region is one allocation, and it is this
    // thread's alone.
    assert_eq!(allocations_in(|| drop(black_box(vec![1u8; 32]))), 1);

    let (mut response_bytes, mut header_bytes, mut chosen) = (0, 0, 0);
    let n = allocations_in(|| {
        let mut out = [0u8; 256];
        for _ in 0..N {
            let up = parse(black_box(CHROME), &policy).unwrap().unwrap();
            response_bytes += write_accept(&up, &mut out);
            header_bytes += up.header("User-Agent").map_or(0, <[u8]>::len);
            header_bytes += up.header("origin").map_or(0, <[u8]>::len);
            chosen += usize::from(up.protocol == Some("graphql-transport-ws"));
        }
    });
    assert_eq!(n, 0, "allocations over {N} upgrades");
    // The work really happened.
    assert_eq!(chosen, N);
    assert_eq!(response_bytes, N * (129 + 46));
    assert_eq!(header_bytes, N * (101 + 19));
}

#[test]
fn mixed_upgrades_partials_and_refusals_allocate_nothing() {
    const N: usize = 10_000;
    let origins = vec![
        "https://other.example".to_string(),
        "HTTPS://APP.EXAMPLE".to_string(),
    ];
    let policy = Policy {
        path: "/graphql",
        max_header_bytes: 8 << 10,
        allowed_origins: Some(&origins),
        select_protocol: select,
    };
    let requests = [
        request(
            "/graphql",
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n",
        ),
        request(
            "/graphql?token=abc",
            "Sec-WebSocket-Protocol: foo, graphql-ws\r\nCookie: a=b\r\n",
        ),
        request("/graphql", ""),
    ];
    let refused = [
        request("/elsewhere", ""),
        request("/graphql", "Sec-WebSocket-Key: again\r\n"),
        b"HELLO THERE\r\n\r\n".to_vec(),
    ];

    // The counter works: one Vec inside the region is one allocation.
    assert_eq!(allocations_in(|| drop(black_box(vec![1u8; 32]))), 1);

    let mut accepted = 0;
    let mut response_bytes = 0;
    let mut header_bytes = 0;
    let n = allocations_in(|| {
        let mut out = [0u8; 256];
        for i in 0..N {
            let buf = &requests[i % requests.len()];
            // Also the reads before the head is complete.
            assert!(matches!(parse(&buf[..buf.len() / 2], &policy), Ok(None)));
            let up = parse(black_box(buf), &policy).unwrap().unwrap();
            response_bytes += write_accept(&up, &mut out);
            header_bytes += up.header("user-agent").map_or(0, <[u8]>::len);
            header_bytes += up.header("ORIGIN").map_or(0, <[u8]>::len);
            header_bytes += up.header("x-absent").map_or(0, <[u8]>::len);
            accepted += usize::from(up.protocol.is_some());
            let bad = &refused[i % refused.len()];
            let r = parse(black_box(bad), &policy).unwrap_err();
            response_bytes += black_box(r.response()).len();
        }
    });
    assert_eq!(n, 0, "allocations over {N} upgrades");
    // The work really happened.
    assert_eq!(accepted, (0..N).filter(|i| i % 3 != 2).count());
    assert!(response_bytes > N * 129 && header_bytes > N * 40);
    let _ = Reject::ServiceUnavailable.response();
}
