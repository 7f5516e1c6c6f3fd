'use strict';
// `npm start`: a GraphQL subscription server on subwire, on embedded defaults, and a live page.
// One port serves the page (http://HOST:PORT/), the server's stats as JSON (/stats), its
// Prometheus metrics (/metrics, which the page's charts are drawn from), a publish endpoint
// (POST /publish), a bounded built-in load (POST /load: LOAD_CLIENTS local clients for
// LOAD_SECONDS, one load at a time, examples/demo-load.js in its own process) and GraphQL
// over WebSocket (/graphql, handed to subwire's Rust reactors by attaching to this
// http.Server). A `tick` subscription publishes every second, the page's button one more;
// while a load runs, `load` publishes 20 times a second to its clients. No build step and no
// CDN: the page loads graphql-ws's browser bundle from node_modules. PORT and HOST override
// the defaults; Ctrl-C stops it.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { buildSchema } = require('graphql');
const { useServer, PubSub, METRICS_CONTENT_TYPE } = require('..');

const schema = buildSchema(`
  type Query { hello: String! }
  type Tick { seq: Int!, at: String!, source: String! }
  type Load { seq: Int!, at: Float! }
  type Subscription { tick: Tick!, load: Load! }
`);
const pubsub = new PubSub();
// `tick` has graphql-js's default resolvers, so subwire projects each event in Rust.
const roots = {
  query: { hello: () => 'Hello from subwire' },
  subscription: { tick: () => pubsub.asyncIterableIterator('TICK'), load: () => pubsub.asyncIterableIterator('LOAD') },
};

const LOAD_CLIENTS = 2000;
const LOAD_SECONDS = 30;
/** The running load: its child process and the publishing timer (null when idle). */
let load = null;
let loadSeq = 0;
function startLoad(url) {
  if (load) return false;
  const child = spawn(process.execPath, [path.join(__dirname, 'demo-load.js'), url, String(LOAD_CLIENTS), String(LOAD_SECONDS)], { stdio: 'ignore' });
  const timer = setInterval(() => pubsub.publish('LOAD', { load: { seq: ++loadSeq, at: Date.now() } }), 50);
  const until = Date.now() + LOAD_SECONDS * 1000;
  load = { child, timer, until };
  const end = () => {
    clearInterval(timer);
    if (load?.child === child) load = null;
  };
  child.on('exit', end);
  child.on('error', end);
  return true;
}
function stopLoad() {
  if (!load) return;
  clearInterval(load.timer);
  load.child.kill('SIGKILL');
  load = null;
}

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
  } else if (req.method === 'GET' && url === '/metrics') {
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(server.metrics());
  } else if (url === '/load') {
    const { address, port: bound } = /** @type {import('node:net').AddressInfo} */ (httpServer.address());
    const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
    const started = req.method === 'POST' && startLoad(`ws://${host}:${bound}/graphql`);
    const body = { running: Boolean(load), clients: LOAD_CLIENTS, seconds: LOAD_SECONDS, started, left: load ? Math.max(0, Math.round((load.until - Date.now()) / 1000)) : 0 };
    res.writeHead(req.method === 'POST' && !started ? 409 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
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
  stopLoad();
  console.log('\nclosing connections…');
  await server.dispose();
  await new Promise((resolve) => httpServer.close(() => resolve()));
  console.log('stopped');
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
