'use strict';
/**
 * subwire's GraphQL server for the fan-out scenario, on subwire's public API: `useServer`
 * with its own Rust listener, subwire's `PubSub`, keep-alive off, `maxConnections: 19500`,
 * and the schema of servers/graphql-ws.js: `subscription { tick(topic: String!) { seq
 * sentAt body } }`, tick's `subscribe` returning `pubsub.asyncIterableIterator(topic)` and
 * `resolve: (p) => p`; `publish <topic> <seq> [bodyBytes]` publishes `{ seq, sentAt, body }`
 * with `server.publish` (the same topic namespace as `pubsub.publish`).
 *
 * Flags: `--share` sets `shareKey: () => 'all'` (one execution per event for all
 * subscribers); `--projected` drops tick's `resolve` and publishes `{ tick: { … } }`, so
 * every field uses graphql-js's default resolver and Rust projects each event from the
 * published JSON (subwire's automatic path for such schemas). `--path /p` (default `/`);
 * `--max-buffered N` sets `maxBufferedBytes` (default: subwire's). `--broker URL --prefix P`
 * sets `broker: { url, prefix }` (the cluster scenario's fleet on one Redis): a publish goes
 * to this process's subscribers and to Redis; a failed broker publish is reported as an
 * `error` line (which fails the run). `--reactors N` sets `reactors` (default: cores). With `SUBWIRE_DIR` set,
 * subwire is loaded from that checkout instead of this one (`npm run bench -- --compare DIR`).
 * @module benchmark/servers/subwire-graphql
 */

const { serve, send, argv, nowMs } = require('../lib/server-harness');

serve('subwire-graphql', async () => {
  // Inside start(): a missing or broken addon is reported as this server's start error.
  // SUBWIRE_DIR: another checkout to load subwire from (the runner's --compare A/B rows).
  const dir = process.env.SUBWIRE_DIR;
  const { useServer, PubSub } = require(dir || '../..');
  // The schema must come from the graphql module that subwire executes with.
  const graphql = require(dir ? require.resolve('graphql', { paths: [dir] }) : 'graphql');
  const { tickSchema } = require('../lib/tick-schema');
  const a = argv();
  const share = a.share === 'true';
  const projected = a.projected === 'true';
  const pubsub = new PubSub();
  const schema = tickSchema((_root, { topic }) => pubsub.asyncIterableIterator(topic), projected ? undefined : (p) => p, graphql);
  const server = useServer(
    {
      schema,
      shareKey: share ? () => 'all' : undefined,
      maxConnections: 19500,
      ...(a['max-buffered'] ? { maxBufferedBytes: Number(a['max-buffered']) } : {}),
      ...(a.broker ? { broker: { url: a.broker, prefix: a.prefix || '' } } : {}),
      ...(a.reactors ? { reactors: Number(a.reactors) } : {}),
    },
    { port: 0, host: '127.0.0.1', path: a.path || '/' },
    0, // keep-alive off, as in the other servers
  );
  return {
    port: server.address().port,
    stats: () => server.stats(),
    publish: (topic, seq, bodyBytes, sentAt = nowMs()) => {
      const tick = { seq, sentAt, body: 'x'.repeat(bodyBytes) };
      const sent = server.publish(topic, projected ? { tick } : tick);
      // (a Promise: the broker's answer; without a broker it resolves)
      sent?.catch?.((/** @type {any} */ e) => send({ event: 'error', message: `publish ${topic} ${seq}: ${e.code}: ${e.message}` }));
    },
    close: () => server.dispose(),
  };
});
