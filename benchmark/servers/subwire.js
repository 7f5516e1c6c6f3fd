'use strict';
/**
 * subwire's Rust-owned transport (this stage's JS API: `listen`), echo mode by default.
 * Options: `--listener reuseport|shared`, `--reactors N`, `--mode echo|broadcast`; in broadcast
 * mode `publish <topic> <seq> [bodyBytes]` broadcasts `{"seq","sentAt","body"}` to every client.
 * @module benchmark/servers/subwire
 */

const { serve, argv, nowMs } = require('../lib/server-harness');

serve('subwire', async () => {
  const { listen } = require('../..');
  const a = argv();
  const srv = listen({
    port: 0,
    host: '127.0.0.1',
    path: '/',
    mode: a.mode || 'echo',
    maxConnections: 19500,
    listener: a.listener || 'reuseport',
    ...(a.reactors ? { reactors: Number(a.reactors) } : {}),
  });
  return {
    port: srv.address().port,
    stats: () => srv.stats(),
    publish: (_topic, seq, bodyBytes) => srv.broadcast(JSON.stringify({ seq, sentAt: nowMs(), body: 'x'.repeat(bodyBytes) })),
    close: () => srv.dispose(),
  };
});
