'use strict';
/**
 * subwire: GraphQL subscriptions over WebSocket for Node.js, with sockets, frames and
 * fan-out in Rust. The public API, re-exported from lib/ (types: index.d.ts):
 * - `useServer()` (lib/use-server.js): graphql-ws v6 compatible, on subwire's own port or
 *   the app's http.Server;
 * - `PubSub`, `createPubSub()`, `publish()` (lib/pubsub.js): the process's topics;
 *   `brokerStats()` (lib/broker.js): the broker that spans them over processes;
 * - `listen()`, `TransportServer` (lib/transport.js): the bare Rust-owned WebSocket
 *   listener under useServer (echo, broadcast, or `graphql` sessions with a low-level API);
 * - `registerMetrics()`, `METRICS_CONTENT_TYPE` (lib/metrics.js): Prometheus metrics.
 * Requiring it loads the native addon (native/, built from src/ by `npm install`).
 * @module subwire
 */

const { listen, TransportServer } = require('./lib/transport.js');
const { useServer } = require('./lib/use-server.js');
const { PubSub, createPubSub } = require('./lib/pubsub.js');
const { publish } = require('./lib/topics.js');
const { stats: brokerStats } = require('./lib/broker.js');
const { registerMetrics, CONTENT_TYPE: METRICS_CONTENT_TYPE } = require('./lib/metrics.js');

module.exports = { listen, useServer, TransportServer, PubSub, createPubSub, publish, brokerStats, registerMetrics, METRICS_CONTENT_TYPE };
