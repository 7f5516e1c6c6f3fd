'use strict';
/**
 * What an executed group (lib/executed-triggers.js) runs per event: its members, of two
 * kinds with the same execution state and different ends.
 *
 * - `Member`: one connection's subscription. Its results go to that connection (`next`,
 *   `error`); its hooks get the connection's ctx and the operation's id; when it leaves,
 *   onComplete runs and the operation is released. It is also the connection's record of
 *   the operation and its own iterator (`JoinedOp`), as a shared subscriber is.
 * - `Cohort`: one shared trigger (lib/shared-triggers.js; the subscribers with one
 *   `shareKey`, document and variables), executed once per event for all of them, as
 *   Hasura runs one query per cohort of equal session variables. Its results go to the
 *   trigger (the hub writes them to every subscriber); its hooks get the trigger's context
 *   and `trigger:<n>`, as a shared trigger's loop gives them; it leaves when the trigger
 *   ends, and the trigger's subscribers each run their own onComplete.
 *
 * The group's engine calls only what `Runner` declares and both define: `hookCtx`, `hookId`, `open()`,
 * `sendNext()`, `sendError()`, `hookFailed()` and `finish()`.
 * @module subwire/lib/executed-members
 */

const { JoinedOp } = require('./connection.js');

/** @typedef {import('./connection.js').Conn} Conn */
/** @typedef {import('./publish-events.js').PublishEvent} PublishEvent */
/** @typedef {import('./executed-triggers.js').Deps} Deps */

/**
 * The execution state both kinds carry, one execution at a time, kept in fields rather
 * than in closures made per execution, and what each kind says for itself. It is a
 * `JoinedOp` because a `Member` is one (a cohort is never put in a connection).
 */
class Runner extends JoinedOp {
  /** @param {any} group @param {any} payload @param {any} execArgs @param {number} maxQueued */
  constructor(group, payload, execArgs, maxQueued) {
    super();
    this.group = group;
    /** The subscribe payload, kept only when a hook needs it. @type {any} */
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
    /** @type {PublishEvent | null} the event held until the pending execution settles */
    this.held = null;
    /** The pending execution's value and context, kept while graphql-js may need them again. @type {unknown} */
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
  /** Leaves the group. */
  leave() {
    return this.group.owner.leave(this);
  }
  /** What onNext and onError get as ctx. @returns {any} */
  get hookCtx() {
    throw new Error('defined by each kind');
  }
  /** What onNext and onError get as id. @returns {string} */
  get hookId() {
    throw new Error('defined by each kind');
  }
  /** Results may still be sent. @returns {boolean} */
  open() {
    throw new Error('defined by each kind');
  }
  /** @param {Deps} _deps @param {unknown} _payload */
  sendNext(_deps, _payload) {
    throw new Error('defined by each kind');
  }
  /** @param {Deps} _deps @param {unknown} _errors */
  sendError(_deps, _errors) {
    throw new Error('defined by each kind');
  }
  /** onError threw. @param {Deps} _deps @param {unknown} _err */
  hookFailed(_deps, _err) {
    throw new Error('defined by each kind');
  }
  /** After leaving. @param {Deps} _deps @returns {Promise<void>} */
  async finish(_deps) {}
}

/** One connection's subscription in a group. */
class Member extends Runner {
  /**
   * @param {any} group @param {Conn} c @param {{ id: string, serial?: number }} op
   * @param {any} payload the subscribe payload (kept only when a hook needs it) @param {any} execArgs
   * @param {number} maxQueued
   */
  constructor(group, c, op, payload, execArgs, maxQueued) {
    super(group, payload, execArgs, maxQueued);
    this.c = c;
    this.id = op.id;
    this.serial = op.serial ?? 0;
  }
  get hookCtx() {
    return this.c.ctx;
  }
  get hookId() {
    return this.id;
  }
  /** The client may still hear of this subscription. */
  open() {
    return !this.c.closed && this.c.getOp(this.id) === this;
  }
  /** @param {Deps} deps @param {unknown} payload */
  sendNext(deps, payload) {
    deps.srv.holdAnswers();
    deps.send.next(this.c, this.id, this.serial, payload);
  }
  /** @param {Deps} deps @param {unknown} errors */
  sendError(deps, errors) {
    deps.send.error(this.c, this.id, this.serial, errors);
  }
  /** onError threw. @param {Deps} deps @param {unknown} err */
  hookFailed(deps, err) {
    deps.internalError(this.c, err);
  }
  /** After leaving: onComplete, then the operation is released. @param {Deps} deps */
  async finish(deps) {
    try {
      await deps.options.onComplete?.(this.c.ctx, this.id, this.payload);
    } finally {
      deps.released(this.c, this);
    }
  }
}

/**
 * Where a cohort's results go: its shared trigger (lib/shared-triggers.js gives these).
 * @typedef {{ ctx: object, name: string, ended: () => boolean, next: (payload: unknown) => void,
 *   error: (errors: unknown) => void, fail: (err: unknown) => void }} CohortSink
 */

/** One shared trigger's execution in a group. */
class Cohort extends Runner {
  /**
   * @param {any} group @param {CohortSink} sink @param {unknown} payload the first subscriber's
   * subscribe payload (kept only when a hook needs it) @param {any} execArgs @param {number} maxQueued
   */
  constructor(group, sink, payload, execArgs, maxQueued) {
    super(group, payload, execArgs, maxQueued);
    this.sink = sink;
  }
  get hookCtx() {
    return this.sink.ctx;
  }
  get hookId() {
    return this.sink.name;
  }
  open() {
    return !this.sink.ended();
  }
  /** @param {Deps} _deps @param {unknown} payload */
  sendNext(_deps, payload) {
    this.sink.next(payload);
  }
  /** The trigger ends with `errors`; its subscribers leave. @param {Deps} _deps @param {unknown} errors */
  sendError(_deps, errors) {
    this.sink.error(errors);
  }
  /** onError threw: as when a trigger's hook throws, every subscriber's connection closes (4500). @param {Deps} _deps @param {unknown} err */
  hookFailed(_deps, err) {
    this.sink.fail(err);
  }
  /** Nothing of its own: each subscriber of the trigger runs its onComplete. @param {Deps} _deps */
  async finish(_deps) {}
}

module.exports = { Runner, Member, Cohort };
