'use strict';
/**
 * lib/tick-schema.js's ticks over Redis, for servers/graphql-ws.js `--broker URL --prefix P`
 * (the cluster scenario's peer): what graphql-ws apps run today to scale out, graphql-redis-
 * subscriptions' `RedisPubSub` on two ioredis connections (one publishes, one subscribes).
 * tick's `subscribe` returns `pubsub.asyncIterableIterator(prefix + topic)`; `publish`
 * sends `{ seq, sentAt, body }` as JSON to channel `prefix + topic` (the same channel and
 * message subwire's broker uses, so the load generator sees the same events), and this
 * process's own subscribers get it back from Redis like every other process's.
 * `subscriptions` counts iterators created and not yet returned.
 * @module benchmark/lib/redis-ticks
 */

const { tickSchema } = require('./tick-schema');
const { nowMs, countLive } = require('./server-harness');

/** @param {string} url redis://host:port @param {string} prefix */
function createRedisTicks(url, prefix) {
  const { RedisPubSub } = require('graphql-redis-subscriptions');
  const { Redis } = require('ioredis');
  const publisher = new Redis(url, { lazyConnect: true });
  const subscriber = new Redis(url, { lazyConnect: true });
  for (const r of [publisher, subscriber]) r.on('error', (e) => process.stderr.write(`ioredis: ${e.message}\n`));
  const pubsub = new RedisPubSub({ publisher, subscriber });
  const counter = { live: 0 };
  const subscribe = (/** @type {unknown} */ _root, /** @type {{ topic: string }} */ { topic }) =>
    countLive(pubsub.asyncIterableIterator(prefix + topic), counter);
  return {
    schema: tickSchema(subscribe, (p) => p),
    /** Connects both clients; rejects if Redis cannot be reached. */
    connect: () => Promise.all([publisher.connect(), subscriber.connect()]),
    subscriptions: () => counter.live,
    /** The Redis PUBLISH's promise (rejects if Redis refused it). */
    publish(/** @type {string} */ topic, /** @type {number} */ seq, /** @type {number} */ bodyBytes, sentAt = nowMs()) {
      return pubsub.publish(prefix + topic, { seq, sentAt, body: 'x'.repeat(bodyBytes) });
    },
    close: () => pubsub.close(),
  };
}

module.exports = { createRedisTicks };
