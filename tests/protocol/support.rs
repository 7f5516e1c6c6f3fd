//! What every protocol test uses: an allocation counter, a recording sink, instants as
//! offsets from one `t0`, and a `Client` that drives one session.

pub use bytes::Bytes;
pub use std::time::{Duration, Instant};
pub use subwire::protocol::{
    self, AppEvent, Event, Outgoing, Output, Session, Settings, Sink, GRAPHQL_TRANSPORT_WS,
    GRAPHQL_WS,
};
pub use subwire::ws::upgrade::{self, Policy};
pub use subwire::ws::CloseCode;
/// Close codes by name, as the tests read them (`code::FORBIDDEN`).
pub use subwire::ws::CloseCode as code;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

// ---- allocation counting (per thread, so parallel tests do not disturb each other) ----

pub struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` with the caller's own arguments, so `System`'s
// guarantees are this allocator's; counting touches only a const thread-local `Cell`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: the layout the caller gave, per the GlobalAlloc contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: `ptr` came from `System` through this allocator with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

pub fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    (ALLOCS.with(Cell::get) - before, r)
}

/// A sink that looks at everything and keeps nothing (what a reactor does, minus the copy).
#[derive(Default)]
pub struct Counter {
    pub sent: usize,
    pub bytes: usize,
    pub events: usize,
    pub closes: usize,
}

impl Sink for Counter {
    fn send(&mut self, msg: Outgoing<'_>) {
        self.sent += 1;
        self.bytes += msg.shared().map_or(0, |b| b.len()) + msg.as_static().map_or(0, str::len);
    }
    fn app(&mut self, event: AppEvent<'_>) {
        self.events += 1;
        if let AppEvent::Subscribe { id, payload, .. } = event {
            self.bytes += id.len() + payload.get().len();
        }
    }
    fn close(&mut self, _: CloseCode, _: &str) {
        self.closes += 1;
    }
}

// ---- driving helpers ----

pub fn t0() -> Instant {
    thread_local!(static T0: Instant = Instant::now());
    T0.with(|t| *t)
}

pub fn ms(n: u64) -> Instant {
    t0() + Duration::from_millis(n)
}

/// One connection under test: its session and what it produced since the last look.
pub struct Client {
    pub s: Session,
    pub out: Vec<Output>,
}

impl Client {
    pub fn open(protocol: Option<&str>, settings: Settings) -> Client {
        let mut out = Vec::new();
        let s = Session::open(protocol, &settings, t0(), &mut out);
        Client { s, out }
    }
    pub fn transport() -> Client {
        Client::open(Some(GRAPHQL_TRANSPORT_WS), Settings::default())
    }
    pub fn legacy() -> Client {
        Client::open(Some(GRAPHQL_WS), Settings::default())
    }
    /// A graphql-transport-ws client past `connection_init` and the app's ack.
    pub fn acked() -> Client {
        Client::acked_with(Settings::default())
    }
    pub fn acked_with(settings: Settings) -> Client {
        let mut c = Client::open(Some(GRAPHQL_TRANSPORT_WS), settings);
        c.text(r#"{"type":"connection_init"}"#);
        c.s.accept_init(None, ms(1), &mut c.out);
        assert_eq!(c.take(), [send(r#"{"type":"connection_ack"}"#)]);
        c
    }
    pub fn legacy_acked() -> Client {
        let mut c = Client::legacy();
        c.text(r#"{"type":"connection_init"}"#);
        c.s.accept_init(None, ms(0), &mut c.out);
        c.take();
        c
    }
    pub fn text(&mut self, text: &str) -> Vec<Output> {
        self.s.on_text(text, ms(1), &mut self.out);
        self.take()
    }
    /// What the session produced since the last look, with each `Subscribe` event's serial
    /// set to 0: serials come from one process-wide counter that tests running at the same
    /// time also draw from (the tests that check serials ask `Session::serial`).
    pub fn take(&mut self) -> Vec<Output> {
        let mut out = std::mem::take(&mut self.out);
        for o in &mut out {
            if let Output::App(Event::Subscribe { serial, .. }) = o {
                *serial = 0;
            }
        }
        out
    }
    pub fn next(&mut self, id: &str, payload: &'static str) -> Vec<Output> {
        let sent = self.s.next(
            id,
            0,
            &Bytes::from_static(payload.as_bytes()),
            &mut self.out,
        );
        assert_eq!(sent, !self.out.is_empty());
        self.take()
    }
}

pub fn send(s: &str) -> Output {
    Output::Send(s.into())
}

pub fn app(e: Event) -> Output {
    Output::App(e)
}

/// The close a session makes, and the `Closed` event that goes with it.
pub fn closed(code: CloseCode, reason: &str, acknowledged: bool) -> [Output; 2] {
    [
        Output::Close {
            code,
            reason: reason.into(),
        },
        app(Event::Closed {
            code,
            reason: reason.into(),
            acknowledged,
        }),
    ]
}

pub fn subscribe_event(id: &str, payload: &str) -> Output {
    app(Event::Subscribe {
        id: id.into(),
        serial: 0,
        payload: payload.into(),
    })
}
