'use strict';
// One subwire process of a fleet, for the broker tests (a child process, driven over IPC):
// useServer with the broker on its own port (or `reusePort`), or attached to an http.Server
// in a `cluster` worker. Subscriptions: `tick(topic)` (projected: Rust writes the results)
// and `computed(topic)` (a resolver: graphql-js per event). Messages from the parent:
// { cmd: 'publish', topic, label, from, count, every? } → { published, failed, codes },
// { cmd: 'stats' } → { stats, fds, rss }, { cmd: 'exit' }. It reports { ready, port } when
// it listens and { brokerError: code } for each broker error.
const fs = require('node:fs');
const { buildSchema } = require('graphql');
const { useServer, PubSub } = require('..');

const schema = buildSchema(`
  type Query { a: Int }
  type Tick { seq: Int!, label: String }
  type Subscription { tick(topic: String!): Tick, computed(topic: String!): Tick }
`);
const pubsub = new PubSub();
const roots = {
  subscription: {
    tick: ({ topic }) => pubsub.asyncIterableIterator(topic),
    computed: ({ topic }) => pubsub.asyncIterableIterator(topic),
  },
};
schema.getSubscriptionType().getFields().computed.resolve = (p) => p.tick;

const send = (/** @type {any} */ m) => process.send?.(m);
const broker = {
  url: /** @type {string} */ (process.env.REDIS_URL),
  prefix: 'app:',
  reconnect: { minDelay: 50, maxDelay: 500 },
  onError: (/** @type {any} */ e) => send({ brokerError: e.code, message: e.message }),
};

/** @type {import('..').Server} */
let server;
if (process.env.ATTACH === '1') {
  // a cluster worker: the primary shares the port, this worker's http.Server hands its upgrades over
  const http = require('node:http');
  const httpServer = http.createServer((_req, res) => res.end('ok'));
  server = useServer({ schema, roots, broker, reactors: 1 }, { server: httpServer, path: '/graphql' }, 0);
  httpServer.listen(Number(process.env.PORT), '127.0.0.1', () => send({ ready: true, port: Number(process.env.PORT), pid: process.pid }));
} else {
  const target = { port: Number(process.env.PORT ?? 0), host: '127.0.0.1', path: '/graphql', reusePort: process.env.REUSE === '1' };
  server = useServer({ schema, roots, broker, reactors: 1 }, target, 0);
  send({ ready: true, port: server.address().port, pid: process.pid });
}

process.on('message', async (/** @type {any} */ m) => {
  if (m.cmd === 'publish') {
    let failed = 0;
    /** @type {Set<string>} */
    const codes = new Set();
    const all = [];
    for (let i = 0; i < m.count; i++) {
      const p = server.publish(m.topic, { tick: { seq: m.from + i, label: m.label } }).catch((e) => {
        failed++;
        codes.add(e.code);
      });
      all.push(p);
      if (m.every) await new Promise((r) => setTimeout(r, m.every));
    }
    await Promise.all(all);
    send({ published: m.count - failed, failed, codes: [...codes] });
  } else if (m.cmd === 'stats') {
    send({ stats: server.stats(), fds: fs.readdirSync('/proc/self/fd').length, rss: process.memoryUsage().rss });
  } else if (m.cmd === 'exit') {
    await server.dispose();
    process.exit(0);
  }
});
