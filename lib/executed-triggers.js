'use strict';
/**
 * Executed triggers: batched per-subscriber execution (Hasura's multiplexing, in one JS
 * turn instead of one SQL query). lib/operation.js hands a subscription here when graphql-js
 * must execute each event for it (not shared, not projected), the app left graphql-js's
 * `subscribe` and `onOperation` alone, and the resolver's source stream is a subwire topic
 * iterator. Subscriptions of the same topics form one group, which listens to them once
 * (the iterator is ended and what it had queued is taken over). Per published event the
 * group runs, inside the publish, every member's `execute()` with the member's own
 * arguments (document, variables, context; with `loaders`, a context carrying the event's
 * bag), passes each result to `onNext` and queues its `next`; the answers of the event cross
 * into Rust in one call (lib/outbox.js `hold`), however many members there are.
 *
 * Per member, as graphql-ws runs a subscriber: events in publish order, one execution at a
 * time. A member whose execution (or onNext) is still pending keeps later events queued
 * (at most the iterator's `maxQueued`, then ERR_SUBWIRE_PUBSUB_OVERFLOW); the other members
 * do not wait for it. An execution that throws, or onNext throwing, ends that member only:
 * onError, `error`, onComplete. Leaving (client `complete`, the connection closed): queued
 * events are dropped, a pending execution settles unsent, then onComplete.
 * @module subwire/lib/executed-triggers
 */

const { subscribeTopic } = require('./topics.js');
const { currentEvent } = require('./publish-events.js');
const { nextPayload } = require('./next-payload.js');
const { codedError } = require('./errors.js');
const { isPromise } = require('./loaders.js');
const { JoinedOp } = require('./connection.js');

/** @typedef {import('./connection.js').Conn} Conn */
/** @typedef {import('./publish-events.js').PublishEvent} PublishEvent */

/**
 * One subscription of a group. It is also the connection's record of the operation and its
 * own iterator (what `ctx.subscriptions[id]` shows; `return()` leaves), as a shared
 * subscriber is.
 */
class Member extends JoinedOp {
  /**
   * @param {Group} group @param {Conn} c @param {{ id: string, serial?: number }} op
   * @param {any} payload the subscribe payload (kept only when a hook needs it) @param {any} execArgs
   * @param {number} maxQueued
   */
  constructor(group, c, op, payload, execArgs, maxQueued) {
    super();
    this.group = group;
    this.c = c;
    this.id = op.id;
    this.serial = op.serial ?? 0;
    this.payload = payload;
    this.execArgs = execArgs;
    /** The document compiled by graphql-jit (lib/jit.js), or null: graphql-js. @type {import('./jit.js').Query | null} */
    this.query = group.owner.deps.compiler.queryFor(execArgs);
    this.maxQueued = maxQueued;
    /** An execution or onNext is pending: events wait in `queue`. */
    this.busy = false;
    /** Waiting events: value, event, value, event… from `head` on. @type {unknown[] | null} */
    this.queue = null;
    this.head = 0;
    this.gone = false;
    /** @type {Promise<void> | null} */
    this.left = null;
    /** @type {(() => void) | null} called when a member that left stops being busy */
    this.onIdle = null;
    // The pending execution (one at a time): its event, value and context, kept here rather
    // than in closures made per execution; the callbacks are made once, at the first.
    /** @type {PublishEvent | null} the event held until the execution settles */
    this.held = null;
    /** @type {unknown} */
    this.value = undefined;
    /** @type {unknown} */
    this.contextValue = undefined;
    /** The pending execution runs the compiled query (else graphql-js). */
    this.compiled = false;
    /** @type {((r: unknown) => void) | null} */
    this.onResult = null;
    /** @type {((err: unknown) => void) | null} */
    this.onFailure = null;
  }
  /** Leaves the group (the client completed, or its connection closed). */
  leave() {
    return this.group.owner.leave(this);
  }
}

class Group {
  /** @param {ExecutedTriggers} owner @param {string} key @param {readonly string[]} topics */
  constructor(owner, key, topics) {
    this.owner = owner;
    this.key = key;
    /** @type {Set<Member>} */
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
    const key = stream.topics.join('\0');
    let g = this.groups.get(key);
    if (g === undefined) this.groups.set(key, (g = new Group(this, key, stream.topics)));
    const m = new Member(g, c, op, this.keepPayload ? payload : null, execArgs, stream.maxQueued);
    g.members.add(m);
    c.setOp(m);
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

  /** @param {Member} m @param {unknown} value @param {PublishEvent | null} ev */
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
   * the result has no errors, else by graphql-js. @param {Member} m @param {unknown} value
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

  /** `m`'s pending execution gave `r`. @param {Member} m @param {unknown} r */
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

  /** `m`'s pending execution failed. @param {Member} m @param {unknown} err */
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
   * @param {Member} m @param {unknown} result @param {boolean} late
   */
  settled(m, result, late) {
    if (late && !this.idle(m)) return;
    if (m.gone) return;
    const { onNext } = this.deps.options;
    if (onNext) {
      let maybe;
      try {
        maybe = onNext(m.c.ctx, m.id, m.payload, m.execArgs, /** @type {any} */ (result));
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

  /** @param {Member} m @param {unknown} payload */
  emit(m, payload) {
    const { c } = m;
    if (c.closed || c.getOp(m.id) !== m) return;
    this.deps.srv.holdAnswers();
    this.deps.send.next(c, m.id, m.serial, payload);
  }

  /** Runs the events `m` kept waiting, until one goes async. @param {Member} m */
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

  /** `m` is no longer busy; false when it left meanwhile (its leaving goes on). @param {Member} m */
  idle(m) {
    m.busy = false;
    if (!m.gone) return true;
    m.onIdle?.();
    return false;
  }

  /**
   * The member's stream failed (an execution threw, onNext threw, too many events waited):
   * onError, `error`, then it leaves (onComplete), as graphql-ws ends a subscriber whose
   * iterator throws. @param {Member} m @param {unknown} err
   */
  fail(m, err) {
    if (m.gone) return;
    const { options, toGraphQLError, send, internalError } = this.deps;
    const errors = [toGraphQLError(err)];
    m.busy = true;
    const { c } = m;
    (async () => {
      try {
        const maybe = await options.onError?.(c.ctx, m.id, m.payload, errors);
        if (!c.closed && c.getOp(m.id) === m) send.error(c, m.id, m.serial, maybe || errors);
      } catch (hookErr) {
        internalError(c, hookErr);
      }
      m.busy = false;
      await this.leave(m);
    })().catch((e) => internalError(c, e));
  }

  /**
   * `m` leaves its group: its waiting events go, a pending execution settles (unsent),
   * onComplete runs, the operation is released; the last member out stops listening.
   * @param {Member} m @returns {Promise<void>}
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
    const { options, released } = this.deps;
    const { c } = m;
    m.left = (async () => {
      if (m.busy) await new Promise((resolve) => (m.onIdle = () => resolve(undefined)));
      try {
        await options.onComplete?.(c.ctx, m.id, m.payload);
      } finally {
        released(c, m);
      }
    })();
    return m.left;
  }
}

module.exports = { ExecutedTriggers, Member };
