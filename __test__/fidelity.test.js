'use strict';
// Differential test: every event a subscriber receives must be, byte for byte, what
// graphql-ws (on ws, graphql-js execute() per subscriber) sends for it, whichever path
// subwire served it by: projected (the default), shared (`shareKey`), per subscriber
// (`projection: false`), over graphql-transport-ws and the legacy protocol. The payloads are
// the values apps really publish (class instances with getters, Dates, toJSON objects,
// methods, BigInt, proxies, odd numbers…), each published once to every server at the same
// time. Plain JSON payloads must stay on the projected fast path; the others must fall
// back to graphql-js (stats().projectionFallbacks) rather than be guessed.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const graphql = require('graphql');
const { useServer, PubSub, publish } = require('..');
const { eventually } = require('./helpers');

const {
  GraphQLSchema, GraphQLObjectType, GraphQLEnumType, GraphQLList, GraphQLNonNull,
  GraphQLID, GraphQLString, GraphQLInt, GraphQLFloat, GraphQLBoolean,
} = graphql;

const Color = new GraphQLEnumType({ name: 'Color', values: { RED: {}, GREEN: {} } });
const Level = new GraphQLEnumType({ name: 'Level', values: { LOW: { value: 1 }, HIGH: { value: 2 } } });
/** @type {GraphQLObjectType} */
const Item = new GraphQLObjectType({
  name: 'Item',
  fields: () => ({
    id: { type: GraphQLID },
    name: { type: GraphQLString },
    n: { type: GraphQLInt },
    x: { type: GraphQLFloat },
    b: { type: GraphQLBoolean },
    color: { type: Color },
    tags: { type: new GraphQLList(GraphQLString) },
    nums: { type: new GraphQLList(new GraphQLNonNull(GraphQLInt)) },
    child: { type: Item },
    children: { type: new GraphQLList(Item) },
  }),
});
const Strict = new GraphQLObjectType({
  name: 'Strict',
  fields: { req: { type: new GraphQLNonNull(GraphQLString) }, nums: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLInt))) } },
});
// Field names that are also Object.prototype members: valid GraphQL, inherited functions in JS.
const Proto = new GraphQLObjectType({
  name: 'Proto',
  fields: { id: { type: GraphQLID }, constructor: { type: GraphQLString }, toString: { type: GraphQLString }, valueOf: { type: GraphQLInt }, hasOwnProperty: { type: GraphQLBoolean } },
});
const pubsub = new PubSub();
const topicArg = { topic: { type: new GraphQLNonNull(GraphQLString) } };
const source = (/** @type {any} */ _root, /** @type {{ topic: string }} */ { topic }) => pubsub.asyncIterableIterator(topic);
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLBoolean } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      item: { type: Item, args: topicArg, subscribe: source },
      strict: { type: Strict, args: topicArg, subscribe: source },
      proto: { type: Proto, args: topicArg, subscribe: source },
      // an enum with internal values: never projected (graphql-js maps 1 → LOW)
      level: { type: Level, args: topicArg, subscribe: source },
    },
  }),
});

const TOPIC = 'fidelity';
/** The operations every client runs: id → query. Three are projectable, `level` is not. */
const QUERIES = {
  item: `subscription Item($topic: String!) { item(topic: $topic) { __typename id name n x b color tags nums
    child { id name child { name } } children { id name } } }`,
  strict: 'subscription Strict($topic: String!) { s: strict(topic: $topic) { req nums } }',
  proto: 'subscription Proto($topic: String!) { proto(topic: $topic) { id constructor toString valueOf hasOwnProperty } }',
  level: 'subscription Level($topic: String!) { level(topic: $topic) }',
};
/** Projected triggers on the default server: one per projectable query. */
const PROJECTED = 3;

class Entity {
  #name = 'entity';
  get id() {
    return 'e1';
  }
  get name() {
    return this.#name;
  }
}
class WithFields {
  constructor() {
    this.id = 'w1';
    this.name = 'own field';
  }
}
const cyclic = () => {
  const o = /** @type {any} */ ({ id: 'c1', name: 'cyclic' });
  o.self = o;
  return o;
};
const nullProto = (/** @type {object} */ fields) => Object.assign(Object.create(null), fields);

/**
 * The payload kinds: `fallbacks` is how many of the default server's projected triggers
 * must execute the event with graphql-js (0: it must stay on the fast path).
 * @type {{ kind: string, payload: () => unknown, fallbacks: number }[]}
 */
const KINDS = [
  {
    kind: 'plain JSON',
    payload: () => ({
      item: { id: 'a1', name: 'Ann é ☃ "q" \\ \n', n: 3, x: 1.5, b: true, color: 'RED', tags: ['x', 'y'], nums: [1, 2], child: { id: 2, name: 'c', child: { name: 'gc' } }, children: [{ id: 3, name: 'k' }, null] },
      strict: { req: 'r', nums: [1] },
      proto: { id: 9, constructor: 'c', toString: 't', valueOf: 1, hasOwnProperty: true },
      level: null,
    }),
    fallbacks: 0,
  },
  { kind: 'absent, null and undefined fields', payload: () => ({ item: { id: null, name: undefined, tags: [null], __typename: 'Other' } }), fallbacks: 0 },
  { kind: 'numbers at the edges (-0, 2**31-1, 1e21 Float, 5e-324)', payload: () => ({ item: { id: 0, n: -0, x: 1e21, nums: [2 ** 31 - 1, -(2 ** 31)], children: [{ id: -0 }] }, strict: { req: '', nums: [] } }), fallbacks: 0 },
  { kind: 'tiny and huge Floats', payload: () => ({ item: { x: 5e-324 }, proto: { id: 1, constructor: 'c', toString: 't', valueOf: -0, hasOwnProperty: false } }), fallbacks: 0 },
  { kind: 'null-prototype objects', payload: () => nullProto({ item: nullProto({ id: 'np', name: 'null proto', child: nullProto({ id: 1 }) }), proto: nullProto({ id: 1 }) }), fallbacks: 0 },
  { kind: 'array holes in a nullable list', payload: () => ({ item: { tags: ['a', , 'c'], children: [, { id: 1 }] } }), fallbacks: 0 }, // eslint-disable-line no-sparse-arrays
  { kind: 'lone surrogates', payload: () => ({ item: { name: 'a\ud800b', tags: ['\udc00', 'x\ud83d'] } }), fallbacks: 0 },
  { kind: 'odd values in unselected fields only', payload: () => ({ item: { id: 1, unused: new Date(0), fn() {}, entity: new Entity(), sym: Symbol('s'), nan: NaN }, unused: new Map() }), fallbacks: 0 },
  { kind: 'enum with internal values', payload: () => ({ level: 2 }), fallbacks: 0 },
  { kind: 'enum with an internal value it lacks', payload: () => ({ level: 'HIGH' }), fallbacks: 0 },
  { kind: 'Int 2**31 (out of range)', payload: () => ({ item: { n: 2 ** 31 } }), fallbacks: 1 },
  { kind: 'Int 1e21', payload: () => ({ item: { n: 1e21 } }), fallbacks: 1 },
  { kind: 'Int 1.5', payload: () => ({ item: { n: 1.5 } }), fallbacks: 1 },
  { kind: 'ID that is not an integer', payload: () => ({ item: { id: 1.5 } }), fallbacks: 1 },
  { kind: 'ID beyond 32 bits', payload: () => ({ item: { id: 2 ** 40 } }), fallbacks: 1 },
  { kind: 'NaN', payload: () => ({ item: { x: NaN } }), fallbacks: 1 },
  { kind: 'Infinity and -Infinity', payload: () => ({ item: { x: Infinity, n: -Infinity } }), fallbacks: 1 },
  { kind: 'Date in every scalar', payload: () => ({ item: { id: new Date(0), name: new Date(0), n: new Date(0), x: new Date(0), b: new Date(0) } }), fallbacks: 1 },
  { kind: 'Date in a String field (non-zero)', payload: () => ({ item: { name: new Date(Date.UTC(2020, 0, 2)) } }), fallbacks: 1 },
  { kind: 'toJSON object', payload: () => ({ item: { id: 1, name: 'own', toJSON: () => ({ name: 'from toJSON' }) } }), fallbacks: 1 },
  { kind: 'toJSON on the payload', payload: () => ({ item: { name: 'own' }, toJSON: () => ({ item: { name: 'from toJSON' } }) }), fallbacks: PROJECTED },
  { kind: 'toJSON deep inside', payload: () => ({ item: { child: { name: 'own', toJSON: () => ({}) } } }), fallbacks: 1 },
  { kind: 'ORM entity (class instance with getters)', payload: () => ({ item: new Entity() }), fallbacks: 1 },
  { kind: 'class instance with own fields', payload: () => ({ item: new WithFields() }), fallbacks: 1 },
  { kind: 'methods as field values', payload: () => ({ item: { id: () => 'm1', name() { return 'method'; }, n: (/** @type {any} */ args) => Object.keys(args).length } }), fallbacks: 1 },
  { kind: 'a method as the root field', payload: () => ({ item: () => ({ id: 'from root method' }) }), fallbacks: 1 },
  { kind: 'BigInt selected (JSON.stringify throws for every trigger)', payload: () => ({ item: { n: 10n, id: 7n } }), fallbacks: PROJECTED },
  { kind: 'BigInt in an unselected field', payload: () => ({ item: { id: 1, big: 10n } }), fallbacks: PROJECTED },
  { kind: 'symbol', payload: () => ({ item: { name: Symbol('s') } }), fallbacks: 1 },
  { kind: 'null in a non-null field', payload: () => ({ strict: { req: null, nums: [1] } }), fallbacks: 1 },
  { kind: 'absent non-null field', payload: () => ({ strict: { nums: [1] } }), fallbacks: 1 },
  { kind: 'null in a list of non-null', payload: () => ({ item: { nums: [1, null] } }), fallbacks: 1 },
  { kind: 'array hole in a list of non-null', payload: () => ({ item: { nums: [1, , 3] } }), fallbacks: 1 }, // eslint-disable-line no-sparse-arrays
  { kind: 'own getter', payload: () => ({ item: { id: 1, get name() { return 'getter'; } } }), fallbacks: 1 },
  { kind: 'non-enumerable property', payload: () => ({ item: Object.defineProperty({ id: 1 }, 'name', { value: 'hidden', enumerable: false }) }), fallbacks: 1 },
  { kind: 'Proxy object', payload: () => ({ item: new Proxy({ id: 1, name: 'proxied' }, {}) }), fallbacks: 1 },
  { kind: 'Proxy payload', payload: () => new Proxy({ item: { id: 1 } }, {}), fallbacks: PROJECTED },
  { kind: 'Proxy array', payload: () => ({ item: { tags: new Proxy(['a'], {}) } }), fallbacks: 1 },
  { kind: 'Set in a list field', payload: () => ({ item: { tags: new Set(['a', 'b']) } }), fallbacks: 1 },
  { kind: 'Map in a list field', payload: () => ({ item: { tags: new Map([['k', 'v']]) } }), fallbacks: 1 },
  { kind: 'typed array in a list field', payload: () => ({ item: { nums: new Int32Array([1, 2]) } }), fallbacks: 1 },
  { kind: 'String, Number and Boolean objects', payload: () => ({ item: { name: new String('s'), n: new Number(3), b: new Boolean(false), id: new String('i') } }), fallbacks: 1 }, // eslint-disable-line no-new-wrappers
  { kind: 'number in a String field', payload: () => ({ item: { name: 5 } }), fallbacks: 1 },
  { kind: 'string in an Int field', payload: () => ({ item: { n: '12' } }), fallbacks: 1 },
  { kind: 'number in a Boolean field', payload: () => ({ item: { b: 0 } }), fallbacks: 1 },
  { kind: 'unknown enum value', payload: () => ({ item: { color: 'BLUE' } }), fallbacks: 1 },
  { kind: 'a list where an object is expected', payload: () => ({ item: { child: [1] } }), fallbacks: 1 },
  { kind: 'a string where a list is expected', payload: () => ({ item: { tags: 'abc' } }), fallbacks: 1 },
  { kind: 'Error as an object value', payload: () => ({ item: { child: new Error('boom') } }), fallbacks: 1 },
  { kind: 'Promise as a value', payload: () => ({ item: { name: Promise.resolve('later') } }), fallbacks: 1 },
  { kind: 'cyclic object in an unselected field', payload: () => ({ item: cyclic() }), fallbacks: PROJECTED },
  { kind: 'Object.prototype names, not own (inherited methods)', payload: () => ({ proto: { id: 1 } }), fallbacks: 1 },
  { kind: 'a payload that is a string', payload: () => 'just text', fallbacks: PROJECTED },
  { kind: 'a payload that is null', payload: () => null, fallbacks: PROJECTED },
  { kind: 'a payload that is an array', payload: () => [{ item: { id: 1 } }], fallbacks: PROJECTED },
  { kind: 'plain JSON again (after every fallback)', payload: () => ({ item: { id: 'last', n: 1, children: [] } }), fallbacks: 0 },
];

/**
 * A raw client: records the exact text of every `next` (legacy: `data`) message by
 * operation id. @param {number} port @param {boolean} legacy
 * @param {Record<string, string>} [queries] id → query @param {object} [init] connection_init payload
 */
async function rawClient(port, legacy, queries = QUERIES, init = undefined) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, legacy ? 'graphql-ws' : 'graphql-transport-ws');
  /** @type {Map<string, string[]>} */
  const got = new Map(Object.keys(queries).map((id) => [id, []]));
  /** @type {string[]} */
  const other = [];
  let acked = false;
  ws.on('message', (data) => {
    const text = String(data);
    const msg = JSON.parse(text);
    if (msg.type === 'connection_ack') acked = true;
    else if (msg.type === (legacy ? 'data' : 'next')) got.get(msg.id)?.push(text);
    else if (msg.type !== 'ka') other.push(text);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'connection_init', payload: init }));
  await eventually(() => acked, 5000, 'connection_ack');
  for (const [id, query] of Object.entries(queries)) {
    ws.send(JSON.stringify({ id, type: legacy ? 'start' : 'subscribe', payload: { query, variables: { topic: TOPIC } } }));
  }
  return { ws, got, other, legacy };
}

/** graphql-ws on ws, the reference. @param {any} t @param {object} [options] */
async function graphqlWs(t, options = {}) {
  const { useServer: gqlwsUseServer } = require('graphql-ws/use/ws');
  const wss = new WebSocket.WebSocketServer({ port: 0, path: '/graphql' });
  await new Promise((r) => wss.once('listening', r));
  const cleanup = gqlwsUseServer({ schema, ...options }, wss);
  t.after(async () => {
    await cleanup.dispose();
    await new Promise((r) => wss.close(r));
  });
  return /** @type {import('node:net').AddressInfo} */ (wss.address()).port;
}

/** @param {any} t @param {object} options */
function subwire(t, options) {
  const server = useServer({ schema, ...options }, { port: 0, path: '/graphql' }, 0);
  t.after(() => server.dispose());
  return server;
}

/** The `next` message graphql-ws sends for an execution result (the test's own statement of it). */
function graphqlWsNext(/** @type {string} */ id, /** @type {any} */ result) {
  const { errors, ...rest } = result;
  return JSON.stringify({ id, type: 'next', payload: { ...rest, ...(errors ? { errors: errors.map((/** @type {any} */ e) => e.toJSON()) } : {}) } });
}

test('every path delivers what graphql-ws delivers, for every kind of payload', async (t) => {
  const refPort = await graphqlWs(t);
  const servers = {
    projected: subwire(t, {}),
    shared: subwire(t, { shareKey: () => 'everyone' }),
    executed: subwire(t, { projection: false }),
  };
  const ref = await rawClient(refPort, false);
  t.after(() => ref.ws.close());
  /** @type {{ path: string, client: Awaited<ReturnType<typeof rawClient>> }[]} */
  const clients = [];
  for (const [path, server] of Object.entries(servers)) {
    for (const legacy of [false, true]) {
      const client = await rawClient(server.address().port, legacy);
      t.after(() => client.ws.close());
      clients.push({ path: `${path}${legacy ? ' (legacy protocol)' : ''}`, client });
    }
  }
  const ops = Object.keys(QUERIES).length;
  await eventually(() => servers.projected.stats().triggerSubscriptions === 2 * PROJECTED && servers.shared.stats().triggerSubscriptions === 2 * ops, 10000, 'subscribed (hub)');
  await eventually(() => servers.executed.stats().subscriptions === 2 * ops && servers.projected.stats().subscriptions === 2 * ops, 10000, 'subscribed');
  // graphql-ws subscribed once its resolvers' iterators listen: 4 operations on the
  // reference; the executed subscriptions of a server (all of them on the executed server,
  // `level` on the projected one, the shared triggers of the shared one) form one executed
  // group, which listens once.
  const { topicListeners } = require('../lib/topics.js');
  await eventually(() => (topicListeners.get(TOPIC)?.size ?? 0) >= ops + 1 + 1 + PROJECTED + 1, 10000, 'reference subscribed');

  const failures = [];
  const all = [{ path: 'graphql-ws', client: ref }, ...clients];
  for (const [i, { kind, payload, fallbacks }] of KINDS.entries()) {
    const before = servers.projected.stats().projectionFallbacks;
    const value = payload();
    try {
      publish(TOPIC, value);
    } catch (err) {
      failures.push(`${kind}: publish() threw ${/** @type {Error} */ (err).message}`);
    }
    try {
      await eventually(() => all.every(({ client }) => [...client.got.values()].every((list) => list.length > i)), 5000, 'every client got it');
    } catch {
      const missing = all.filter(({ client }) => [...client.got.values()].some((list) => list.length <= i)).map(({ path, client }) =>
        `${path}: ${[...client.got].filter(([, list]) => list.length <= i).map(([id]) => id).join(', ')}`);
      failures.push(`${kind}: no event for ${missing.join('; ')}`);
      break; // the logs no longer line up
    }
    for (const id of Object.keys(QUERIES)) {
      const want = ref.got.get(id)?.[i];
      // graphql-ws's frame is graphql-js's execute() of the event, framed as above
      const expected = await graphql.execute({ schema, document: graphql.parse(QUERIES[/** @type {keyof typeof QUERIES} */ (id)]), variableValues: { topic: TOPIC }, rootValue: value });
      if (want !== graphqlWsNext(id, expected)) failures.push(`${kind}: graphql-ws's own ${id} frame is not execute()'s: ${want}`);
      const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
      for (const { path, client } of clients) {
        const got = client.got.get(id)?.[i];
        const expect = client.legacy ? `{"id":${JSON.stringify(id)},"type":"data","payload":${want?.slice(head.length)}` : want;
        if (got !== expect) failures.push(`${kind} × ${path}, operation ${id}:\n    got  ${got}\n    want ${expect}`);
      }
    }
    const fell = servers.projected.stats().projectionFallbacks - before;
    if (fell !== fallbacks) failures.push(`${kind}: ${fell} projected events fell back to graphql-js, expected ${fallbacks}`);
  }
  for (const { path, client } of all) if (client.other.length) failures.push(`${path} got other messages: ${client.other.join(' ')}`);
  assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
  // the executed server ran these events through compiled queries (graphql-jit), so the
  // table above holds for that path too, and not only for graphql-js's
  const { compiledExecutions, compiledFallbacks } = servers.executed.stats();
  assert.ok(compiledExecutions > compiledFallbacks && compiledFallbacks > 0, `compiled ${compiledExecutions}, fell back ${compiledFallbacks}`);
  // and so did the shared server: its triggers are cohorts of an executed group
  const shared = servers.shared.stats();
  assert.ok(shared.compiledExecutions > shared.compiledFallbacks && shared.compiledFallbacks > 0, `shared: compiled ${shared.compiledExecutions}, fell back ${shared.compiledFallbacks}`);
});

/** Opens `n` raw clients per entry of `spec` and closes them after the test. */
async function clientsOf(/** @type {any} */ t, /** @type {[string, number, Record<string, string>, object?][]} */ spec) {
  const out = [];
  for (const [path, port, queries, init] of spec) {
    const client = await rawClient(port, false, queries, init);
    t.after(() => client.ws.close());
    out.push({ path, client });
  }
  return out;
}

/** Publishes each payload, waits for every client's event, and lists the frames that differ from the reference's. */
async function compare(/** @type {{ path: string, client: any }[]} */ refs, /** @type {{ path: string, client: any, ref: number }[]} */ ours, /** @type {[string, () => unknown][]} */ payloads, burst = false) {
  const failures = [];
  const all = [...refs, ...ours];
  const count = (/** @type {any} */ c) => Math.min(...[...c.got.values()].map((l) => l.length));
  const start = all.map(({ client }) => count(client));
  if (burst) for (const [, payload] of payloads) publish(TOPIC, payload());
  for (const [i, [kind, payload]] of payloads.entries()) {
    if (!burst) publish(TOPIC, payload());
    await eventually(() => all.every(({ client }, k) => count(client) > start[k] + (burst ? payloads.length - 1 : i)), 5000, `every client got "${kind}"`);
  }
  for (const [k, { path, client, ref }] of ours.entries()) {
    for (const [id, list] of client.got) {
      const want = refs[ref].client.got.get(id);
      for (let i = 0; i < payloads.length; i++) {
        const j = start[refs.length + k] + i;
        const w = want[start[ref] + i];
        if (list[j] !== w) failures.push(`${payloads[i][0]} × ${path}, operation ${id}:\n    got  ${list[j]}\n    want ${w}`);
      }
    }
  }
  return failures;
}

test('methods in a payload see each subscriber\'s own context: one projected trigger, one execution per context', async (t) => {
  const options = { context: (/** @type {any} */ ctx) => ({ who: ctx.connectionParams?.who }) };
  const query = { q: 'subscription Q($topic: String!) { item(topic: $topic) { id name } }' };
  const refPort = await graphqlWs(t, options);
  const server = subwire(t, options);
  const port = server.address().port;
  const refs = await clientsOf(t, [['graphql-ws A', refPort, query, { who: 'A' }], ['graphql-ws B', refPort, query, { who: 'B' }]]);
  const ours = (await clientsOf(t, [['projected A', port, query, { who: 'A' }], ['projected B', port, query, { who: 'B' }], ['projected A again', port, query, { who: 'A' }]]))
    .map((c, i) => ({ ...c, ref: i % 2 }));
  await eventually(() => server.stats().triggerSubscriptions === 3, 10000, 'subscribed');
  assert.equal(server.stats().triggers, 1, 'one projected trigger, whatever the contexts');
  const { topicListeners } = require('../lib/topics.js');
  await eventually(() => (topicListeners.get(TOPIC)?.size ?? 0) >= 3, 10000, 'reference subscribed');
  const before = server.stats().projectionFallbacks;
  const greet = (/** @type {any} */ _args, /** @type {any} */ ctx) => `hello ${ctx.who}`;
  const failures = await compare(refs, ours, [
    ['a method reading the context', () => ({ item: { id: 1, name: greet } })],
    ['plain JSON', () => ({ item: { id: 2, name: 'same for all' } })],
    ['a Date (no context can matter)', () => ({ item: { id: 3, name: new Date(0) } })],
    ['a method that ignores the context', () => ({ item: { id: 4, name: () => 'constant' } })],
    ['a getter returning a method', () => ({ item: { id: 5, get name() { return greet; } } })],
    ['an async method reading the context', () => ({ item: { id: 6, name: async (/** @type {any} */ a, /** @type {any} */ ctx) => `later ${ctx.who}` } })],
    ['plain JSON after it', () => ({ item: { id: 7, name: 'last' } })],
  ]);
  assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
  assert.equal(server.stats().projectionFallbacks - before, 5, 'each non-JSON event executed by graphql-js');
  // the short-lived triggers that carried per-context results are gone from the hub
  await eventually(() => server.stats().triggers === 1 && server.stats().triggerSubscriptions === 3, 5000, 'only the projected trigger left');
});

test('errors locate into each subscriber\'s own query text, on every path', async (t) => {
  const a = { s: 'subscription S($topic: String!) { s: strict(topic: $topic) { req nums } }' };
  const b = { s: 'subscription S($topic: String!) {\n  s: strict(topic: $topic) {\n    nums\n    req\n  }\n}' };
  const c = { s: 'subscription S($topic: String!) {\n  s: strict(topic: $topic) { req nums }\n}' };
  const refPort = await graphqlWs(t);
  const refs = await clientsOf(t, [['graphql-ws a', refPort, a], ['graphql-ws b', refPort, b], ['graphql-ws c', refPort, c]]);
  /** @type {{ path: string, client: any, ref: number }[]} */
  const ours = [];
  const servers = { projected: subwire(t, {}), shared: subwire(t, { shareKey: () => 'k' }), executed: subwire(t, { projection: false }) };
  for (const [path, server] of Object.entries(servers)) {
    const port = server.address().port;
    const list = await clientsOf(t, [[`${path} a`, port, a], [`${path} b`, port, b], [`${path} c`, port, c], [`${path} a again`, port, a]]);
    list.forEach((x, i) => ours.push({ ...x, ref: i % 3 }));
  }
  await eventually(() => servers.projected.stats().triggerSubscriptions === 4 && servers.shared.stats().triggerSubscriptions === 4 && servers.executed.stats().subscriptions === 4, 10000, 'subscribed');
  const { topicListeners } = require('../lib/topics.js');
  // (the shared triggers and the executed subscriptions each form one executed group)
  await eventually(() => (topicListeners.get(TOPIC)?.size ?? 0) >= 3 + servers.projected.stats().triggers + 1 + 1, 10000, 'all subscribed');
  const failures = await compare(refs, ours, [
    ['null in a non-null field', () => ({ strict: { req: null, nums: [1] } })],
    ['null in a non-null list item', () => ({ strict: { req: 'r', nums: [1, null] } })],
    ['plain JSON', () => ({ strict: { req: 'r', nums: [1] } })],
  ]);
  assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
  assert.equal(servers.projected.stats().triggers, 3, 'one trigger per query text');
  assert.equal(servers.shared.stats().triggers, 3, 'one trigger per query text');
});

test('events published while graphql-js executes an earlier one wait for it, in order', async (t) => {
  const query = { q: 'subscription Q($topic: String!) { item(topic: $topic) { id name } }' };
  const refPort = await graphqlWs(t);
  const server = subwire(t, {});
  const refs = await clientsOf(t, [['graphql-ws', refPort, query]]);
  const ours = (await clientsOf(t, [['projected', server.address().port, query], ['projected 2', server.address().port, query]])).map((c) => ({ ...c, ref: 0 }));
  await eventually(() => server.stats().triggerSubscriptions === 2, 10000, 'subscribed');
  const { topicListeners } = require('../lib/topics.js');
  await eventually(() => (topicListeners.get(TOPIC)?.size ?? 0) >= 2, 10000, 'reference subscribed');
  const slow = (/** @type {string} */ v, /** @type {number} */ ms) => new Promise((r) => setTimeout(() => r(v), ms));
  const failures = await compare(refs, ours, [
    ['a promise', () => ({ item: { id: 1, name: slow('slow', 30) } })],
    ['plain JSON behind it', () => ({ item: { id: 2, name: 'second' } })],
    ['another promise', () => ({ item: { id: 3, name: slow('slower', 10) } })],
    ['a Date behind it', () => ({ item: { id: 4, name: new Date(0) } })],
    ['plain JSON last', () => ({ item: { id: 5, name: 'last' } })],
  ], true);
  assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
  for (const { client } of ours) assert.deepEqual(client.got.get('q').map((/** @type {string} */ m) => JSON.parse(m).payload.data.item.id), ['1', '2', '3', '4', '5']);
});

test('not projected: a jsonMessageReplacer, or a fieldResolver from onSubscribe, makes graphql-js run every event', async (t) => {
  const query = 'subscription Q($topic: String!) { item(topic: $topic) { id name } }';
  const replacer = (/** @type {string} */ key, /** @type {unknown} */ value) => (key === 'name' ? `[${value}]` : value);
  const withReplacer = subwire(t, { jsonMessageReplacer: replacer });
  const fieldResolver = (/** @type {any} */ source, /** @type {any} */ _args, /** @type {any} */ _ctx, /** @type {any} */ info) => (info.fieldName === 'name' ? 'resolved' : source[info.fieldName]);
  const withResolver = subwire(t, {
    onSubscribe: (/** @type {any} */ _ctx, /** @type {any} */ _id, /** @type {any} */ payload) => ({ schema, document: graphql.parse(payload.query), variableValues: payload.variables, fieldResolver }),
  });
  const [r, f] = await clientsOf(t, [['replacer', withReplacer.address().port, { q: query }], ['fieldResolver', withResolver.address().port, { q: query }]]);
  await eventually(() => withReplacer.stats().subscriptions === 1 && withResolver.stats().subscriptions === 1, 10000, 'subscribed');
  const { topicListeners } = require('../lib/topics.js');
  await eventually(() => (topicListeners.get(TOPIC)?.size ?? 0) >= 2, 10000, 'iterators listening');
  assert.equal(withReplacer.stats().triggers, 0);
  assert.equal(withResolver.stats().triggers, 0);
  publish(TOPIC, { item: { id: 1, name: 'n' } });
  await eventually(() => r.client.got.get('q').length === 1 && f.client.got.get('q').length === 1, 5000, 'delivered');
  assert.equal(JSON.parse(r.client.got.get('q')[0]).payload.data.item.name, '[n]');
  assert.equal(JSON.parse(f.client.got.get('q')[0]).payload.data.item.name, 'resolved');
});
