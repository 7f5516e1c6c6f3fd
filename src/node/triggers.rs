//! The trigger hub's napi methods: shared triggers (lib/shared-triggers.js) and projected
//! ones (lib/projection.js). A trigger id is the app's: any exact JS integer, never reused
//! while the server runs.

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::time::Instant;

use super::{exact, invalid, lock, NativeServer};
use crate::hub::HubEvent;
use crate::metrics::BridgeMetrics;
use crate::project::{project, Plan};
use crate::reactor::conn::ConnId;

#[napi]
impl NativeServer {
    /// Operation `id` of `conn` joins `trigger`; `legacy`: the connection speaks
    /// subscriptions-transport-ws; `serial`: the operation's, from its `subscribe` event
    /// (absent or 0: whichever holds `id` when an event reaches it).
    #[napi]
    pub fn trigger_add(
        &self,
        trigger: f64,
        conn: f64,
        id: String,
        legacy: bool,
        serial: Option<u32>,
    ) -> Result<bool> {
        let ev = HubEvent::Add {
            trigger: exact(trigger, "a trigger id")?,
            conn: ConnId(exact(conn, "a connection id")?),
            id: id.into(),
            legacy,
            serial: serial.unwrap_or(0),
        };
        self.queue_hub(ev)
    }

    /// Operation `id` of `conn` leaves `trigger`.
    #[napi]
    pub fn trigger_remove(&self, trigger: f64, conn: f64, id: String) -> Result<bool> {
        let ev = HubEvent::Remove {
            trigger: exact(trigger, "a trigger id")?,
            conn: ConnId(exact(conn, "a connection id")?),
            id: id.into(),
        };
        self.queue_hub(ev)
    }

    /// Every operation of `conn` leaves its triggers.
    #[napi]
    pub fn trigger_remove_client(&self, conn: f64) -> Result<bool> {
        let conn = ConnId(exact(conn, "a connection id")?);
        self.queue_hub(HubEvent::RemoveClient { conn })
    }

    /// One event of `trigger` (the JSON of an execution result) to all its subscribers;
    /// the bytes are copied once here and shared by every frame.
    #[napi]
    pub fn trigger_next(&self, trigger: f64, payload: &[u8]) -> Result<bool> {
        let ev = HubEvent::Update {
            trigger: exact(trigger, "a trigger id")?,
            payload: Bytes::copy_from_slice(payload),
            at: Instant::now(),
        };
        self.queue_hub(ev)
    }

    /// Gives `trigger` a projection plan (lib/projection.js compiled it): its events can
    /// then be projected from published JSON by [`NativeServer::trigger_project`].
    #[napi]
    pub fn trigger_plan(&self, trigger: f64, plan: String) -> Result<()> {
        let trigger = exact(trigger, "a trigger id")?;
        let plan = Plan::parse(&plan).map_err(invalid)?;
        lock(&self.plans).insert(trigger, plan);
        Ok(())
    }

    /// Forgets `trigger`'s plan.
    #[napi]
    pub fn trigger_plan_remove(&self, trigger: f64) -> Result<()> {
        lock(&self.plans).remove(&exact(trigger, "a trigger id")?);
        Ok(())
    }

    /// Projects a published payload (its JSON) through `trigger`'s plan and sends the
    /// result to every subscriber, no JS execution. False when the payload needs graphql-js
    /// (a null in a non-null field, a value to coerce…) or there is no plan: the caller
    /// executes that event itself.
    #[napi]
    pub fn trigger_project(&self, trigger: f64, payload: String) -> Result<bool> {
        let at = Instant::now();
        let trigger = exact(trigger, "a trigger id")?;
        let result = match lock(&self.plans).get(&trigger) {
            Some(plan) => project(plan, &payload),
            None => None,
        };
        let Some(bytes) = result else {
            return Ok(false);
        };
        let ev = HubEvent::Update {
            trigger,
            payload: Bytes::from(bytes),
            at,
        };
        self.queue_hub(ev)
    }

    /// `trigger` failed: `error` (a JSON array of GraphQL errors) to all its subscribers.
    #[napi]
    pub fn trigger_error(&self, trigger: f64, errors: &[u8]) -> Result<bool> {
        let ev = HubEvent::Error {
            trigger: exact(trigger, "a trigger id")?,
            errors: Bytes::copy_from_slice(errors),
        };
        self.queue_hub(ev)
    }

    /// `trigger`'s source ended: `complete` to all its subscribers.
    #[napi]
    pub fn trigger_complete(&self, trigger: f64) -> Result<bool> {
        let trigger = exact(trigger, "a trigger id")?;
        self.queue_hub(HubEvent::Done { trigger })
    }

    /// Sends the hub events queued in this JS turn as one batch: the hub handles them in
    /// one round, so a burst of publishes reaches each reactor together and its frames to
    /// one connection leave in one writev. index.js calls it on `process.nextTick`.
    #[napi]
    pub fn hub_flush(&self) -> Result<bool> {
        let batch = std::mem::take(&mut *lock(&self.hub_pending));
        if batch.is_empty() {
            return Ok(true);
        }
        BridgeMetrics::observe(&self.bridge.hub_events, batch.len());
        self.running(|s| s.hub(HubEvent::Batch(batch)))
    }

    /// Queues a hub event for [`NativeServer::hub_flush`] (sent at once past 1,024).
    fn queue_hub(&self, ev: HubEvent) -> Result<bool> {
        let full = {
            let mut pending = lock(&self.hub_pending);
            pending.push(ev);
            pending.len() >= 1024
        };
        if full {
            return self.hub_flush();
        }
        self.running(|_| true)
    }
}
