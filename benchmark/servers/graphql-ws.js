'use strict';
/**
 * The GraphQL reference server: graphql-ws's own `useServer` on `ws` for the
 * `graphql-transport-ws` subprotocol, plus a minimal legacy `graphql-ws`
 * (subscriptions-transport-ws) handler so the load generator's legacy mode has something
 * real to talk to. Schema: `subscription { tick(topic: String!) { seq sentAt body } }` fed
 * by an in-process pubsub (lib/tick-schema.js, shared with servers/stws.js); the runner
 * publishes with `publish <topic> <seq> [bodyBytes]`. `--broker URL --prefix P`: the pubsub is
 * graphql-redis-subscriptions' RedisPubSub on that Redis instead (lib/redis-ticks.js; the
 * cluster scenario's fleet), every publish going through Redis, a failed one reported as an
 * `error` line.
 * @module benchmark/servers/graphql-ws
 */

const http = require('node:http');
const { WebSocketServer } = require('ws');
const { useServer } = require('graphql-ws/use/ws');
const { parse, subscribe, validate } = require('graphql');
const { serve, send, argv } = require('../lib/server-harness');
const { createTicks } = require('../lib/tick-schema');
const { createRedisTicks } = require('../lib/redis-ticks');

const options = argv();
/** @type {any} in-process (publish returns nothing) or over Redis (publish returns its promise; connect, close) */
const ticks = options.broker ? createRedisTicks(options.broker, options.prefix || '') : createTicks();
const { schema } = ticks;

/** Legacy subscriptions-transport-ws: connection_init/ack, start/data/complete, stop, terminate. */
function legacyConnection(socket) {
  /** @type {Map<string, AsyncIterator<unknown>>} */
  const ops = new Map();
  const send = (m) => socket.readyState === socket.OPEN && socket.send(JSON.stringify(m));
  socket.on('message', async (data) => {
    let msg;
    try {
      msg = JSON.parse(String(data));
    } catch {
      return socket.close(4400, 'bad JSON');
    }
    if (msg.type === 'connection_init') return send({ type: 'connection_ack' });
    if (msg.type === 'connection_terminate') return socket.close(1000);
    if (msg.type === 'stop') return ops.get(msg.id)?.return?.();
    if (msg.type !== 'start') return send({ type: 'error', id: msg.id, payload: { message: `unknown type ${msg.type}` } });
    const { id, payload } = msg;
    let document;
    try {
      document = parse(payload.query);
    } catch (e) {
      return send({ type: 'error', id, payload: { message: String(e.message) } });
    }
    const errors = validate(schema, document);
    if (errors.length) return send({ type: 'error', id, payload: errors });
    const result = await subscribe({ schema, document, variableValues: payload.variables });
    if (!(Symbol.asyncIterator in result)) return send({ type: 'error', id, payload: result.errors || result });
    ops.set(id, result);
    for await (const r of result) send({ type: 'data', id, payload: r });
    ops.delete(id);
    send({ type: 'complete', id });
  });
  socket.on('close', () => {
    for (const it of ops.values()) it.return?.();
    ops.clear();
  });
  socket.on('error', () => {});
}

serve('graphql-ws', async () => {
  const a = options;
  await ticks.connect?.();
  const path = a.path || '/';
  const httpServer = http.createServer((_req, res) => res.writeHead(404).end());
  const modern = new WebSocketServer({ noServer: true });
  const legacy = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('graphql-ws') ? 'graphql-ws' : false),
  });
  const cleanup = useServer({ schema }, modern);
  legacy.on('connection', legacyConnection);
  httpServer.on('upgrade', (req, socket, head) => {
    if ((req.url || '').split('?')[0] !== path) return socket.destroy();
    const offered = String(req.headers['sec-websocket-protocol'] || '').split(',').map((s) => s.trim());
    const target = offered.includes('graphql-ws') && !offered.includes('graphql-transport-ws') ? legacy : modern;
    target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
  });
  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: /** @type {import('node:net').AddressInfo} */ (httpServer.address()).port,
    stats: () => ({ connections: modern.clients.size + legacy.clients.size, subscriptions: ticks.subscriptions() }),
    publish: (topic, seq, bodyBytes, sentAt) => {
      const sent = ticks.publish(topic, seq, bodyBytes, sentAt);
      sent?.catch((/** @type {any} */ e) => send({ event: 'error', message: `publish ${topic} ${seq}: ${e.message}` }));
    },
    close: async () => {
      for (const ws of legacy.clients) ws.terminate();
      await cleanup.dispose();
      await new Promise((resolve) => httpServer.close(() => resolve()));
      // (after graphql-ws returned its iterators, which unsubscribe)
      await ticks.close?.();
    },
  };
});
