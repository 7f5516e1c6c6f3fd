'use strict';
// useServer with many real graphql-ws clients: 1,000 connections subscribe, each gets the
// event, and disconnecting all of them returns every iterator.
const test = require('node:test');
const assert = require('node:assert/strict');
const { buildSchema } = require('graphql');
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');
const { useServer } = require('..');
const { eventually } = require('./helpers');

test('1,000 graphql-ws clients subscribe, all receive the event, and all iterators end on disconnect', async (t) => {
  const schema = buildSchema('type Query { a: Int } type Subscription { ping: Int }');
  const waiting = new Set();
  let live = 0;
  const roots = {
    subscription: {
      ping: () => {
        live += 1;
        let resolveNext = null;
        let done = false;
        const it = {
          next: () =>
            done ? Promise.resolve({ done: true, value: undefined }) : new Promise((r) => (resolveNext = r)),
          return: () => {
            if (!done) {
              done = true;
              live -= 1;
              waiting.delete(it);
              resolveNext?.({ done: true, value: undefined });
            }
            return Promise.resolve({ done: true, value: undefined });
          },
          [Symbol.asyncIterator]() {
            return this;
          },
          fire: (n) => resolveNext?.({ done: false, value: { ping: n } }),
        };
        waiting.add(it);
        return it;
      },
    },
  };
  const server = useServer({ schema, roots }, { port: 0, reactors: 2 });
  t.after(() => server.dispose());
  const url = `ws://127.0.0.1:${server.address().port}/`;
  const N = 1000;
  const clients = [];
  const received = new Array(N).fill(null);
  for (let i = 0; i < N; i++) {
    const c = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    clients.push(c);
    c.subscribe({ query: 'subscription { ping }' }, { next: (r) => (received[i] = r.data.ping), error: () => {}, complete: () => {} });
  }
  await eventually(() => waiting.size === N, 20_000, `${N} live subscriptions (have ${waiting.size})`);
  assert.equal(server.stats().open, N);
  for (const it of waiting) it.fire(42);
  await eventually(() => received.every((v) => v === 42), 10_000, 'every client to receive the event');
  await Promise.all(clients.map((c) => c.dispose()));
  await eventually(() => live === 0, 10_000, `every iterator to be returned (live: ${live})`);
  await eventually(() => server.stats().connections === 0, 10_000, 'every connection to close');
});
