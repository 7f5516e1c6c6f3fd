'use strict';
// The demo's built-in load (examples/demo.js starts it from the page's button): CLIENTS
// WebSocket clients of this machine subscribe to `load` over graphql-transport-ws, hold for
// SECONDS, then close and the process exits by itself. Its own process, so its sockets do
// not count against the server's file descriptors. Usage: node demo-load.js URL CLIENTS SECONDS
const WebSocket = require('ws');

const [url, clientsArg, secondsArg] = process.argv.slice(2);
const CLIENTS = Math.min(Number(clientsArg) || 2000, 5000);
const SECONDS = Math.min(Number(secondsArg) || 30, 120);
// Hard bound: whatever happens, this process ends.
setTimeout(() => process.exit(0), (SECONDS + 10) * 1000).unref();

const sockets = [];
let received = 0;
let open = 0;
function client(i) {
  // To 127.0.0.1, spread over loopback source addresses, as a crowd of hosts would be.
  const spread = url.startsWith('ws://127.0.0.1:') ? { localAddress: `127.0.0.${2 + (i % 200)}` } : {};
  const ws = new WebSocket(url, 'graphql-transport-ws', spread);
  ws.on('open', () => {
    open++;
    ws.send(JSON.stringify({ type: 'connection_init' }));
  });
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data));
    if (msg.type === 'connection_ack') ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { load { seq } }' } }));
    else if (msg.type === 'next') received++;
  });
  ws.on('close', () => open--);
  ws.on('error', () => {});
  sockets.push(ws);
}

(async () => {
  // Connect in steps of 250, so the page sees the count climb.
  for (let i = 0; i < CLIENTS; i += 250) {
    for (let k = i; k < Math.min(CLIENTS, i + 250); k++) client(k);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  for (const ws of sockets) ws.close(1000);
  await new Promise((r) => setTimeout(r, 1000));
  console.log(JSON.stringify({ clients: CLIENTS, received, stillOpen: open }));
  process.exit(0);
})();
