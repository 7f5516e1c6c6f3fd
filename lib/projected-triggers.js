'use strict';
/**
 * Projected triggers: subscriptions whose results Rust writes from the published JSON
 * (src/project.rs), and the graphql-js execution of the events it cannot write exactly.
 *
 * lib/operation.js hands a subscription here through
 * `Registry.joinProjected` when lib/projection.js compiled a plan for it and its source is
 * a subwire topic iterator. Subscriptions with the same schema, topics, plan, document
 * text, operation name and variables join one trigger (lib/shared-triggers.js keeps it,
 * its subscribers and the hub side); it listens to its topics once. Per published event:
 * - the plan's checker (lib/projection-check.js) says whether `JSON.stringify(payload)`
 *   holds what graphql-js would read: then Rust projects it (`triggerProject`), unless
 *   JSON.stringify throws or Rust finds a value graphql-js would coerce or reject;
 * - otherwise graphql-js executes it (`stats().projectionFallbacks` counts these), once for
 *   every subscriber when no app code can see a context, else once per distinct context
 *   (an app `context` function gives each subscription its own); results that differ go
 *   to their own subscribers through short-lived hub triggers, in order with the rest.
 * Events keep their order: while an execution is pending (a payload holding promises),
 * later events wait behind it.
 * With a broker (lib/broker.js), a trigger's topic listeners here take local publishes
 * only; messages from other processes are projected by Rust's relay (src/relay.rs) on the
 * broker thread, and those it cannot project exactly come through the trigger's route to
 * `publish` below, acknowledged once their results are queued for the hub.
 * @module subwire/lib/projected-triggers
 */

const { PROJECT, ONCE } = require('./projection-check.js');
const { nextPayload } = require('./next-payload.js');
const { DEFAULT_MAX_QUEUED } = require('./pubsub.js');
const { publishSerial, subscribeTopic } = require('./topics.js');
const { addRoute } = require('./broker.js');
const { currentEvent } = require('./publish-events.js');
const { codedError } = require('./errors.js');

/** @typedef {import('./shared-triggers.js').Registry} Registry */
/** @typedef {import('./trigger.js').Trigger} Trigger */
/** @typedef {import('./trigger.js').SharedSubscriber} SharedSubscriber */

class Projector {
  /** @param {Registry} registry */
  constructor(registry) {
    this.registry = registry;
    /** Projected events that graphql-js had to execute. */
    this.fallbacks = 0;
    // The JSON and the check of the value being published: a publish reaching several
    // triggers serializes it once. Valid for that publish only (the app may change the
    // object and publish it again).
    this.lastPublish = -1;
    /** @type {unknown} */
    this.lastValue = undefined;
    /** @type {string | null | undefined} undefined: not made yet; null: JSON.stringify threw */
    this.lastJson = undefined;
    /** @type {import('./projection.js').Projection | null} */
    this.lastProjection = null;
    this.lastState = PROJECT;
  }

  /**
   * Attaches an operation whose result is a projection of its topics' payloads.
   * @param {any} c @param {any} op @param {any} payload @param {any} execArgs
   * @param {readonly string[]} topics @param {import('./projection.js').Projection} projection
   */
  join(c, op, payload, execArgs, topics, projection) {
    const r = this.registry;
    const { srv } = r.deps;
    const triggers = r.triggersOf(execArgs.schema);
    const key = ['\u0001projected', ...topics, projection.json, r.documentKey(execArgs.document), execArgs.operationName ?? '', r.variablesKey(execArgs)].join('\0');
    let t = triggers.get(key);
    const first = !t;
    if (!t) {
      t = r.create(key, '', execArgs);
      t.projection = projection;
      srv.triggerPlan(t.id, projection.json);
      const trigger = t;
      const deliver = (/** @type {unknown} */ value) => this.publish(trigger, value);
      t.projected = topics.map((topic) => subscribeTopic(topic, deliver, false));
    }
    const sub = r.attach(t, c, op, payload);
    sub.context = execArgs.contextValue;
    if (first) {
      // (after the attach: the route opens with the subscriber in the hub)
      const trigger = t;
      t.route = addRoute({ srv, trigger: t.id, topics, deliver: (value) => this.publish(trigger, value), busy: () => trigger.waiting !== null });
    }
  }

  /** The trigger ended: its topics, route and plan go. @param {Trigger} t */
  stop(t) {
    for (const unsubscribe of t.projected ?? []) unsubscribe();
    t.route?.close();
    this.registry.deps.srv.triggerPlanRemove(t.id);
  }

  /** One published payload for projected trigger `t`. @param {Trigger} t @param {unknown} value */
  publish(t, value) {
    if (t.ended) return;
    if (t.waiting) {
      if (t.waiting.length >= DEFAULT_MAX_QUEUED) return this.overflow(t);
      t.waiting.push(value);
      return;
    }
    this.handle(t, value);
  }

  /** @param {Trigger} t @param {unknown} value */
  handle(t, value) {
    const projection = /** @type {import('./projection.js').Projection} */ (t.projection);
    const publish = publishSerial();
    if (this.lastPublish !== publish || this.lastValue !== value) {
      this.lastPublish = publish;
      this.lastValue = value;
      this.lastJson = undefined;
      this.lastProjection = null;
    }
    if (this.lastProjection !== projection) {
      this.lastProjection = projection;
      this.lastState = projection.check(value);
    }
    let state = this.lastState;
    if (state === PROJECT) {
      if (this.lastJson === undefined) {
        try {
          this.lastJson = JSON.stringify(value) ?? null;
        } catch {
          // a BigInt or a cycle where the plan does not read: graphql-js does not mind
          this.lastJson = null;
        }
      }
      if (this.lastJson !== null && this.registry.deps.srv.triggerProject(t.id, this.lastJson)) return;
      // (the checker proved the read paths are plain data: no context can matter)
      state = ONCE;
    }
    this.fallbacks++;
    const pending = this.execute(t, value, state);
    if (!pending) return;
    t.waiting = [];
    pending.then(() => this.drain(t));
  }

  /** An execution finished: the events that waited for it, in order. @param {Trigger} t */
  drain(t) {
    const waiting = /** @type {unknown[]} */ (t.waiting);
    t.waiting = null;
    for (let i = 0; i < waiting.length && !t.ended; i++) {
      if (t.waiting) {
        // went async again: the rest waits behind that one
        for (let j = i; j < waiting.length; j++) /** @type {unknown[]} */ (t.waiting).push(waiting[j]);
        return;
      }
      this.handle(t, waiting[i]);
    }
    if (!t.waiting) t.route?.settle();
  }

  /**
   * graphql-js executes `value` for the trigger's subscribers: once (`ONCE`), or once per
   * distinct context. Returns a promise when an execution is asynchronous.
   * @param {Trigger} t @param {unknown} value @param {number} state
   * @returns {Promise<void> | undefined}
   */
  execute(t, value, state) {
    const { graphql, toGraphQLError, loaders } = this.registry.deps;
    /** @type {Map<unknown, SharedSubscriber[]>} */
    const groups = new Map();
    if (state === ONCE) groups.set(t.execArgs.contextValue, [...t.subscribers]);
    else {
      for (const sub of t.subscribers) {
        const group = groups.get(sub.context);
        if (group) group.push(sub);
        else groups.set(sub.context, [sub]);
      }
    }
    /** @type {unknown[]} */
    let results;
    try {
      // (a method in the payload may read context.loaders: the event's bag, lib/loaders.js)
      const bag = loaders?.bagOf(currentEvent());
      results = [...groups.keys()].map((contextValue) =>
        graphql.execute({ ...t.execArgs, contextValue: loaders ? loaders.context(contextValue, /** @type {object} */ (bag)) : contextValue, rootValue: value }),
      );
    } catch (err) {
      // graphql-js's own map of a stream rethrows what execute() throws: the stream fails
      this.fail(t, [toGraphQLError(err)]);
      return undefined;
    }
    if (!results.some((r) => typeof (/** @type {any} */ (r)?.then) === 'function')) {
      this.send(t, groups, results, false);
      return undefined;
    }
    return Promise.all(results).then(
      (settled) => this.send(t, groups, settled, true),
      (err) => this.fail(t, [toGraphQLError(err)]),
    );
  }

  /**
   * Sends each group its result. One text for all: the trigger's own update, unless
   * someone joined while it executed (an event published before they subscribed is not
   * theirs). Otherwise each text goes to its subscribers through a trigger of their own,
   * added, updated and removed in one go: the hub handles its events in order, so this
   * update stays between the trigger's previous and next ones.
   * @param {Trigger} t @param {Map<unknown, SharedSubscriber[]>} groups @param {unknown[]} results
   * @param {boolean} late the results came after other events could have run
   */
  send(t, groups, results, late) {
    if (t.ended) return;
    const r = this.registry;
    const { srv, stringify } = r.deps;
    const texts = results.map((result) => stringify(nextPayload(result)));
    /** @type {Map<string, SharedSubscriber[]>} */
    const byText = new Map();
    let present = 0;
    [...groups.values()].forEach((subs, i) => {
      for (const sub of subs) {
        if (!t.subscribers.has(sub) || sub.c.closed) continue;
        present++;
        const list = byText.get(texts[i]);
        if (list) list.push(sub);
        else byText.set(texts[i], [sub]);
      }
    });
    if (byText.size === 1 && (!late || present === t.subscribers.size)) {
      srv.triggerNext(t.id, /** @type {string} */ (byText.keys().next().value));
      return;
    }
    for (const [text, subs] of byText) {
      const id = r.nextId++;
      for (const sub of subs) srv.triggerAdd(id, sub.c.conn, sub.id, sub.c.legacy, sub.serial);
      srv.triggerNext(id, text);
      for (const sub of subs) srv.triggerRemove(id, sub.c.conn, sub.id);
    }
  }

  /** Too many events waited behind a pending execution, as a PubSub iterator's `maxQueued`. @param {Trigger} t */
  overflow(t) {
    const err = codedError('ERR_SUBWIRE_PUBSUB_OVERFLOW', `PubSub iterator ended: ${DEFAULT_MAX_QUEUED} events were waiting unconsumed (maxQueued is ${DEFAULT_MAX_QUEUED}).`);
    this.fail(t, [this.registry.deps.toGraphQLError(err)]);
  }

  /** The trigger's stream failed: `error` to every subscriber, as graphql-ws sends it. @param {Trigger} t @param {any[]} errors */
  fail(t, errors) {
    if (t.ended) return;
    this.registry.end(t, 'error', errors).catch((err) => console.error('A projected subscription failed to end.', err));
  }
}

module.exports = { Projector };
