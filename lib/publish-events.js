'use strict';
/**
 * Publish events: one record per publish, the thing a per-event loader bag hangs on
 * (lib/loaders.js). Off until a server with the `loaders` option starts (`track`): then
 * lib/pubsub.js brackets each publish's delivery with `beginPublish`/`endPublish`, and a
 * TopicIterator holds the event of every value it queues until it hands the value out.
 *
 * An event lives while something may still execute it, counted in `holds`:
 * - the delivery itself (the listeners run synchronously inside the publish);
 * - each value a TopicIterator queued and has not handed out yet; a value handed out keeps
 *   its hold until the end of the turn (`setImmediate`), so that whatever wraps the
 *   iterator (withFilter, an app generator) can pass it on and the execution it starts
 *   can find its event;
 * - each execution that found it and has not settled (lib/executed-triggers.js,
 *   lib/loaders.js), and each event a busy subscriber keeps queued.
 * At 0 it is dropped: its bags go and it can no longer be found (no TTL).
 *
 * Finding the event of a value:
 * - a listener running inside the publish: `currentEvent()` (executed and projected
 *   triggers listen to their topics themselves);
 * - a value that came out of an iterator someone wrapped: `eventOfValue(value)`, the live
 *   event that published that very object. The same object published again while an
 *   earlier event with it lives makes it ambiguous: null until all of them are gone (a bag
 *   per execution then: correct, just not shared). Primitives have no event.
 * Called by lib/pubsub.js, lib/loaders.js and lib/executed-triggers.js.
 * @module subwire/lib/publish-events
 */

/** Servers with `loaders` that are running: events are recorded only while there are some. */
let tracking = 0;
/** The event being delivered (publishes nest when a listener publishes). @type {PublishEvent | null} */
let current = null;
/**
 * Published objects → the live events that carry them. `event` is null while more than
 * one does (which one a value came from is then unknown).
 * @type {WeakMap<object, { event: PublishEvent | null, live: number }>}
 */
const byPayload = new WeakMap();
/** Events whose handed-out values release their holds at the end of the turn. @type {PublishEvent[]} */
let ending = [];

class PublishEvent {
  /** @param {object | null} key the payload, when it is an object */
  constructor(key) {
    /** The delivery's own hold, released when the publish returns. */
    this.holds = 1;
    this.key = key;
    /** Values handed out this turn whose holds go at its end. */
    this.handedOut = 0;
    /** The bag of the first server that asked (most processes run one), the others by server. @type {object | null} */
    this.owner = null;
    /** @type {unknown} */
    this.bag = null;
    /** @type {Map<object, unknown> | null} */
    this.more = null;
    /** The event whose delivery this one's interrupted (a listener published), if any. @type {PublishEvent | null} */
    this.outer = null;
  }

  /** One more user; false when the event is already gone (the caller then goes without it). */
  hold() {
    if (this.holds === 0) return false;
    this.holds += 1;
    return true;
  }

  release() {
    if (this.holds === 0) return;
    this.holds -= 1;
    if (this.holds === 0) drop(this);
  }

  /**
   * This event's bag for `owner` (a server's loaders), made by `make` on first request;
   * a gone event has none (the caller makes a private one).
   * @template T @param {object} owner @param {() => T} make @returns {T | null}
   */
  bagFor(owner, make) {
    if (this.holds === 0) return null;
    if (this.owner === owner) return /** @type {T} */ (this.bag);
    if (this.owner === null) {
      this.owner = owner;
      return /** @type {T} */ ((this.bag = make()));
    }
    let bag = this.more?.get(owner);
    if (bag === undefined) (this.more ??= new Map()).set(owner, (bag = make()));
    return /** @type {T} */ (bag);
  }
}

/** @param {PublishEvent} ev */
function drop(ev) {
  ev.owner = null;
  ev.bag = null;
  ev.more = null;
  if (ev.key !== null) {
    const entry = byPayload.get(ev.key);
    if (entry !== undefined && --entry.live === 0) byPayload.delete(ev.key);
    ev.key = null;
  }
}

/** A server with `loaders` starts (+1) or stops (-1). @param {1 | -1} delta */
function track(delta) {
  tracking += delta;
}

/**
 * A publish starts delivering `payload`: its event, or null while no server records
 * events. Pair with `endPublish`. @param {unknown} payload @returns {PublishEvent | null}
 */
function beginPublish(payload) {
  if (tracking === 0) return null;
  const key = (typeof payload === 'object' && payload !== null) || typeof payload === 'function' ? payload : null;
  const ev = new PublishEvent(key);
  if (key !== null) {
    const entry = byPayload.get(key);
    if (entry === undefined) byPayload.set(key, { event: ev, live: 1 });
    else {
      entry.live += 1;
      entry.event = entry.live === 1 ? ev : null;
    }
  }
  ev.outer = current;
  current = ev;
  return ev;
}

/** The delivery of `ev` is over. @param {PublishEvent} ev */
function endPublish(ev) {
  current = ev.outer;
  ev.outer = null;
  ev.release();
}

/** The event being delivered right now (inside a topic listener), or null. */
function currentEvent() {
  return current;
}

/**
 * The live event that published this very object, or null (a primitive, an object nobody
 * published, one published again while an earlier event with it lives, or one whose events
 * are all gone). @param {unknown} value @returns {PublishEvent | null}
 */
function eventOfValue(value) {
  if (tracking === 0 || ((typeof value !== 'object' || value === null) && typeof value !== 'function')) return null;
  return byPayload.get(/** @type {object} */ (value))?.event ?? null;
}

/**
 * For an iterator taking a value in: the current event, held once more for that value
 * (release it with `handedOut` or `release`), or null.
 */
function holdCurrent() {
  return current !== null && current.hold() ? current : null;
}

/** An iterator handed out a value of `ev`: its hold goes at the end of this turn. @param {PublishEvent} ev */
function handedOut(ev) {
  if (ev.handedOut++ === 0) {
    if (ending.length === 0) setImmediate(endTurn);
    ending.push(ev);
  }
}

function endTurn() {
  const list = ending;
  ending = [];
  for (const ev of list) {
    const n = ev.handedOut;
    ev.handedOut = 0;
    for (let i = 0; i < n; i++) ev.release();
  }
}

module.exports = { PublishEvent, track, beginPublish, endPublish, currentEvent, eventOfValue, holdCurrent, handedOut };
