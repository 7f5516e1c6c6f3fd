'use strict';
/**
 * The process's one topic registry (`topicListeners`: topic → Set of listeners) and the ways
 * onto it that subwire's own code uses; lib/pubsub.js builds the public APIs (graphql-
 * subscriptions' `PubSub`, Yoga's `createPubSub`, their iterators) on top of it.
 *
 * - `publishToTopic(topic, payload)` / `subscribeTopic(topic, listener)`: the bare registry
 *   (projected and executed triggers listen to their topics here; tests use it too).
 *   `topicStats()` counts topics, listeners and publishes; `publishSerial()` numbers them.
 * - `publish(topic, payload)` (what every public API and `server.publish` call): with a
 *   broker (lib/broker.js) it sends the payload's JSON to the other processes first, then
 *   delivers locally as `publishToTopic`; it returns the broker's Promise.
 * - `deliverRemote(topic, value)`: a message from another process, parsed once by
 *   lib/broker.js, to every listener here except those added with `remote = false` (the
 *   projected triggers': the broker's relay in Rust serves them).
 *
 * Topics form one namespace per process, as they do per broker in Redis-backed pubsubs (see
 * DESIGN.md, "Publishing"); with a broker it spans every process on it. Delivery is
 * synchronous and in publish order. While a server with `loaders` runs, each delivery is one
 * publish event (lib/publish-events.js), a local publish and a broker message alike.
 * @module subwire/lib/topics
 */

const { invalidOption } = require('./errors.js');
const broker = require('./broker.js');
const { beginPublish, endPublish } = require('./publish-events.js');

/**
 * The process-wide registry: topic → its listeners; a topic without listeners has no entry.
 * Exported for diagnostics and tests: change it only through subscribeTopic().
 * @type {Map<string, Set<(payload: any) => void>>}
 */
const topicListeners = new Map();
let listenerCount = 0;
let publishCount = 0;
/** Per topic, its listeners that take messages from the broker too. @type {Map<string, number>} */
const remoteCounts = new Map();
/** Listeners that take local publishes only (`subscribeTopic(…, false)`). @type {WeakSet<Function>} */
const localOnly = new WeakSet();

/** @param {unknown} topic @param {string} what */
function checkTopic(topic, what) {
  if (typeof topic === 'string' && topic !== '') return;
  const got = typeof topic === 'string' ? 'an empty string' : String(topic);
  throw invalidOption(`${what} must be a non-empty string, got ${got}`);
}

/**
 * Delivers `payload` synchronously to every listener of `topic`, in subscription order. A topic
 * with no listeners costs one Map lookup. Listeners added during the delivery do not get this
 * payload; listeners removed before their turn do not either. A listener that throws does not
 * stop the others: the first error is rethrown once every listener had the payload.
 * @param {string} topic @param {unknown} payload @returns {number} how many listeners were called
 */
function publishToTopic(topic, payload) {
  checkTopic(topic, 'publish(topic, payload): topic');
  publishCount += 1;
  const set = topicListeners.get(topic);
  if (set === undefined) return 0;
  // The event a loader bag hangs on (lib/publish-events.js; null unless a server has `loaders`).
  const ev = beginPublish(payload);
  try {
    return deliver(set, payload);
  } finally {
    if (ev !== null) endPublish(ev);
  }
}

/** @param {Set<(payload: any) => void>} set @param {unknown} payload @returns {number} */
function deliver(set, payload) {
  if (set.size === 1) {
    /** @type {(payload: unknown) => void} */ (set.values().next().value)(payload);
    return 1;
  }
  // A snapshot: listeners may unsubscribe (or subscribe) while we deliver.
  const fns = Array.from(set);
  let called = 0;
  let failed = false;
  let firstError;
  for (const fn of fns) {
    if (!set.has(fn)) continue;
    called += 1;
    try {
      fn(payload);
    } catch (err) {
      if (!failed) firstError = err;
      failed = true;
    }
  }
  if (failed) throw firstError;
  return called;
}

/** A settled promise shared by every publish without a broker. */
const SENT = Promise.resolve();

/**
 * `publish(topic, payload)` of the package (index.js), of every PubSub and of
 * `server.publish`: with a broker, `JSON.stringify(payload)` goes to the other processes
 * (lib/broker.js), then `publishToTopic` delivers it here, whatever the broker answers. The
 * promise rejects with the broker's coded error (local delivery has happened); ignoring it
 * is safe. A listener that throws makes it throw, as `publishToTopic`.
 * @param {string} topic @param {unknown} payload @returns {Promise<void>}
 */
function publish(topic, payload) {
  checkTopic(topic, 'publish(topic, payload): topic');
  const sent = broker.send(topic, payload);
  publishToTopic(topic, payload);
  return sent ?? SENT;
}

/**
 * A message from another process (lib/broker.js parsed it): to every listener of `topic`
 * but the local-only ones, as `publishToTopic` would. A listener that throws is logged.
 * @param {string} topic @param {object} value
 */
function deliverRemote(topic, value) {
  const set = topicListeners.get(topic);
  if (set === undefined) return;
  // One event per message, as a local publish is: its executions share one loader bag.
  const ev = beginPublish(value);
  try {
    for (const fn of set.size === 1 ? set : Array.from(set)) {
      if (localOnly.has(fn) || !set.has(fn)) continue;
      try {
        fn(value);
      } catch (err) {
        console.error('A PubSub listener threw on a message from the broker.', err);
      }
    }
  } finally {
    if (ev !== null) endPublish(ev);
  }
}
broker.attachRegistry({ deliver: deliverRemote, topics: () => remoteCounts.keys() });

/**
 * Adds `listener` to `topic`. The returned function removes exactly this subscription and is
 * idempotent; the same function subscribed twice is called twice, as with an EventEmitter.
 * `remote = false`: only local publishes reach it, not messages from the broker, and it does
 * not make this process subscribe the topic on the broker.
 * @param {string} topic @param {(payload: any) => void} listener @param {boolean} [remote]
 * @returns {() => void} unsubscribe
 */
function subscribeTopic(topic, listener, remote = true) {
  checkTopic(topic, 'subscribe(topic, listener): topic');
  if (typeof listener !== 'function') {
    throw invalidOption(`subscribe(topic, listener): listener must be a function, got ${String(listener)}`);
  }
  let set = topicListeners.get(topic);
  if (set === undefined) topicListeners.set(topic, (set = new Set()));
  const fn = set.has(listener) || !remote ? (/** @type {any} */ payload) => listener(payload) : listener;
  set.add(fn);
  listenerCount += 1;
  if (!remote) localOnly.add(fn);
  else {
    const n = remoteCounts.get(topic) ?? 0;
    remoteCounts.set(topic, n + 1);
    if (n === 0) broker.listen(topic);
  }
  let subscribed = true;
  return function unsubscribe() {
    if (!subscribed) return;
    subscribed = false;
    listenerCount -= 1;
    set.delete(fn);
    if (set.size === 0 && topicListeners.get(topic) === set) topicListeners.delete(topic);
    if (!remote) return;
    const n = /** @type {number} */ (remoteCounts.get(topic)) - 1;
    if (n > 0) remoteCounts.set(topic, n);
    else {
      remoteCounts.delete(topic);
      broker.unlisten(topic);
    }
  };
}

/**
 * The number of the publish being delivered (or the last one): listeners called by one
 * publish see the same number, so one payload's JSON can be reused across them.
 */
function publishSerial() {
  return publishCount;
}

/** Topics with listeners, listeners, publish calls so far. @returns {{ topics: number, listeners: number, publishes: number }} */
function topicStats() {
  return { topics: topicListeners.size, listeners: listenerCount, publishes: publishCount };
}

module.exports = { publish, publishToTopic, subscribeTopic, topicStats, topicListeners, publishSerial, checkTopic };
