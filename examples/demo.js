'use strict';
// `npm start`: a broadcast WebSocket server on subwire's Rust transport.
// Every message a client sends goes to every connected client; the server also
// broadcasts a tick every second. Defaults are embedded; PORT and HOST override them.
const { listen } = require('..');

const port = Number(process.env.PORT ?? 4000);
const host = process.env.HOST ?? '127.0.0.1';
const server = listen({ port, host, path: '/', mode: 'broadcast' });
const { address, port: bound } = server.address();
const url = `ws://${address}:${bound}/`;

console.log(`subwire demo listening on ${url}`);
console.log('Try it from another terminal (Node 22+ has a global WebSocket; on Node 20 use the ws package):');
console.log(`  node -e "const W=require('ws');const s=new W('${url}');s.on('message',m=>console.log(String(m)));s.on('open',()=>s.send('hello'))"`);
console.log('Press Ctrl-C to stop.');

let seq = 0;
const timer = setInterval(() => {
  seq += 1;
  server.broadcast(JSON.stringify({ tick: seq, at: new Date().toISOString(), stats: server.stats() }));
}, 1000);

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
