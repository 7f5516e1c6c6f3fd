'use strict';
// Executed groups (lib/executed-triggers.js): subscriptions executed per subscriber whose
// source is a subwire topic run every event for all their subscribers in one JS turn, and
// the answers of one event cross into Rust in one NativeServer.batch call. Per subscriber
// everything graphql-ws does still happens: publish order, onNext/onError/onComplete, its
// own context; a slow execution delays only its own subscriber. Real graphql-ws clients.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const graphql = require('graphql');
const { createClient } = require('graphql-ws');
const { useServer, PubSub } = require('..');
const { Outbox } = require('../lib/outbox.js');
const { topicListeners } = require('../lib/topics.js');
const { eventually } = require('./helpers');
const { fakeDb, loadersFor, chatSchema, MESSAGE_QUERY } = require('./chat');

/** @param {any} t @param {object} options */
function serve(t, options) {
  const server = useServer(/** @type {any} */ ({ context: (/** @type {any} */ ctx) => ({ user: ctx.connectionParams?.user }), ...options }), { port: 0, path: '/graphql' }, 0);
  t.after(() => server.dispose());
  return server;
}

let arrivals = 0;
/**
 * `perUser` subscriptions for each user, one client per user; each subscription records
 * its results, errors, completion and the global arrival number of each result.
 */
function subscribers(/** @type {any} */ t, /** @type {number} */ port, /** @type {string[]} */ users, perUser = 1, query = MESSAGE_QUERY) {
  /** @type {{ user: string, results: any[], at: number[], errors: any[], done: boolean, stop: () => void }[]} */
  const subs = [];
  for (const user of users) {
    const client = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { user } });
    t.after(() => client.dispose());
    for (let i = 0; i < perUser; i++) {
      const sub = { user, results: /** @type {any[]} */ ([]), at: /** @type {number[]} */ ([]), errors: /** @type {any[]} */ ([]), done: false, stop: () => {} };
      sub.stop = client.subscribe({ query, variables: { room: 'r1' } }, {
        next: (r) => (sub.results.push(r), sub.at.push(++arrivals)),
        error: (e) => sub.errors.push(e),
        complete: () => (sub.done = true),
      });
      subs.push(sub);
    }
  }
  return subs;
}

const msg = (/** @type {number} */ n) => ({ id: `m${n}`, room: 'r1', text: `hello ${n}`, authorId: 'u1', mentions: [] });
const ids = (/** @type {{ results: any[] }} */ s) => s.results.map((r) => r.data?.messageAdded?.id);

/** Counts the outbox's crossings into Rust (NativeServer.batch calls) while `fn` runs. */
async function crossings(/** @type {() => Promise<void>} */ fn) {
  const flush = Outbox.prototype.flush;
  /** @type {number[]} */
  const sizes = [];
  Outbox.prototype.flush = function counted() {
    if (this.kinds.length > 0) sizes.push(this.kinds.length);
    return flush.call(this);
  };
  try {
    await fn();
  } finally {
    Outbox.prototype.flush = flush;
  }
  return sizes;
}

test("one event's answers to 1,100 subscribers cross into Rust in one call, sync or waiting on a loader", async (t) => {
  const pubsub = new PubSub();
  const db = fakeDb();
  const server = serve(t, { schema: chatSchema({ pubsub }), loaders: loadersFor(db) });
  const users = Array.from({ length: 11 }, (_, i) => `u${i}`);
  const port = server.address().port;
  const plain = subscribers(t, port, users, 100, 'subscription M($room: String!) { messageAdded(room: $room) { id text viewerCanEdit } }');
  await eventually(() => server.stats().subscriptions === 1100, 10000, 'subscribed');
  const sync = await crossings(async () => {
    await pubsub.publish('room:r1', msg(1));
    await eventually(() => plain.every((s) => s.results.length === 1), 10000, 'delivered');
  });
  assert.deepEqual(sync, [1100], 'executed in one turn, one crossing');
  for (const s of plain) s.stop();
  await eventually(() => server.stats().subscriptions === 0, 5000, 'left');

  const loaded = subscribers(t, port, users, 100);
  await eventually(() => server.stats().subscriptions === 1100, 10000, 'subscribed');
  const late = await crossings(async () => {
    await pubsub.publish('room:r1', msg(2));
    await eventually(() => loaded.every((s) => s.results.length === 1), 10000, 'delivered');
  });
  assert.deepEqual(late, [1100], 'results settled by one loader batch: one crossing');
  assert.deepEqual(db.calls, [['u1']]);
});

test('a slow execution for one subscriber keeps its events in publish order and delays no one else', async (t) => {
  const pubsub = new PubSub();
  /** @type {() => void} */
  let open = () => {};
  const gate = new Promise((r) => (open = () => r(undefined)));
  const authorOf = (/** @type {any} */ m, /** @type {any} */ ctx) => (ctx.user === 'slow' && m.id === 'm1' ? gate.then(() => ({ id: 'u1' })) : { id: m.authorId });
  const server = serve(t, { schema: chatSchema({ pubsub, authorOf }) });
  const [slow, fast] = subscribers(t, server.address().port, ['slow', 'fast'], 1, 'subscription M($room: String!) { messageAdded(room: $room) { id author { id } } }');
  await eventually(() => server.stats().subscriptions === 2, 5000, 'subscribed');
  for (let i = 1; i <= 3; i++) await pubsub.publish('room:r1', msg(i));
  await eventually(() => fast.results.length === 3, 5000, 'the fast subscriber got every event');
  assert.equal(slow.results.length, 0, 'the slow one waits for its first event');
  open();
  await eventually(() => slow.results.length === 3, 5000, 'the slow subscriber caught up');
  assert.deepEqual(ids(slow), ['m1', 'm2', 'm3']);
  assert.deepEqual(ids(fast), ['m1', 'm2', 'm3']);
  assert.ok(fast.at[2] < slow.at[0]);
});

test('per subscriber hooks: onNext with its ctx and id (async keeps order), onError and onComplete when its onNext throws', async (t) => {
  const pubsub = new PubSub();
  /** @type {string[]} */
  const calls = [];
  /** The operation ids each user's hooks saw (one subscription each: one id). @type {Map<string, Set<string>>} */
  const idsOf = new Map();
  const seen = (/** @type {any} */ ctx, /** @type {string} */ id) => {
    const user = ctx.connectionParams.user;
    if (!idsOf.has(user)) idsOf.set(user, new Set());
    /** @type {Set<string>} */ (idsOf.get(user)).add(id);
    return user;
  };
  const server = serve(t, {
    schema: chatSchema({ pubsub }),
    loaders: loadersFor(fakeDb()),
    onNext: async (/** @type {any} */ ctx, /** @type {string} */ id, /** @type {any} */ _p, /** @type {any} */ _a, /** @type {any} */ result) => {
      const user = seen(ctx, id);
      calls.push(`next ${user} ${result.data.messageAdded.id}`);
      if (user === 'breaks' && result.data.messageAdded.id === 'm2') throw new Error('onNext broke');
      if (user === 'slow') await new Promise((r) => setTimeout(r, 20));
      return { data: { ...result.data, who: user } };
    },
    onError: (/** @type {any} */ ctx, /** @type {string} */ id, /** @type {any} */ _p, /** @type {any} */ errors) => void calls.push(`error ${seen(ctx, id)} ${errors[0].message}`),
    onComplete: (/** @type {any} */ ctx, /** @type {string} */ id) => void calls.push(`complete ${seen(ctx, id)}`),
  });
  const [slow, breaks, plain] = subscribers(t, server.address().port, ['slow', 'breaks', 'plain']);
  await eventually(() => server.stats().subscriptions === 3, 5000, 'subscribed');
  for (let i = 1; i <= 3; i++) await pubsub.publish('room:r1', msg(i));
  await eventually(() => slow.results.length === 3 && plain.results.length === 3 && breaks.errors.length === 1, 5000, 'delivered');
  assert.deepEqual(ids(slow), ['m1', 'm2', 'm3']);
  assert.deepEqual(slow.results.map((r) => r.data.who), ['slow', 'slow', 'slow'], "onNext's result is sent");
  assert.deepEqual(ids(breaks), ['m1']);
  assert.equal(breaks.errors[0][0].message, 'onNext broke');
  await eventually(() => calls.includes('complete breaks'), 5000, 'onComplete');
  const mine = calls.filter((c) => c.split(' ')[1] === 'breaks');
  assert.deepEqual(mine, ['next breaks m1', 'next breaks m2', 'error breaks onNext broke', 'complete breaks']);
  assert.deepEqual(calls.filter((c) => c.startsWith('next slow')), ['next slow m1', 'next slow m2', 'next slow m3']);
  assert.deepEqual([...idsOf.values()].map((set) => set.size), [1, 1, 1], "each subscriber's hooks get its own operation id");
});

test('a subscriber that leaves while its execution is pending: nothing more is sent to it, onComplete follows, the others go on', async (t) => {
  const pubsub = new PubSub();
  /** @type {() => void} */
  let open = () => {};
  const gate = new Promise((r) => (open = () => r(undefined)));
  /** @type {string[]} */
  const completed = [];
  const authorOf = (/** @type {any} */ m, /** @type {any} */ ctx) => (ctx.user === 'leaves' ? gate.then(() => ({ id: 'u1' })) : { id: m.authorId });
  const server = serve(t, { schema: chatSchema({ pubsub, authorOf }), onComplete: (/** @type {any} */ ctx) => void completed.push(ctx.connectionParams.user) });
  const query = 'subscription M($room: String!) { messageAdded(room: $room) { id author { id } } }';
  const [leaves, stays] = subscribers(t, server.address().port, ['leaves', 'stays'], 1, query);
  await eventually(() => server.stats().subscriptions === 2, 5000, 'subscribed');
  await pubsub.publish('room:r1', msg(1));
  await pubsub.publish('room:r1', msg(2));
  await eventually(() => stays.results.length === 2, 5000, 'delivered');
  leaves.stop();
  await new Promise((r) => setTimeout(r, 50));
  // (as graphql-ws's loop would, onComplete waits for the execution in flight)
  assert.deepEqual(completed, []);
  open();
  await pubsub.publish('room:r1', msg(3));
  await eventually(() => stays.results.length === 3 && completed.includes('leaves'), 5000, 'the rest delivered');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(leaves.results, []);
  assert.deepEqual(completed, ['leaves']);
  stays.stop();
  await eventually(() => server.stats().subscriptions === 0 && !topicListeners.has('room:r1'), 5000, 'the group stopped listening');
});

test("events waiting behind a stuck execution are bounded by the PubSub's maxQueued: that subscriber alone gets ERR_SUBWIRE_PUBSUB_OVERFLOW", async (t) => {
  const pubsub = new PubSub({ maxQueued: 3 });
  const authorOf = (/** @type {any} */ m, /** @type {any} */ ctx) => (ctx.user === 'stuck' ? new Promise(() => {}) : { id: m.authorId });
  const server = serve(t, { schema: chatSchema({ pubsub, authorOf }) });
  const query = 'subscription M($room: String!) { messageAdded(room: $room) { id author { id } } }';
  const [stuck, fine] = subscribers(t, server.address().port, ['stuck', 'fine'], 1, query);
  await eventually(() => server.stats().subscriptions === 2, 5000, 'subscribed');
  for (let i = 1; i <= 5; i++) await pubsub.publish('room:r1', msg(i));
  await eventually(() => fine.results.length === 5 && stuck.errors.length === 1, 5000, 'delivered');
  assert.match(stuck.errors[0][0].message, /maxQueued is 3/);
  assert.deepEqual(ids(fine), ['m1', 'm2', 'm3', 'm4', 'm5']);
});

// Cohorts: a shared trigger (shareKey) whose source is a subwire topic is a member of the
// executed group too, executed once per event for all its subscribers.

const byUser = (/** @type {any} */ ctx) => (ctx.connectionParams.user === 'solo' ? undefined : ctx.connectionParams.user);

test('shareKey cohorts: one execution per cohort and event, in the turn and loader batch of the unshared subscribers, each getting graphql-js\'s result for its user', async (t) => {
  const pubsub = new PubSub();
  const db = fakeDb();
  let executions = 0;
  const authorOf = (/** @type {any} */ m, /** @type {any} */ ctx) => (executions++, ctx.loaders.author.load(m.authorId));
  const schema = chatSchema({ pubsub, authorOf });
  const server = serve(t, { schema, loaders: loadersFor(db), shareKey: byUser });
  const subs = subscribers(t, server.address().port, ['u1', 'u1', 'u2', 'solo'], 2);
  await eventually(() => server.stats().triggerSubscriptions === 6 && server.stats().subscriptions === 8, 5000, 'subscribed');
  await eventually(() => topicListeners.get('room:r1')?.size === 1, 5000, 'one group listens for the cohorts and the unshared subscriptions');
  const before = server.stats().compiledExecutions;
  for (let i = 1; i <= 2; i++) await pubsub.publish('room:r1', msg(i));
  await eventually(() => subs.every((s) => s.results.length === 2), 5000, 'delivered');
  assert.equal(executions, 2 * 4, 'per event: the u1 cohort, the u2 cohort and the two unshared subscriptions of solo');
  assert.deepEqual(db.calls, [['u1'], ['u1']], 'one batch per event for cohorts and unshared members together');
  assert.equal(server.stats().compiledExecutions - before, 2 * 4, 'cohorts run compiled (graphql-jit)');
  for (const s of subs) {
    for (const [i, r] of s.results.entries()) {
      const want = await graphql.execute({ schema: chatSchema({ pubsub, authorOf: (m) => db.users.get(m.authorId) }), document: graphql.parse(MESSAGE_QUERY), variableValues: { room: 'r1' }, rootValue: msg(i + 1), contextValue: { user: s.user } });
      assert.deepEqual(r, JSON.parse(JSON.stringify(want)), `${s.user}, event ${i + 1}`);
    }
  }
});

test("a cohort's hooks: onNext once per event with the trigger's ctx; when it throws, onError once, every subscriber of that cohort gets `error` and runs onComplete, other cohorts go on", async (t) => {
  const pubsub = new PubSub();
  /** @type {string[]} */
  const calls = [];
  const server = serve(t, {
    schema: chatSchema({ pubsub }),
    loaders: loadersFor(fakeDb()),
    shareKey: byUser,
    onNext: (/** @type {any} */ ctx, /** @type {string} */ id, /** @type {any} */ _p, /** @type {any} */ _a, /** @type {any} */ result) => {
      assert.ok(ctx.shared && id === `trigger:${ctx.triggerId}`, 'the trigger context and id');
      calls.push(`next ${ctx.shareKey} ${result.data.messageAdded.id}`);
      if (ctx.shareKey === 'breaks' && result.data.messageAdded.id === 'm2') throw new Error('onNext broke');
    },
    onError: (/** @type {any} */ ctx, /** @type {string} */ _id, /** @type {any} */ _p, /** @type {any} */ errors) => void calls.push(`error ${ctx.shareKey} ${errors[0].message}`),
    onComplete: (/** @type {any} */ ctx) => void calls.push(`complete ${ctx.connectionParams.user}`),
  });
  const subs = subscribers(t, server.address().port, ['breaks', 'breaks', 'plain'], 1);
  await eventually(() => server.stats().triggerSubscriptions === 3, 5000, 'subscribed');
  for (let i = 1; i <= 3; i++) await pubsub.publish('room:r1', msg(i));
  const [b1, b2, plain] = subs;
  await eventually(() => plain.results.length === 3 && b1.errors.length === 1 && b2.errors.length === 1, 5000, 'delivered');
  await eventually(() => calls.filter((c) => c === 'complete breaks').length === 2, 5000, 'onComplete per subscriber');
  for (const s of [b1, b2]) {
    assert.deepEqual(ids(s), ['m1']);
    assert.equal(s.errors[0][0].message, 'onNext broke');
  }
  assert.deepEqual(ids(plain), ['m1', 'm2', 'm3']);
  assert.deepEqual(calls.filter((c) => c.includes('breaks')), ['next breaks m1', 'next breaks m2', 'error breaks onNext broke', 'complete breaks', 'complete breaks']);
  assert.deepEqual(calls.filter((c) => c.startsWith('next plain')), ['next plain m1', 'next plain m2', 'next plain m3']);
  assert.equal(server.stats().triggers, 1, 'the failed trigger is gone');
});

test("a cohort's onError throwing closes every subscriber's connection with 4500; other connections stay", async (t) => {
  const pubsub = new PubSub();
  const authorOf = (/** @type {any} */ m, /** @type {any} */ ctx) => {
    if (ctx.user === 'breaks') throw new Error('resolver broke');
    return { id: m.authorId };
  };
  const server = serve(t, {
    schema: chatSchema({ pubsub, authorOf }),
    shareKey: byUser,
    onNext: (/** @type {any} */ ctx) => {
      if (ctx.shareKey === 'breaks') throw new Error('onNext broke');
    },
    onError: () => {
      throw new Error('onError broke too');
    },
  });
  const [b1, b2, plain] = subscribers(t, server.address().port, ['breaks', 'breaks', 'plain'], 1, 'subscription M($room: String!) { messageAdded(room: $room) { id author { id } } }');
  await eventually(() => server.stats().triggerSubscriptions === 3, 5000, 'subscribed');
  await pubsub.publish('room:r1', msg(1));
  await eventually(() => b1.errors.length === 1 && b2.errors.length === 1, 5000, 'closed');
  for (const s of [b1, b2]) assert.equal(s.errors[0].code, 4500);
  await pubsub.publish('room:r1', msg(2));
  await eventually(() => plain.results.length === 2, 5000, 'the other cohort goes on');
  assert.deepEqual(plain.errors, []);
});

test('the last subscriber out takes its cohort out of the group, even mid-execution: nothing more is sent, a later subscriber starts a new cohort', async (t) => {
  const pubsub = new PubSub();
  /** @type {() => void} */
  let open = () => {};
  const gate = new Promise((r) => (open = () => r(undefined)));
  /** @type {string[]} */
  const completed = [];
  const authorOf = (/** @type {any} */ m, /** @type {any} */ ctx) => (ctx.user === 'leaves' && m.id === 'm1' ? gate.then(() => ({ id: 'u1' })) : { id: m.authorId });
  const server = serve(t, { schema: chatSchema({ pubsub, authorOf }), shareKey: byUser, onComplete: (/** @type {any} */ ctx) => void completed.push(ctx.connectionParams.user) });
  const query = 'subscription M($room: String!) { messageAdded(room: $room) { id author { id } } }';
  const [l1, l2, stays] = subscribers(t, server.address().port, ['leaves', 'leaves', 'stays'], 1, query);
  await eventually(() => server.stats().triggerSubscriptions === 3, 5000, 'subscribed');
  await pubsub.publish('room:r1', msg(1));
  await eventually(() => stays.results.length === 1, 5000, 'delivered');
  l1.stop();
  l2.stop();
  await eventually(() => completed.length === 2 && server.stats().triggers === 1, 5000, 'both left');
  open();
  await pubsub.publish('room:r1', msg(2));
  await eventually(() => stays.results.length === 2, 5000, 'the other cohort goes on');
  const [again] = subscribers(t, server.address().port, ['leaves'], 1, query);
  await eventually(() => server.stats().triggerSubscriptions === 2, 5000, 'subscribed again');
  await pubsub.publish('room:r1', msg(3));
  await eventually(() => again.results.length === 1 && stays.results.length === 3, 5000, 'the new cohort runs');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual([l1.results, l2.results], [[], []], 'nothing after they left');
  assert.deepEqual(ids(again), ['m3']);
  again.stop();
  stays.stop();
  await eventually(() => server.stats().triggers === 0 && !topicListeners.has('room:r1'), 5000, 'the group stopped listening');
});

test("a stuck cohort: events waiting are bounded by the PubSub's maxQueued, then each of its subscribers gets ERR_SUBWIRE_PUBSUB_OVERFLOW", async (t) => {
  const pubsub = new PubSub({ maxQueued: 3 });
  const authorOf = (/** @type {any} */ m, /** @type {any} */ ctx) => (ctx.user === 'stuck' ? new Promise(() => {}) : { id: m.authorId });
  const server = serve(t, { schema: chatSchema({ pubsub, authorOf }), shareKey: byUser });
  const query = 'subscription M($room: String!) { messageAdded(room: $room) { id author { id } } }';
  const [s1, s2, fine] = subscribers(t, server.address().port, ['stuck', 'stuck', 'fine'], 1, query);
  await eventually(() => server.stats().triggerSubscriptions === 3, 5000, 'subscribed');
  for (let i = 1; i <= 5; i++) await pubsub.publish('room:r1', msg(i));
  await eventually(() => fine.results.length === 5 && s1.errors.length === 1 && s2.errors.length === 1, 5000, 'delivered');
  for (const s of [s1, s2]) assert.match(s.errors[0][0].message, /maxQueued is 3/);
  assert.deepEqual(ids(fine), ['m1', 'm2', 'm3', 'm4', 'm5']);
});
