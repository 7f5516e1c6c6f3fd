'use strict';
// NODE_ENV=production hides hook error messages from clients (4500 'Internal server error'),
// as graphql-ws does; elsewhere the message is sent. Each runs in its own process.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const SCRIPT = `
const { buildSchema } = require('graphql');
const WebSocket = require('ws');
const s = require('.').useServer(
  { schema: buildSchema('type Query { a: Int }'), onConnect: () => { throw new Error('database is down'); } },
  { port: 0 },
);
const ws = new WebSocket('ws://127.0.0.1:' + s.address().port + '/', 'graphql-transport-ws');
ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
ws.on('close', async (code, reason) => { console.log(JSON.stringify({ code, reason: String(reason) })); await s.dispose(); });
`;

function closeWith(env) {
  const out = execFileSync(process.execPath, ['-e', SCRIPT], {
    cwd: path.join(__dirname, '..'),
    env: { ...process.env, NODE_ENV: env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return JSON.parse(out.trim().split('\n').pop());
}

test('a throwing onConnect: 4500 with the message in development, without it in production', () => {
  assert.deepEqual(closeWith('development'), { code: 4500, reason: 'database is down' });
  assert.deepEqual(closeWith('production'), { code: 4500, reason: 'Internal server error' });
});
