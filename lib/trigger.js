'use strict';
/**
 * What a shared trigger is, kept apart from the registry that runs them
 * (lib/shared-triggers.js; lib/projected-triggers.js projects into the same triggers): the
 * `Trigger` (its key, subscribers, source and, when projected, its plan), the
 * `SharedSubscriber` (one subscription attached to it, which is also its connection's
 * operation record), the `TriggerContext` its shared hooks get, and `stableJson`, which
 * makes variables part of a trigger's key.
 * @module subwire/lib/trigger
 */

const { JoinedOp } = require('./connection.js');

/** @typedef {import('./shared-triggers.js').Registry} Registry */

/** @param {unknown} v @returns {string} JSON with object keys sorted, so `{a,b}` and `{b,a}` share. */
function stableJson(v) {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(/** @type {any} */ (v)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * One subscriber of a trigger. It is also the connection's record of the operation (a
 * lib/connection.js `Op`, replacing the one useServer started with) and its own iterator,
 * the object in `ctx.subscriptions[id]`, so the code that ends unshared operations
 * (`return()` on client complete and on close) ends this one too. Kept small: a server
 * holds one per shared subscription (the subscribe payload only when `onComplete` needs it).
 */
class SharedSubscriber extends JoinedOp {
  /**
   * @param {Trigger} trigger @param {import('./connection.js').Conn} c @param {string} id
   * @param {number} serial the operation's (lib/outbox.js) @param {any} payload
   */
  constructor(trigger, c, id, serial, payload) {
    super();
    this.trigger = trigger;
    this.c = c;
    this.id = id;
    this.serial = serial;
    this.payload = payload;
    /** Projected: the subscription's contextValue (a fallback execution may need it). @type {unknown} */
    this.context = undefined;
    /** @type {Promise<void> | null} */
    this.left = null;
  }
  /** Leaves the trigger (the client completed, or its connection closed). */
  leave() {
    return this.trigger.registry.leave(this, true);
  }
}

/**
 * The context shared hooks (`context` aside) receive instead of a connection's.
 * @typedef {{ shared: true, shareKey: string, triggerId: number, readonly subscribers: number }} TriggerContext
 */

class Trigger {
  /** @param {Registry} registry @param {number} id @param {string} key @param {string} shareKey @param {any} execArgs */
  constructor(registry, id, key, shareKey, execArgs) {
    this.registry = registry;
    this.id = id;
    this.key = key;
    this.execArgs = execArgs;
    /** @type {Set<SharedSubscriber>} */
    this.subscribers = new Set();
    /** @type {any} */
    this.source = null;
    this.ended = false;
    /** Projected triggers: the plan and its checker. @type {import('./projection.js').Projection | null} */
    this.projection = null;
    /** Projected triggers: the topic unsubscribe functions. @type {(() => void)[] | null} */
    this.projected = null;
    /** Projected triggers: events waiting for one that graphql-js is executing. @type {unknown[] | null} */
    this.waiting = null;
    /** Projected triggers, with a broker: their route (lib/broker.js). @type {import('./broker.js').Route | null} */
    this.route = null;
    const self = this;
    /** @type {TriggerContext} */
    this.ctx = {
      shared: true,
      shareKey,
      triggerId: id,
      get subscribers() {
        return self.subscribers.size;
      },
    };
  }
}

module.exports = { Trigger, SharedSubscriber, stableJson };
