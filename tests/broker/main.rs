//! Integration tests of `subwire::broker` against a real redis-server (one per test, on a free
//! loopback port): delivery and echo suppression across two brokers and a foreign publisher,
//! subscription refcounts and races, faults (Redis down, killed, restarted), TLS and passwords,
//! odd messages, and an opt-in throughput measurement (`--ignored`).

mod delivery;
mod faults;
mod raw;
mod subscriptions;
mod support;
mod throughput;
mod tls;
