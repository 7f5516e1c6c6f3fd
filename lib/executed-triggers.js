'use strict';
/**
 * Executed triggers: batched execution (Hasura's multiplexing, in one JS turn instead of
 * one SQL query). A group serves the subscriptions of the same topics whose events graphql-js
 * must execute, and listens to those topics once; its members (lib/executed-members.js) are
 * - a connection's subscription (`Member`): lib/operation.js hands one here when it is not
 *   shared or projected, the app left graphql-js's `subscribe` and `onOperation` alone, and
 *   the resolver's source stream is a subwire topic iterator;
 * - a shared trigger (`Cohort`): lib/shared-triggers.js hands one here under the same
 *   conditions; it is executed once per event for all its subscribers.
 * The iterator is ended and what it had queued goes to the member. Per published event the
 * group runs, inside the publish, every member's `execute()` with the member's own
 * arguments (document, variables, context; with `loaders`, a context carrying the event's
 * bag), by its graphql-jit compiled query when it has one (lib/jit.js), passes each result
 * to `onNext` and sends it; the answers of the event cross into Rust in one call
 * (lib/outbox.js `hold`), however many members there are.
 *
 * Per member, as graphql-ws runs a subscriber: events in publish order, one execution at a
 * time. A member whose execution (or onNext) is still pending keeps later events queued
 * (at most the iterator's `maxQueued`, then ERR_SUBWIRE_PUBSUB_OVERFLOW); the other members
 * do not wait for it. An execution that throws, or onNext throwing, ends that member only:
 * onError, `error`, then it leaves. Leaving (client `complete`, the connection closed, the
 * trigger ended): queued events are dropped, a pending execution settles unsent, then the
 * member finishes (a connection's subscription: onComplete).
 * @module subwire/lib/executed-triggers
 */

const { subscribeTopic } = require('./topics.js');
const { currentEvent } = require('./publish-events.js');
const { nextPayload } = require('./next-payload.js');
const { codedError } = require('./errors.js');
const { isPromise } = require('./loaders.js');
const { Member, Cohort } = require('./executed-members.js');
const { TopicIterator } = require('./pubsub.js');

/** @typedef {import('./connection.js').Conn} Conn */
/** @typedef {import('./publish-events.js').PublishEvent} PublishEvent */
/** @typedef {import('./executed-members.js').Runner} Runner a group member of either kind */

class Group {
  /** @param {ExecutedTriggers} owner @param {string} key @param {readonly string[]} topics */
  constructor(owner, key, topics) {
    this.owner = owner;
    this.key = key;
    /** @type {Set<Runner>} */
    this.members = new Set();
    const listener = (/** @type {unknown} */ value) => owner.publish(this, value);
    this.unsubscribes = topics.map((topic) => subscribeTopic(topic, listener));
  }
}

/**
 * What the groups need of their server.
 * @typedef {{ graphql: typeof import('graphql'), options: import('../index').ServerOptions,
 *   srv: import('./server.js').SessionApi, send: import('./messages.js').Sender,
 *   loaders: import('./loaders.js').Loaders | null, compiler: import('./jit.js').Compiler,
 *   toGraphQLError: (e: unknown) => import('graphql').GraphQLError,
 *   internalError: (c: Conn, err: unknown) => void, released: (c: Conn, op: Member) => void }} Deps
 */

/** The executed groups of one server. */
class ExecutedTriggers {
  /** @param {Deps} deps */
  constructor(deps) {
    this.deps = deps;
    /** @type {Map<string, Group>} */
    this.groups = new Map();
    const { onNext, onError, onComplete } = deps.options;
    this.keepPayload = Boolean(onNext || onError || onComplete);
  }

  /**
   * Operation `op` of `c` joins the group of its source's topics; `stream` (a subwire topic
   * iterator) is ended and what it had queued goes to the member first.
   * @param {Conn} c @param {{ id: string, serial?: number }} op @param {any} payload @param {any} execArgs
   * @param {import('./pubsub.js').TopicIterator<unknown>} stream
   */
  join(c, op, payload, execArgs, stream) {
    const m = new Member(this.groupFor(stream), c, op, this.keepPayload ? payload : null, execArgs, stream.maxQueued);
    c.setOp(m);
    this.enter(m, stream);
  }

  /** Whether a source stream can be served by a group: a subwire topic iterator. @param {unknown} stream */
  accepts(stream) {
    return stream instanceof TopicIterator;
  }

  /**
   * A shared trigger whose source is `stream` (a subwire topic iterator, which is ended)
   * joins as one cohort: executed once per event for all its subscribers.
   * @param {import('./executed-members.js').CohortSink} sink @param {any} payload @param {any} execArgs
   * @param {import('./pubsub.js').TopicIterator<unknown>} stream
   */
  joinCohort(sink, payload, execArgs, stream) {
    const m = new Cohort(this.groupFor(stream), sink, this.keepPayload ? payload : null, execArgs, stream.maxQueued);
    this.enter(m, stream);
    return m;
  }

  /** The group of `stream`'s topics. @param {import('./pubsub.js').TopicIterator<unknown>} stream */
  groupFor(stream) {
    const key = stream.topics.join('\0');
    let g = this.groups.get(key);
    if (g === undefined) this.groups.set(key, (g = new Group(this, key, stream.topics)));
    return g;
  }

  /** `m` joins its group; what `stream` had queued goes to it first. @param {Runner} m @param {import('./pubsub.js').TopicIterator<unknown>} stream */
  enter(m, stream) {
    m.group.members.add(m);
    const queued = stream.takeQueued();
    if (queued.length === 0) return;
    this.deps.srv.holdAnswers();
    for (const { value, event } of queued) {
      this.deliver(m, value, event);
      event?.release();
    }
  }

  /** One event for every member of `g`, inside its publish. @param {Group} g @param {unknown} value */
  publish(g, value) {
    const ev = currentEvent();
    const { srv } = this.deps;
    srv.holdAnswers();
    for (const m of g.members) this.deliver(m, value, ev);
    srv.flushAnswers();
  }

  /** @param {Runner} m @param {unknown} value @param {PublishEvent | null} ev */
  deliver(m, value, ev) {
    if (m.gone) return;
    if (!m.busy) {
      this.run(m, value, ev);
      return;
    }
    const q = (m.queue ??= []);
    if ((q.length - m.head) / 2 >= m.maxQueued) {
      this.fail(m, codedError('ERR_SUBWIRE_PUBSUB_OVERFLOW', `PubSub iterator ended: ${m.maxQueued} events were waiting unconsumed (maxQueued is ${m.maxQueued}).`));
      return;
    }
    q.push(value, ev !== null && ev.hold() ? ev : null);
  }

  /**
   * Executes one event for `m` (idle): by its compiled query (lib/jit.js) when it has one and
   * the result has no errors, else by graphql-js. @param {Runner} m @param {unknown} value
   * @param {PublishEvent | null} ev
   */
  run(m, value, ev) {
    const { graphql, loaders, compiler } = this.deps;
    const args = m.execArgs;
    /** @type {unknown} */
    let contextValue;
    let compiled = m.query !== null;
    /** @type {unknown} */
    let result;
    try {
      contextValue = loaders === null ? args.contextValue : loaders.context(args.contextValue, loaders.bagOf(ev));
      result = compiled ? compiler.run(/** @type {import('./jit.js').Query} */ (m.query), args, value, contextValue) : null;
      if (result === null) {
        // graphql-js from now on for this member (see `result`)
        if (compiled) m.query = null;
        compiled = false;
        result = graphql.execute({ ...args, rootValue: value, contextValue });
      }
    } catch (err) {
      this.fail(m, err);
      return;
    }
    if (!isPromise(result)) {
      this.settled(m, result, false);
      return;
    }
    m.busy = true;
    m.held = ev !== null && ev.hold() ? ev : null;
    m.compiled = compiled;
    if (compiled) {
      // kept for graphql-js, should the compiled result have errors
      m.value = value;
      m.contextValue = contextValue;
    }
    /** @type {Promise<unknown>} */ (result).then(
      (m.onResult ??= (r) => this.result(m, r)),
      (m.onFailure ??= (err) => this.failure(m, err)),
    );
  }

  /** `m`'s pending execution gave `r`. @param {Runner} m @param {unknown} r */
  result(m, r) {
    if (m.compiled) {
      const { value, contextValue } = m;
      m.compiled = false;
      m.value = m.contextValue = undefined;
      if (this.deps.compiler.inexact(r)) {
        // graphql-jit's errors are not graphql-js's: graphql-js executes the event again,
        // and every later event of this member (a subscriber whose results have errors
        // tends to keep having them): its resolvers run twice for one event at most
        m.query = null;
        let again;
        try {
          again = this.deps.graphql.execute({ ...m.execArgs, rootValue: value, contextValue });
        } catch (err) {
          this.failure(m, err);
          return;
        }
        if (isPromise(again)) /** @type {Promise<unknown>} */ (again).then(/** @type {any} */ (m.onResult), m.onFailure);
        else this.result(m, again);
        return;
      }
    }
    const ev = m.held;
    m.held = null;
    ev?.release();
    this.settled(m, r, true);
  }

  /** `m`'s pending execution failed. @param {Runner} m @param {unknown} err */
  failure(m, err) {
    const ev = m.held;
    m.held = null;
    m.compiled = false;
    m.value = m.contextValue = undefined;
    ev?.release();
    if (this.idle(m)) this.fail(m, err);
  }

  /**
   * An execution's result: onNext, `next`, then (when it was late) the events that waited.
   * @param {Runner} m @param {unknown} result @param {boolean} late
   */
  settled(m, result, late) {
    if (late && !this.idle(m)) return;
    if (m.gone) return;
    const { onNext } = this.deps.options;
    if (onNext) {
      let maybe;
      try {
        maybe = onNext(m.hookCtx, m.hookId, m.payload, m.execArgs, /** @type {any} */ (result));
      } catch (err) {
        this.fail(m, err);
        return;
      }
      if (isPromise(maybe)) {
        m.busy = true;
        /** @type {Promise<unknown>} */ (maybe).then(
          (replaced) => {
            if (!this.idle(m)) return;
            this.emit(m, replaced || nextPayload(result));
            this.resume(m);
          },
          (err) => {
            if (this.idle(m)) this.fail(m, err);
          },
        );
        return;
      }
      this.emit(m, maybe || nextPayload(result));
    } else {
      this.emit(m, nextPayload(result));
    }
    if (late) this.resume(m);
  }

  /** @param {Runner} m @param {unknown} payload */
  emit(m, payload) {
    if (m.open()) m.sendNext(this.deps, payload);
  }

  /** Runs the events `m` kept waiting, until one goes async. @param {Runner} m */
  resume(m) {
    while (!m.busy && !m.gone && m.queue !== null && m.head < m.queue.length) {
      const q = m.queue;
      const value = q[m.head];
      const ev = /** @type {PublishEvent | null} */ (q[m.head + 1]);
      q[m.head++] = undefined;
      q[m.head++] = undefined;
      if (m.head === q.length) {
        m.queue = null;
        m.head = 0;
      }
      this.run(m, value, ev);
      ev?.release();
    }
  }

  /** `m` is no longer busy; false when it left meanwhile (its leaving goes on). @param {Runner} m */
  idle(m) {
    m.busy = false;
    if (!m.gone) return true;
    m.onIdle?.();
    return false;
  }

  /**
   * The member's stream failed (an execution threw, onNext threw, too many events waited):
   * onError, `error`, then it leaves (onComplete), as graphql-ws ends a subscriber whose
   * iterator throws. @param {Runner} m @param {unknown} err
   */
  fail(m, err) {
    if (m.gone) return;
    const { deps } = this;
    const errors = [deps.toGraphQLError(err)];
    m.busy = true;
    (async () => {
      try {
        const maybe = await deps.options.onError?.(m.hookCtx, m.hookId, m.payload, errors);
        if (m.open()) m.sendError(deps, maybe || errors);
      } catch (hookErr) {
        m.hookFailed(deps, hookErr);
      }
      m.busy = false;
      await this.leave(m);
    })().catch((e) => m.hookFailed(deps, e));
  }

  /**
   * `m` leaves its group: its waiting events go, a pending execution settles (unsent),
   * onComplete runs, the operation is released; the last member out stops listening.
   * @param {Runner} m @returns {Promise<void>}
   */
  leave(m) {
    if (m.left) return m.left;
    m.gone = true;
    const g = m.group;
    g.members.delete(m);
    if (g.members.size === 0 && this.groups.get(g.key) === g) {
      this.groups.delete(g.key);
      for (const unsubscribe of g.unsubscribes) unsubscribe();
    }
    if (m.queue !== null) {
      for (let i = m.head + 1; i < m.queue.length; i += 2) /** @type {PublishEvent | null} */ (m.queue[i])?.release();
      m.queue = null;
    }
    m.left = (async () => {
      if (m.busy) await new Promise((resolve) => (m.onIdle = () => resolve(undefined)));
      await m.finish(this.deps);
    })();
    return m.left;
  }
}

module.exports = { ExecutedTriggers, Member, Cohort };
