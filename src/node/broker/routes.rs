//! Projected triggers' broker routes (lib/broker.js → `NativeServer.brokerRoute`,
//! `brokerUnroute`, `brokerAck`): a projected trigger takes its topics' messages from the
//! broker thread, which projects them in Rust (src/relay.rs); and a disposed server's routes
//! go with it (`server_gone`, from node/mod.rs).

// napi-rs exports these methods to JavaScript; rustc cannot see that.
#![allow(unreachable_pub)]
#![cfg_attr(test, allow(dead_code))]

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::{slot, SLOT};
use crate::node::{exact, invalid, lock, NativeServer};
use crate::relay::Route;

#[napi]
impl NativeServer {
    /// Projected `trigger` (its plan given by `triggerPlan`) takes messages from the broker on
    /// `topics` as route `route` (lib/broker.js's id). The hub calls queued so far go first,
    /// so the trigger's subscribers are in the hub before any broker update.
    #[napi]
    pub fn broker_route(&self, trigger: f64, route: f64, topics: Vec<String>) -> Result<bool> {
        let s = slot()?;
        let trigger = exact(trigger, "a trigger id")?;
        let route = exact(route, "a route id")?;
        let Some(plan) = lock(&self.plans).get(&trigger).cloned() else {
            return Err(invalid(format!("trigger {trigger} has no projection plan")));
        };
        self.hub_flush()?;
        let hub = self.running(|srv| srv.hub_handle())?;
        let topics: Vec<Box<str>> = topics.into_iter().map(Into::into).collect();
        let r = Route::new(route, self.id, trigger, plan, hub, topics.clone());
        if !s.relay.add_route(r) {
            return Ok(false);
        }
        for t in &topics {
            s.broker.subscribe(t);
        }
        Ok(true)
    }

    /// Route `route` ends (its trigger ended).
    #[napi]
    pub fn broker_unroute(&self, route: f64) -> Result<()> {
        let s = slot()?;
        for t in s
            .relay
            .remove_route(exact(route, "a route id")?)
            .unwrap_or_default()
        {
            s.broker.unsubscribe(&t);
        }
        Ok(())
    }

    /// JS has executed route `route`'s messages up to `seq`: their results (queued hub calls)
    /// go to the hub now, then the relay may project this route's messages again.
    #[napi]
    pub fn broker_ack(&self, route: f64, seq: f64) -> Result<()> {
        let s = slot()?;
        self.hub_flush()?;
        s.relay.ack(
            exact(route, "a route id")?,
            exact(seq, "a sequence number")?,
        );
        Ok(())
    }
}

/// A server is being disposed: its routes go, and their subscriptions.
pub(in crate::node) fn server_gone(server: u64) {
    if let Some(s) = SLOT.get() {
        for t in s.relay.remove_server(server) {
            s.broker.unsubscribe(&t);
        }
    }
}
