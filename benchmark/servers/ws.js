'use strict';
/**
 * Baseline: the `ws` echo server users know (`new WebSocketServer({ port })`, defaults
 * otherwise: no permessage-deflate), on 127.0.0.1 with a free port.
 * @module benchmark/servers/ws
 */

const { WebSocketServer } = require('ws');
const { serve } = require('../lib/server-harness');

serve('ws', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
  });
  return {
    port: /** @type {import('node:net').AddressInfo} */ (wss.address()).port,
    stats: () => ({ connections: wss.clients.size }),
    close: () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
});
