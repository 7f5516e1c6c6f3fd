'use strict';
// From a subscribe message to execution arguments (lib/execution.js), as graphql-ws does it:
// `schema` as a function of (ctx, id, payload, args) picks the schema per operation; the
// arguments it gets carry no schema yet. Real graphql-ws client, real listening server.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { buildSchema } = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer } = require('..');
const { run } = require('./helpers');

const publicSchema = buildSchema('type Query { who(n: Int): String }');
const adminSchema = buildSchema('type Query { who(n: Int): String, secret: String }');


test('schema as a function: per connection and operation, with graphql-ws’s arguments', async (t) => {
  /** @type {any[]} */
  const calls = [];
  const server = useServer(
    {
      schema: async (ctx, id, payload, args) => {
        calls.push({ id, payload, keys: Object.keys(args).sort(), operationName: args.operationName, variables: args.variableValues, kind: args.document.kind });
        return ctx.connectionParams?.admin ? adminSchema : publicSchema;
      },
      roots: { query: { who: () => 'me', secret: () => 's3cret' } },
    },
    { port: 0, path: '/graphql' },
  );
  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  const admin = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { admin: true } });
  const guest = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  t.after(async () => {
    await admin.dispose();
    await guest.dispose();
    await server.dispose();
  });
  const query = 'query Q($n: Int) { who(n: $n) secret }';
  const a = await run(admin, { query, operationName: 'Q', variables: { n: 1 } });
  assert.deepEqual(a, { results: [{ data: { who: 'me', secret: 's3cret' } }], error: null });
  const g = await run(guest, { query, operationName: 'Q', variables: { n: 1 } });
  assert.equal(g.results.length, 0);
  assert.match(g.error[0].message, /Cannot query field "secret"/, 'validated against the schema the function chose');
  assert.equal(calls.length, 2);
  for (const c of calls) {
    assert.deepEqual(c.keys, ['document', 'operationName', 'variableValues'], 'no schema in the arguments yet');
    assert.equal(c.operationName, 'Q');
    assert.deepEqual(c.variables, { n: 1 });
    assert.equal(c.kind, 'Document');
    assert.equal(c.payload.query, query);
  }
});
