'use strict';
/**
 * subwire's PubSub APIs on the process's topic registry (lib/topics.js):
 * - `class PubSub`: graphql-subscriptions v3's `PubSubEngine` (`publish`, `subscribe`,
 *   `unsubscribe`, `asyncIterableIterator`, and the older `asyncIterator`), so resolvers and
 *   `withFilter` keep working unchanged;
 * - `createPubSub()`: GraphQL Yoga's `createPubSub` shape (`publish(key, [id,] payload)`,
 *   `subscribe(key[, id])` on topic `key` or `${key}:${id}`);
 * - `TopicIterator`, the iterator both return (lib/operation.js reads its topics to project
 *   or batch a subscription; `topicsOf`).
 *
 * A publish on any PubSub instance, on a Yoga-style pubsub or `server.publish` reaches every
 * listener of that topic in this process (and, with a broker, in every process on it),
 * whichever API subscribed it. Iterators subscribe EAGERLY, when they are created
 * (graphql-subscriptions subscribes on the first `next()`): an event published after a
 * resolver returned its iterator but before graphql-js called `next()` is queued, not lost.
 * An iterator nobody drains holds at most `maxQueued` events; one more ends it (the listeners
 * go, the queue is dropped) and its next `next()` rejects with ERR_SUBWIRE_PUBSUB_OVERFLOW.
 * While a server with `loaders` runs, an iterator holds the publish event of each value it
 * queued (lib/publish-events.js) until it hands the value out, so the execution of that
 * value can still find the event's loader bag.
 * @module subwire/lib/pubsub
 */

const { codedError, invalidOption } = require('./errors.js');
const broker = require('./broker.js');
const { holdCurrent, handedOut } = require('./publish-events.js');
const { publish, subscribeTopic, checkTopic } = require('./topics.js');

const DEFAULT_MAX_QUEUED = 10_000;

/**
 * `maxQueued` of `new PubSub(options)` / `createPubSub(options)`; their `broker` is
 * configured here (lib/broker.js). @param {unknown} options @param {string} what
 */
function maxQueuedOption(options, what) {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption(`${what}: options must be an object such as { maxQueued: 10000 }`);
  }
  const b = /** @type {{ broker?: unknown }} */ (options).broker;
  if (b !== undefined) broker.configure(b, what);
  const v = /** @type {{ maxQueued?: unknown }} */ (options).maxQueued;
  if (v === undefined) return DEFAULT_MAX_QUEUED;
  if (v === Infinity || (Number.isSafeInteger(v) && /** @type {number} */ (v) >= 1)) return /** @type {number} */ (v);
  throw invalidOption(`${what}: maxQueued must be an integer >= 1 (or Infinity), got ${String(v)}`);
}

/** A fresh `{ done: true }` result each time: callers may hold or change it. */
const done = () => ({ value: undefined, done: /** @type {true} */ (true) });

/**
 * A queued value with the publish event it came from (only while a server records events,
 * lib/publish-events.js): the iterator holds the event until it hands the value out.
 */
class Held {
  /** @param {unknown} value @param {import('./publish-events.js').PublishEvent} event */
  constructor(value, event) {
    this.value = value;
    this.event = event;
  }
}

/**
 * An AsyncIterableIterator over one or more topics, with the semantics of graphql-subscriptions'
 * PubSubAsyncIterableIterator except that it subscribes at creation (see the module comment).
 * @template T
 */
class TopicIterator {
  /** @param {readonly string[]} topics deduplicated, validated @param {number} maxQueued */
  constructor(topics, maxQueued) {
    /** Events nobody asked for yet: `queue[head..]`. @type {T[]} */
    this.queue = [];
    this.head = 0;
    /** Pending `next()` calls; only ever non-empty while the queue is empty. @type {((r: IteratorResult<T>) => void)[]} */
    this.pulls = [];
    this.maxQueued = maxQueued;
    /** @type {Error | null} set by an overflow, thrown by the next `next()` */
    this.error = null;
    this.running = true;
    /** The topics it listens to (`topicsOf`: a projected subscription listens to them itself). */
    this.topics = topics;
    const push = (/** @type {T} */ value) => this.push(value);
    this.unsubscribes = topics.map((topic) => subscribeTopic(topic, push));
  }

  /** @private @param {T} value */
  push(value) {
    if (!this.running) return;
    const ev = holdCurrent();
    if (this.pulls.length > 0) {
      /** @type {(r: IteratorResult<T>) => void} */ (this.pulls.shift())({ value, done: false });
      if (ev !== null) handedOut(ev);
    } else if (this.queue.length - this.head >= this.maxQueued) {
      const held = this.queue.length - this.head;
      ev?.release();
      this.stop();
      this.error = codedError(
        'ERR_SUBWIRE_PUBSUB_OVERFLOW',
        `PubSub iterator ended: ${held} events were waiting unconsumed (maxQueued is ${this.maxQueued}). ` +
          'Its consumer is slower than the publisher or never calls next()/return(); ' +
          'consume faster, return() iterators you no longer read, or raise maxQueued (new PubSub({ maxQueued }) or createPubSub({ maxQueued }))',
      );
    } else {
      this.queue.push(ev === null ? value : /** @type {any} */ (new Held(value, ev)));
    }
  }

  /** @returns {Promise<IteratorResult<T>>} */
  next() {
    if (this.head < this.queue.length) {
      /** @type {any} */
      let value = this.queue[this.head];
      this.queue[this.head++] = /** @type {any} */ (undefined);
      if (value instanceof Held) {
        handedOut(value.event);
        value = value.value;
      }
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.error) {
      const err = this.error;
      this.error = null;
      return Promise.reject(err);
    }
    if (!this.running) return Promise.resolve(done());
    return new Promise((resolve) => this.pulls.push(resolve));
  }

  /** Ends the iterator: unsubscribes, drops queued events, resolves pending `next()`s as done. Idempotent. */
  return() {
    this.error = null;
    this.stop();
    return Promise.resolve(done());
  }

  /** @param {unknown} err ends the iterator as `return()` does, then rejects with `err` */
  throw(err) {
    this.error = null;
    this.stop();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /**
   * Ends the iterator and gives what it had queued to the caller instead, each value with
   * its publish event (still held: the caller releases it), in order. Used when a
   * subscriber's events are delivered another way from now on (lib/executed-triggers.js).
   * @returns {{ value: T, event: import('./publish-events.js').PublishEvent | null }[]}
   */
  takeQueued() {
    const out = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const v = /** @type {unknown} */ (this.queue[i]);
      out.push(v instanceof Held ? { value: /** @type {T} */ (v.value), event: v.event } : { value: /** @type {T} */ (v), event: null });
    }
    this.queue = [];
    this.head = 0;
    this.return();
    return out;
  }

  /** @private */
  stop() {
    if (!this.running) return;
    this.running = false;
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    this.unsubscribes = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const v = /** @type {unknown} */ (this.queue[i]);
      if (v instanceof Held) v.event.release();
    }
    this.queue = [];
    this.head = 0;
    const pulls = this.pulls;
    this.pulls = [];
    for (const resolve of pulls) resolve(done());
  }
}

/** graphql-subscriptions v3's PubSubEngine on the process-wide topic registry. */
class PubSub {
  /** @param {import('../index').PubSubOptions} [options] */
  constructor(options = {}) {
    this.maxQueued = maxQueuedOption(options, 'new PubSub(options)');
    /** @private @type {Map<number, () => void>} */
    this.subscriptions = new Map();
    /** @private */
    this.lastId = 0;
  }

  /**
   * Delivers `payload` to every subscriber of `triggerName` in this process before it
   * returns, and with a broker to every other process (`publish()`). A bad trigger name, or
   * an error thrown by an `onMessage` listener, throws synchronously (as
   * graphql-subscriptions' EventEmitter-based PubSub does).
   * @param {string} triggerName @param {unknown} payload @returns {Promise<void>}
   */
  publish(triggerName, payload) {
    return publish(triggerName, payload);
  }

  /**
   * Calls `onMessage(payload)` for each event on `triggerName`. `options` is accepted and ignored.
   * @param {string} triggerName @param {(payload: any) => void} onMessage @param {object} [options]
   * @returns {Promise<number>} an id for `unsubscribe`, unique within this instance
   */
  subscribe(triggerName, onMessage, options) {
    const unsubscribe = subscribeTopic(triggerName, onMessage);
    this.lastId += 1;
    this.subscriptions.set(this.lastId, unsubscribe);
    return Promise.resolve(this.lastId);
  }

  /** Removes a subscription; an unknown or already removed id does nothing. @param {number} subId */
  unsubscribe(subId) {
    const unsubscribe = this.subscriptions.get(subId);
    if (unsubscribe === undefined) return;
    this.subscriptions.delete(subId);
    unsubscribe();
  }

  /**
   * An AsyncIterableIterator of the payloads published on `triggers`, subscribed from now on.
   * @template [T=any] @param {string | readonly string[]} triggers
   * @returns {TopicIterator<T>}
   */
  asyncIterableIterator(triggers) {
    const list = typeof triggers === 'string' ? [triggers] : triggers;
    if (!Array.isArray(list) || list.length === 0) {
      throw invalidOption(`asyncIterableIterator(triggers): triggers must be a topic name or a non-empty array of them, got ${String(triggers)}`);
    }
    for (const t of list) checkTopic(t, 'asyncIterableIterator(triggers): each trigger');
    return new TopicIterator([...new Set(list)], this.maxQueued);
  }

  /** graphql-subscriptions v2's name for `asyncIterableIterator`. @template [T=any] @param {string | readonly string[]} triggers */
  asyncIterator(triggers) {
    return this.asyncIterableIterator(triggers);
  }
}

/**
 * GraphQL Yoga's `createPubSub()` (@graphql-yoga/subscription) on the process-wide registry.
 * `publish(key, payload)` → topic `key`; `publish(key, id, payload)` → topic `${key}:${id}`;
 * the payload is `args[1] ?? args[0] ?? null`, exactly as in Yoga. `subscribe(key)` /
 * `subscribe(key, id)` returns an async iterable (`for await`, `return()`) on the same topic.
 * Yoga's `eventTarget` and `repeaterBuffer` do not apply: topics are subwire's, and an
 * unconsumed subscription is bounded by `maxQueued` as for `PubSub`.
 * @param {import('../index').PubSubOptions} [config]
 */
function createPubSub(config = {}) {
  const maxQueued = maxQueuedOption(config, 'createPubSub(config)');
  if (/** @type {any} */ (config).eventTarget !== undefined) {
    throw invalidOption(
      "createPubSub({ eventTarget }): subwire's topics are one namespace per process and do not take an EventTarget; leave eventTarget out",
    );
  }
  return {
    /** @param {string} routingKey @param {...any} args `[]`, `[payload]` or `[id, payload]` */
    publish(routingKey, ...args) {
      checkTopic(routingKey, 'publish(routingKey, ...args): routingKey');
      const payload = args[1] ?? args[0] ?? null;
      const topic = args[1] === undefined ? routingKey : `${routingKey}:${args[0]}`;
      return publish(topic, payload);
    },
    /** @param {string} routingKey @param {string | number} [id] */
    subscribe(routingKey, id) {
      checkTopic(routingKey, 'subscribe(routingKey, id?): routingKey');
      const topic = id === undefined ? routingKey : `${routingKey}:${id}`;
      return new TopicIterator([topic], maxQueued);
    },
  };
}

/** The topics of a subwire topic iterator (not wrapped by withFilter or the like), else null. @param {unknown} it */
function topicsOf(it) {
  return it instanceof TopicIterator ? it.topics : null;
}

module.exports = { PubSub, TopicIterator, createPubSub, topicsOf, DEFAULT_MAX_QUEUED };
