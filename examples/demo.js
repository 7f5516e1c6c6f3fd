'use strict';
// `npm start`: a GraphQL subscription server on subwire, on embedded defaults.
// A `tick` subscription publishes on a timer; queries work over the socket too.
// PORT and HOST override the defaults; Ctrl-C stops it cleanly.
const { buildSchema } = require('graphql');
const { useServer } = require('..');

const schema = buildSchema(`
  type Query { hello: String! }
  type Tick { seq: Int!, at: String! }
  type Subscription { tick: Tick! }
`);

// A tiny in-process topic: every subscriber of `tick` gets each published value. The
// iterator's return() ends it at once, even while it waits for the next value (an async
// generator could not: its return() would wait for a publish that may never come).
const listeners = new Set();
function publish(value) {
  for (const push of listeners) push(value);
}
function ticks() {
  const queue = [];
  let waiting = null;
  const push = (tick) => {
    if (waiting) {
      waiting({ value: { tick }, done: false });
      waiting = null;
    } else queue.push(tick);
  };
  listeners.add(push);
  const end = () => {
    listeners.delete(push);
    waiting?.({ value: undefined, done: true });
    waiting = null;
    return Promise.resolve({ value: undefined, done: true });
  };
  return {
    next: () =>
      queue.length
        ? Promise.resolve({ value: { tick: queue.shift() }, done: false })
        : listeners.has(push)
          ? new Promise((resolve) => (waiting = resolve))
          : Promise.resolve({ value: undefined, done: true }),
    return: end,
    throw: (e) => end().then(() => Promise.reject(e)),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const roots = {
  query: { hello: () => 'Hello from subwire' },
  subscription: { tick: ticks },
};

const port = Number(process.env.PORT ?? 4000);
const host = process.env.HOST ?? '127.0.0.1';
const server = useServer({ schema, roots }, { port, host, path: '/graphql' });
const { address, port: bound } = server.address();
const url = `ws://${address}:${bound}/graphql`;

let seq = 0;
const timer = setInterval(() => publish({ seq: ++seq, at: new Date().toISOString() }), 1000);

console.log(`subwire GraphQL subscriptions on ${url}`);
console.log('Subscribe from another terminal (in a project with `npm i graphql-ws ws`):');
console.log(
  `  node -e "require('graphql-ws').createClient({url:'${url}',webSocketImpl:require('ws')})` +
    `.subscribe({query:'subscription{tick{seq at}}'},{next:(r)=>console.log(JSON.stringify(r.data)),error:console.error,complete:()=>{}})"`,
);
console.log('Press Ctrl-C to stop.');

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  console.log('\nclosing connections…');
  await server.dispose();
  console.log('stopped');
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
