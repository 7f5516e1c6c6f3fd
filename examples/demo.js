'use strict';
// `npm start`: a GraphQL subscription server on subwire, on embedded defaults, and a live page.
// One port serves the page (http://HOST:PORT/), the server's stats as JSON (/stats), a publish
// endpoint (POST /publish) and GraphQL over WebSocket (/graphql, handed to subwire's Rust
// reactors by attaching to this http.Server). A `tick` subscription publishes every second;
// the page's button publishes one more. No build step and no CDN: the page loads graphql-ws's
// browser bundle from node_modules. PORT and HOST override the defaults; Ctrl-C stops it.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { buildSchema } = require('graphql');
const { useServer, PubSub } = require('..');

const schema = buildSchema(`
  type Query { hello: String! }
  type Tick { seq: Int!, at: String!, source: String! }
  type Subscription { tick: Tick! }
`);
const pubsub = new PubSub();
// `tick` has graphql-js's default resolvers, so subwire projects each event in Rust.
const roots = {
  query: { hello: () => 'Hello from subwire' },
  subscription: { tick: () => pubsub.asyncIterableIterator('TICK') },
};

const PAGE = fs.readFileSync(path.join(__dirname, 'demo.html'));
// graphql-ws's browser build (its package exports do not list it: find it next to its main file).
const BUNDLE = path.join(path.dirname(require.resolve('graphql-ws')), '..', 'umd', 'graphql-ws.min.js');

let seq = 0;
const tick = (source) => pubsub.publish('TICK', { tick: { seq: ++seq, at: new Date().toISOString(), source } });

const httpServer = http.createServer((req, res) => {
  const url = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && url === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  } else if (req.method === 'GET' && url === '/graphql-ws.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    fs.createReadStream(BUNDLE).pipe(res);
  } else if (req.method === 'GET' && url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(server.stats()));
  } else if (req.method === 'POST' && url === '/publish') {
    tick('button');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ seq }));
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
});
const server = useServer({ schema, roots }, { server: httpServer, path: '/graphql' });

const port = Number(process.env.PORT ?? 4000);
const host = process.env.HOST ?? '127.0.0.1';
const timer = setInterval(() => tick('timer'), 1000);
httpServer.listen(port, host, () => {
  const { address, port: bound } = /** @type {import('node:net').AddressInfo} */ (httpServer.address());
  const url = `ws://${address}:${bound}/graphql`;
  console.log(`subwire demo page on http://${address}:${bound}/`);
  console.log(`GraphQL subscriptions on ${url}`);
  console.log('Subscribe from another terminal (in a project with `npm i graphql-ws ws`):');
  console.log(
    `  node -e "require('graphql-ws').createClient({url:'${url}',webSocketImpl:require('ws')})` +
      `.subscribe({query:'subscription{tick{seq at}}'},{next:(r)=>console.log(JSON.stringify(r.data)),error:console.error,complete:()=>{}})"`,
  );
  console.log('Press Ctrl-C to stop.');
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  console.log('\nclosing connections…');
  await server.dispose();
  await new Promise((resolve) => httpServer.close(() => resolve()));
  console.log('stopped');
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
