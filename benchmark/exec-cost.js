'use strict';
/**
 * Where per-subscriber execution's time goes (issue 17), in one process, without sockets:
 * the chat schema (lib/chat-schema.js) executed for N subscribers × R events, each event
 * with one DataLoader bag shared by all its executions (the 1 ms database of the chat
 * scenario), each result serialized as a `next` message. Rows, cheapest last:
 *
 * - `graphql-js execute()`: what an unshared graphql-ws subscriber costs, without ws;
 * - `graphql-jit, bare loop`: the compiled query in a plain loop, the floor of any
 *   per-subscriber execution with this schema on one JS thread;
 * - `graphql-jit, author sync`: the same with `author` answered synchronously (no loader,
 *   no promise): what the promise per execution costs;
 * - `subwire executed group`: lib/executed-triggers.js with `loaders`, as a server runs it,
 *   its answers stringified and dropped instead of crossing into Rust;
 * - `subwire cohorts (1,000 users)`: the same members as shared triggers by user.
 *
 * µs/delivery is wall time over N × R; GC is the main thread's GC pauses in that time
 * (perf_hooks). Usage: `node benchmark/exec-cost.js [N=19000] [R=20]`.
 * @module benchmark/exec-cost
 */

const { PerformanceObserver } = require('node:perf_hooks');
const graphql = require('graphql');
const jit = require('graphql-jit');
const DataLoader = require('dataloader');
const { chatSchema, chatMessage, chatLoaders, QUERY, USERS } = require('./lib/chat-schema');
const { ExecutedTriggers } = require('../lib/executed-triggers.js');
const { PubSub } = require('../lib/pubsub.js');
const { loadersFor } = require('../lib/loaders.js');
const { Compiler } = require('../lib/jit.js');
const { Registry } = require('../lib/shared-triggers.js');

const N = Number(process.argv[2] ?? 19000);
const R = Number(process.argv[3] ?? 20);
const BODY = 200;
const document = graphql.parse(QUERY);

/** The chat scenario's database: one batch call answers after 1 ms. */
const db = () => ({ usersByIds: (/** @type {readonly string[]} */ ids) => new Promise((r) => setTimeout(r, 1, ids.map((id) => ({ id, name: `User ${id.slice(1)}` }))) ) });

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

/** Runs `burst(seq)` R times after 2 warm-ups; returns µs per delivery and GC share. @param {(seq: number) => Promise<void>} burst */
async function measure(burst) {
  for (let w = 0; w < 2; w++) await burst(w * 1000);
  const gc0 = gcMs;
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < R; s++) await burst(10000 + s);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { us: (ms * 1000) / (N * R), gc: (gcMs - gc0) / ms };
}

const contexts = Array.from({ length: N }, (_, i) => ({ user: `u${i % USERS}` }));
let bytes = 0;
const next = (/** @type {unknown} */ payload) => void (bytes += JSON.stringify({ id: '1', type: 'next', payload }).length);

/** One event per burst, executed for every context by `run` (a result or a promise of one). @param {(msg: unknown, ctx: object) => any} run */
function loop(run, withBag = true) {
  const fake = db();
  return async (/** @type {number} */ seq) => {
    const bag = withBag ? { author: new DataLoader((ids) => fake.usersByIds(ids)) } : null;
    const msg = chatMessage(seq, Date.now(), BODY);
    const pending = [];
    for (const c of contexts) {
      const ctx = Object.create(c);
      ctx.loaders = bag;
      const r = run(msg, ctx);
      if (typeof r?.then === 'function') pending.push(r.then(next));
      else next(r);
    }
    await Promise.all(pending);
  };
}

/** subwire's executed group in process: members (or cohorts by user) on one PubSub topic. @param {boolean} cohorts */
async function engine(cohorts) {
  const pubsub = new PubSub();
  // a topic of its own: topics are process-wide, and the other row's members still listen
  const room = cohorts ? 'room-cohorts' : 'room-members';
  const schema = chatSchema(graphql, (/** @type {any} */ _r, /** @type {any} */ { room }) => pubsub.asyncIterableIterator(room));
  let delivered = 0;
  const send = { next: (/** @type {any} */ _c, /** @type {string} */ _id, /** @type {number} */ _s, /** @type {unknown} */ p) => (next(p), delivered++) };
  /** Subscribers per trigger (the hub's lists). @type {Map<number, number>} */
  const hub = new Map();
  const srv = {
    holdAnswers() {},
    flushAnswers() {},
    triggerAdd: (/** @type {number} */ t) => void hub.set(t, (hub.get(t) ?? 0) + 1),
    /** a cohort's result: serialized once, delivered to each of its subscribers @param {number} t @param {string} text */
    triggerNext(t, text) {
      bytes += text.length;
      delivered += hub.get(t) ?? 0;
    },
  };
  const deps = { graphql, options: {}, srv: /** @type {any} */ (srv), send: /** @type {any} */ (send), loaders: loadersFor(chatLoaders(/** @type {any} */ (db()))), compiler: new Compiler(graphql, true), toGraphQLError: (/** @type {any} */ e) => e, internalError: (/** @type {any} */ _c, /** @type {unknown} */ e) => { throw e; }, released() {} };
  const executed = new ExecutedTriggers(/** @type {any} */ (deps));
  const registry = new Registry(/** @type {any} */ ({ ...deps, stringify: JSON.stringify, framed: null, cohorts: executed }));
  for (let i = 0; i < N; i++) {
    /** @type {any} */
    const c = { ctx: {}, closed: false, conn: i, op: null, getOp() { return this.op; }, setOp(/** @type {any} */ op) { this.op = op; } };
    const execArgs = { schema, document, variableValues: { t: room }, contextValue: contexts[i] };
    if (cohorts) registry.join(c, { id: '1', serial: 0 }, null, execArgs, contexts[i].user);
    else executed.join(c, { id: '1', serial: 0 }, null, execArgs, /** @type {any} */ (await graphql.createSourceEventStream(execArgs)));
  }
  await new Promise((r) => setTimeout(r, 50)); // the cohorts' sources start
  return async (/** @type {number} */ seq) => {
    const want = delivered + N;
    pubsub.publish(room, chatMessage(seq, Date.now(), BODY));
    while (delivered < want) await new Promise((r) => setImmediate(r));
  };
}

(async () => {
  const schema = chatSchema(graphql, () => null);
  const compiled = /** @type {any} */ (jit.compileQuery(schema, document, undefined, { disablingCapturingStackErrors: true }));
  const syncSchema = chatSchema(graphql, () => null);
  const authors = new Map();
  /** @type {any} */ (syncSchema.getType('Message')).getFields().author.resolve = (/** @type {any} */ m) => authors.get(m.authorId) ?? authors.set(m.authorId, { id: m.authorId, name: 'User' }).get(m.authorId);
  const syncCompiled = /** @type {any} */ (jit.compileQuery(syncSchema, document, undefined, { disablingCapturingStackErrors: true }));
  const variableValues = { t: 'room' };
  /** @type {[string, () => Promise<(seq: number) => Promise<void>>][]} */
  const rows = [
    ['graphql-js execute()', async () => loop((msg, ctx) => graphql.execute({ schema, document, variableValues, rootValue: msg, contextValue: ctx }))],
    ['graphql-jit, bare loop', async () => loop((msg, ctx) => compiled.query(msg, ctx, variableValues))],
    ['graphql-jit, author sync', async () => loop((msg, ctx) => syncCompiled.query(msg, ctx, variableValues), false)],
    ['subwire executed group', () => engine(false)],
    [`subwire cohorts (${USERS} users)`, () => engine(true)],
  ];
  console.log(`${N} subscribers × ${R} events, ${BODY}-byte bodies, one loader bag per event`);
  console.log('| execution | µs/delivery | GC share |\n|:--|--:|--:|');
  for (const [name, make] of rows) {
    const { us, gc } = await measure(await make());
    console.log(`| ${name} | ${us.toFixed(2)} | ${(gc * 100).toFixed(0)}% |`);
  }
})();
