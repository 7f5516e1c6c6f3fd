'use strict';
/**
 * The legacy reference: subscriptions-transport-ws's `SubscriptionServer` (subprotocol
 * `graphql-ws`, the loadgen's `--protocol graphql-ws`) on a `ws` WebSocketServer, with
 * graphql-js's `execute`/`subscribe` and the same schema and publish semantics as
 * servers/graphql-ws.js (lib/tick-schema.js). No keep-alive (its default), no onConnect.
 *
 * It is given the project's `ws` (8.x, the one graphql-ws runs on) rather than building the
 * ws 7 it bundles, so the two GraphQL rows differ by protocol library only.
 * @module benchmark/servers/stws
 */

const { WebSocketServer } = require('ws');
const { SubscriptionServer } = require('subscriptions-transport-ws');
const { execute, subscribe } = require('graphql');
const { serve, argv } = require('../lib/server-harness');
const { createTicks } = require('../lib/tick-schema');

serve('stws', async () => {
  const ticks = createTicks();
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', path: argv().path || '/' });
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const server = SubscriptionServer.create({ schema: ticks.schema, execute, subscribe }, wss);
  return {
    port: /** @type {import('node:net').AddressInfo} */ (wss.address()).port,
    stats: () => ({ connections: wss.clients.size, subscriptions: ticks.subscriptions() }),
    publish: (topic, seq, bodyBytes, sentAt) => ticks.publish(topic, seq, bodyBytes, sentAt),
    close: () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        server.close();
        wss.close(() => resolve(undefined));
      }),
  };
});
