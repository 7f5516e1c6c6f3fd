'use strict';
// graphql-jit on the executed-group path (lib/jit.js): every `next` a subscriber receives
// must be, byte for byte, graphql-js execute()'s result for that event (as graphql-ws frames
// it), with values that a compiled query reads differently from graphql-js's default
// resolver (a method or a promise where an object is expected, a getter that counts its
// reads, a string where an object is expected, whose `length` graphql-js does not see),
// events whose results have errors (graphql-js executes them again), documents the compiler
// refuses, `jit: false`, and graphql-jit missing from node_modules. Raw ws clients.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const WebSocket = require('ws');
const graphql = require('graphql');
const { useServer, PubSub } = require('..');
const { nextPayload } = require('../lib/next-payload.js');
const { Compiler, inspect } = require('../lib/jit.js');
const { eventually } = require('./helpers');

const {
  GraphQLSchema, GraphQLObjectType, GraphQLUnionType, GraphQLInputObjectType, GraphQLNonNull, GraphQLList,
  GraphQLID, GraphQLString, GraphQLInt,
} = graphql;

const Child = new GraphQLObjectType({ name: 'Child', fields: { id: { type: GraphQLID }, name: { type: GraphQLString } } });
const Wrapped = new GraphQLObjectType({ name: 'Wrapped', fields: { length: { type: GraphQLInt }, name: { type: GraphQLString } } });
const Other = new GraphQLObjectType({ name: 'Other', fields: { id: { type: GraphQLID } }, isTypeOf: (v) => v?.kind === 'other' });
const Filter = new GraphQLInputObjectType({ name: 'Filter', fields: { id: { type: GraphQLID } } });
const Feed = new GraphQLObjectType({
  name: 'Feed',
  fields: {
    id: { type: GraphQLID },
    title: { type: GraphQLString },
    // no resolvers: graphql-js's default resolver reads each once, calls methods, awaits promises
    child: { type: Child },
    items: { type: new GraphQLList(Child) },
    text: { type: Wrapped },
    count: { type: new GraphQLNonNull(GraphQLInt) },
    viewer: { type: GraphQLString, resolve: (_f, _a, ctx) => ctx.user },
    err: {
      type: GraphQLString,
      resolve: (/** @type {any} */ _f, /** @type {any} */ _a, /** @type {any} */ _c, /** @type {any} */ info) => {
        const topic = info.variableValues.t;
        errCalls.set(topic, (errCalls.get(topic) ?? 0) + 1);
        return Promise.reject('a plain string'); // eslint-disable-line prefer-promise-reject-errors
      },
    },
    any: { type: new GraphQLUnionType({ name: 'Any', types: [Child, Other], resolveType: () => 'Child' }) },
    other: { type: Other },
    filtered: { type: GraphQLString, args: { f: { type: Filter } }, resolve: () => 'f' },
  },
});

/** Calls of `Feed.err`'s resolver per topic (variable `$t`). @type {Map<string, number>} */
const errCalls = new Map();

/** A class whose getters count their reads: graphql-js reads each field once per execution. */
class Counted {
  constructor() {
    this.reads = 0;
    this.id = 'c';
    this.count = 3;
  }
  get child() {
    this.reads += 1;
    return { id: `read ${this.reads}`, name: 'getter' };
  }
  get items() {
    this.reads += 1;
    return [{ id: `item read ${this.reads}` }];
  }
}

/** The payloads published, one per event (a factory: each execution gets its own instance). */
const EVENTS = [
  () => ({ feed: { id: 1, title: 'plain', child: { id: 2, name: 'c' }, items: [{ id: 3 }, null], text: { length: 4, name: 'w' }, count: 1 } }),
  () => ({ feed: { id: 'm', child: () => ({ id: 'from a method', name: 'm' }), items: () => [{ id: 'listed' }], text: () => ({ length: 7 }), count: 2 } }),
  () => ({ feed: () => ({ id: 'the root field is a method', count: 3 }) }),
  () => ({ feed: { id: 'p', child: Promise.resolve({ id: 'from a promise' }), items: [Promise.resolve({ id: 'item promise' })], count: 4 } }),
  () => ({ feed: new Counted() }),
  () => ({ feed: { id: 's', text: 'a string where an object is expected', count: 5 } }),
  () => ({ feed: { id: 'null in a non-null field', count: null } }),
  () => ({ feed: { id: 'a leaf method', title() { return 'called'; }, count: 6 } }),
];

const QUERIES = {
  full: 'subscription F($t: String!) { feed(topic: $t) { id title child { id name } items { id name } text { length name } count viewer } }',
  errors: 'subscription E($t: String!) { feed(topic: $t) { id err viewer } }',
  directive: 'subscription D($t: String!, $yes: Boolean!) { feed(topic: $t) { id @include(if: $yes) viewer } }',
};

const pubsub = new PubSub();
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: { feed: { type: Feed, args: { topic: { type: new GraphQLNonNull(GraphQLString) } }, subscribe: (_r, { topic }) => pubsub.asyncIterableIterator(topic) } },
  }),
});

/** A raw client subscribed to every query; `got[name]` collects the `next` payload texts. */
async function client(/** @type {number} */ port, /** @type {string} */ topic) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
  /** @type {Record<string, string[]>} */
  const got = Object.fromEntries(Object.keys(QUERIES).map((k) => [k, []]));
  let acked = false;
  ws.on('message', (data) => {
    const m = JSON.parse(String(data));
    if (m.type === 'connection_ack') acked = true;
    else if (m.type === 'next') got[m.id].push(JSON.stringify(m.payload));
  });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { user: 'ann' } }));
  await eventually(() => acked, 5000, 'ack');
  for (const [id, query] of Object.entries(QUERIES)) ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables: { t: topic, yes: true } } }));
  return { ws, got };
}

/** graphql-js's `next` payload text for `query` and the event made by `make`. */
async function expected(/** @type {string} */ query, /** @type {() => unknown} */ make, /** @type {string} */ topic) {
  const result = await graphql.execute({ schema, document: graphql.parse(query), variableValues: { t: topic, yes: true }, rootValue: make(), contextValue: { user: 'ann' } });
  return JSON.stringify(nextPayload(result));
}

/** @param {any} t @param {object} [options] */
function serve(t, options = {}) {
  const server = useServer({ schema, projection: false, context: (/** @type {any} */ ctx) => ({ user: ctx.connectionParams.user }), ...options }, { port: 0, path: '/graphql' }, 0);
  t.after(() => server.dispose());
  return server;
}

/** Publishes every event to `topic` and waits for each subscription of `c` to have them all. */
async function publishAll(/** @type {{ got: Record<string, string[]> }} */ c, /** @type {string} */ topic) {
  for (const make of EVENTS) pubsub.publish(topic, make());
  await eventually(() => Object.values(c.got).every((list) => list.length === EVENTS.length), 10000, 'every event');
}

/** Differences between what `c` got and graphql-js's results. */
async function differences(/** @type {{ got: Record<string, string[]> }} */ c, /** @type {string} */ topic) {
  const out = [];
  for (const [name, query] of Object.entries(QUERIES)) {
    for (const [i, make] of EVENTS.entries()) {
      const want = await expected(query, make, topic);
      if (c.got[name][i] !== want) out.push(`${name} event ${i}:\n    got  ${c.got[name][i]}\n    want ${want}`);
    }
  }
  return out;
}

test('graphql-jit results are graphql-js results, byte for byte, for values a compiled read gets wrong', async (t) => {
  const server = serve(t);
  const c = await client(server.address().port, 'jit-1');
  t.after(() => c.ws.close());
  await eventually(() => server.stats().subscriptions === 3, 5000, 'subscribed');
  await publishAll(c, 'jit-1');
  const calls = errCalls.get('jit-1'); // before differences(), whose execute() calls it too
  assert.deepEqual(await differences(c, 'jit-1'), []);
  const s = server.stats();
  // `full` and `errors` are compiled (`directive` is refused). `errors` has errors at its
  // first event: graphql-js executes that one again and every later one. `full` runs
  // compiled until its first result with errors (the null in a non-null field, event 6),
  // then graphql-js (event 7, the leaf method, which a compiled query would serialize).
  assert.equal(s.compiledExecutions, 1 + 7);
  assert.equal(s.compiledFallbacks, 2);
  // so a resolver runs once per event, but for the one event executed twice
  assert.equal(calls, EVENTS.length + 1);
});

test('jit: false executes every event with graphql-js, with the same results', async (t) => {
  const server = serve(t, { jit: false });
  const c = await client(server.address().port, 'jit-2');
  t.after(() => c.ws.close());
  await eventually(() => server.stats().subscriptions === 3, 5000, 'subscribed');
  await publishAll(c, 'jit-2');
  assert.deepEqual(await differences(c, 'jit-2'), []);
  assert.equal(server.stats().compiledExecutions, 0);
  assert.throws(() => useServer(/** @type {any} */ ({ schema, jit: 'yes' }), { port: 0 }), { code: 'ERR_SUBWIRE_INVALID_OPTION' });
});

test('documents graphql-jit handles differently stay with graphql-js', () => {
  const why = (/** @type {string} */ q) => {
    const document = graphql.parse(q);
    const verdict = inspect(graphql, schema, document, graphql.getOperationAST(document));
    return typeof verdict === 'string' ? verdict : 'compiled';
  };
  assert.equal(why(QUERIES.full), 'compiled');
  assert.match(why(QUERIES.directive), /directive/);
  assert.match(why('subscription { feed(topic: "t") { any { ... on Child { id } } } }'), /interface or union/);
  assert.match(why('subscription { feed(topic: "t") { other { id } } }'), /isTypeOf/);
  assert.match(why('subscription($f: Filter) { feed(topic: "t") { filtered(f: $f) } }'), /variable \$f/);
  assert.match(why('subscription { feed(topic: "t") { filtered(f: { id: 1 }) } }'), /argument/);
  assert.match(why('subscription { feed(topic: "t") { ... on Feed { __schema: id } } }'), /compiled/);
  // a fieldResolver from onSubscribe: graphql-jit would not call it
  const compiler = new Compiler(graphql, true);
  const document = graphql.parse(QUERIES.full);
  assert.equal(typeof compiler.queryFor({ schema, document }), 'function');
  assert.equal(compiler.queryFor({ schema, document, fieldResolver: () => 1 }), null);
  assert.equal(new Compiler(graphql, false).queryFor({ schema, document }), null);
});

test('without graphql-jit installed, executed groups run graphql-js', () => {
  // a child process in which require('graphql-jit') fails as if it were not installed
  const hide = `const M = require('module'); const r = M._resolveFilename;
    M._resolveFilename = function (req, ...a) { if (req === 'graphql-jit') { const e = new Error('not found'); e.code = 'MODULE_NOT_FOUND'; throw e; } return r.call(this, req, ...a); };`;
  const script = `${hide}
    const assert = require('node:assert/strict');
    const WebSocket = require('ws');
    const { useServer, PubSub } = require('.');
    const { buildSchema } = require('graphql');
    const pubsub = new PubSub();
    const schema = buildSchema('type Query { ok: Int } type Subscription { tick(t: String!): Tick } type Tick { seq: Int! who: String }');
    schema.getSubscriptionType().getFields().tick.subscribe = (_r, { t }) => pubsub.asyncIterableIterator(t);
    schema.getType('Tick').getFields().who.resolve = (_p, _a, ctx) => ctx.user;
    const server = useServer({ schema, projection: false, context: () => ({ user: 'bo' }) }, { port: 0 }, 0);
    const ws = new WebSocket('ws://127.0.0.1:' + server.address().port, 'graphql-transport-ws');
    ws.on('open', () => ws.send('{"type":"connection_init"}'));
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'connection_ack') ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { tick(t: "x") { seq who } }' } }));
      if (m.type === 'next') {
        assert.equal(JSON.stringify(m.payload), '{"data":{"tick":{"seq":1,"who":"bo"}}}');
        assert.equal(server.stats().compiledExecutions, 0);
        console.log('delivered by graphql-js');
        ws.close();
        server.dispose();
      }
    });
    const poll = setInterval(() => { if (server.stats().subscriptions === 1) { clearInterval(poll); pubsub.publish('x', { tick: { seq: 1 } }); } }, 10);`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /delivered by graphql-js/);
});
