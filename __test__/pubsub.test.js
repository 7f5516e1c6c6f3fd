'use strict';
// subwire's PubSub (lib/pubsub.js): the process-wide topic registry, graphql-subscriptions'
// PubSubEngine, Yoga's createPubSub, and withFilter from graphql-subscriptions on top of it.
// Pure JS: no native addon, no sockets.
const test = require('node:test');
const assert = require('node:assert/strict');
const v8 = require('node:v8');
const vm = require('node:vm');
const { setImmediate: tick } = require('node:timers/promises');
const { withFilter } = require('graphql-subscriptions');
const { PubSub, createPubSub } = require('../lib/pubsub.js');
const { publishToTopic, subscribeTopic, topicStats, topicListeners } = require('../lib/topics.js');

/**
 * Every test leaves the registry as it found it (empty, unless an earlier test failed and
 * leaked): `const clean = registryCheck(); …; clean();`.
 */
function registryCheck() {
  const count = () => {
    const { topics, listeners } = topicStats();
    assert.equal(topicListeners.size, topics);
    return { topics, listeners };
  };
  const start = count();
  return () => assert.deepEqual(count(), start, 'no listener left behind');
}

/**
 * `p`, or a failure after `ms`: a next() that never settles fails its own test instead of
 * emptying the event loop and taking the rest of the file down with it.
 */
async function settled(p, what = 'a promise', ms = 2000) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads `n` values from `it`, awaiting each `next()`. */
async function take(it, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = await settled(it.next(), `next() for value ${i} of ${n}`);
    assert.equal(r.done, false, `value ${i} of ${n}`);
    out.push(r.value);
  }
  return out;
}

/** An Error-matcher for coded errors. */
const coded = (code, Ctor = Error) => (err) => {
  assert.ok(err instanceof Ctor, `a ${Ctor.name}, got ${err}`);
  assert.equal(err.code, code);
  return true;
};

test('publishToTopic / subscribeTopic: sync delivery, counters, empty topics deleted', () => {
  const assertRegistryEmpty = registryCheck();
  const before = topicStats().publishes;
  assert.equal(publishToTopic('nobody', 1), 0, 'no listeners: nobody called');
  assert.equal(topicListeners.has('nobody'), false, 'publishing creates no entry');
  const got = [];
  const off1 = subscribeTopic('t', (p) => got.push(['a', p]));
  const off2 = subscribeTopic('t', (p) => got.push(['b', p]));
  assert.deepEqual(topicStats(), { topics: 1, listeners: 2, publishes: before + 1 }); // run first: registry empty
  assert.equal(publishToTopic('t', 1), 2);
  assert.deepEqual(got, [['a', 1], ['b', 1]], 'delivered before publishToTopic returned, in subscription order');
  off1();
  off1(); // idempotent: must not remove b or drive the count negative
  assert.deepEqual(topicStats(), { topics: 1, listeners: 1, publishes: before + 2 });
  off2();
  assert.equal(topicListeners.has('t'), false, 'the empty Set is deleted');
  assert.equal(topicStats().publishes, before + 2);
  assertRegistryEmpty();
});

test('publishToTopic: listeners that (un)subscribe during a delivery, and a throwing listener', () => {
  const assertRegistryEmpty = registryCheck();
  const got = [];
  let offC;
  let offLate;
  const offA = subscribeTopic('during', (p) => {
    got.push(`a${p}`);
    offC(); // c has not had its turn: it must not get this payload
    offLate ??= subscribeTopic('during', (q) => got.push(`late${q}`)); // added now: gets only later payloads
  });
  const offB = subscribeTopic('during', (p) => {
    got.push(`b${p}`);
    throw new Error('b failed');
  });
  offC = subscribeTopic('during', (p) => got.push(`c${p}`));
  const offD = subscribeTopic('during', (p) => got.push(`d${p}`));
  assert.throws(() => publishToTopic('during', 1), /b failed/, 'the listener error reaches the publisher');
  assert.deepEqual(got, ['a1', 'b1', 'd1'], 'd still got the payload after b threw; c (removed) and late (added) did not');
  got.length = 0;
  assert.throws(() => publishToTopic('during', 2), /b failed/);
  assert.deepEqual(got, ['a2', 'b2', 'd2', 'late2']);
  for (const off of [offA, offB, offD, offLate]) off();
  assertRegistryEmpty();
});

test('the same function subscribed twice is two subscriptions', () => {
  const assertRegistryEmpty = registryCheck();
  const got = [];
  const fn = (p) => got.push(p);
  const off1 = subscribeTopic('twice', fn);
  const off2 = subscribeTopic('twice', fn);
  publishToTopic('twice', 'x');
  assert.deepEqual(got, ['x', 'x']);
  off1();
  publishToTopic('twice', 'y');
  assert.deepEqual(got, ['x', 'x', 'y'], 'removing one leaves the other');
  off2();
  assertRegistryEmpty();
});

test('1,000 events across 3 iterators: each gets every event exactly once, in publish order', async () => {
  const assertRegistryEmpty = registryCheck();
  const pubsub = new PubSub();
  const its = [pubsub.asyncIterableIterator('seq'), new PubSub().asyncIterableIterator('seq'), pubsub.asyncIterator(['seq'])];
  // Readers run concurrently with the publisher, so events arrive both to pending next() calls
  // and into the queues; the publisher yields to the event loop every 7 events.
  const readers = its.map((it) => take(it, 1000));
  for (let i = 0; i < 1000; i++) {
    await pubsub.publish('seq', i);
    if (i % 7 === 0) await tick();
  }
  const expected = Array.from({ length: 1000 }, (_, i) => i);
  for (const got of await Promise.all(readers)) assert.deepEqual(got, expected);
  for (const it of its) await it.return();
  assertRegistryEmpty();
});

test('one iterator over several triggers gets their events interleaved in publish order, once', async () => {
  const assertRegistryEmpty = registryCheck();
  const pubsub = new PubSub();
  const before = topicStats().listeners;
  const it = pubsub.asyncIterableIterator(['A', 'B', 'A']); // a repeated trigger counts once
  assert.equal(topicStats().listeners, before + 2);
  await pubsub.publish('A', 'a1');
  await pubsub.publish('C', 'c1'); // not one of its triggers
  await pubsub.publish('B', 'b1');
  await pubsub.publish('A', 'a2');
  assert.deepEqual(await take(it, 3), ['a1', 'b1', 'a2']);
  await it.return();
  assertRegistryEmpty();
});

test('events published before the first next() are kept (eager subscription)', async () => {
  const assertRegistryEmpty = registryCheck();
  const pubsub = new PubSub();
  const before = topicStats().listeners;
  const it = pubsub.asyncIterableIterator('early');
  assert.equal(topicStats().listeners, before + 1, 'subscribed when created, not on first next()');
  await pubsub.publish('early', 1);
  await pubsub.publish('early', 2);
  assert.deepEqual(await take(it, 2), [1, 2]);
  await it.return();
  assertRegistryEmpty();
});

test('return() mid-stream: stops delivery, removes the listeners, is idempotent', async () => {
  const assertRegistryEmpty = registryCheck();
  const pubsub = new PubSub();
  const it = pubsub.asyncIterableIterator(['r1', 'r2']);
  await pubsub.publish('r1', 1);
  await pubsub.publish('r2', 2);
  assert.deepEqual(await take(it, 1), [1]);
  assert.deepEqual(await it.return(), { value: undefined, done: true });
  assertRegistryEmpty();
  await pubsub.publish('r1', 3);
  assert.deepEqual(await settled(it.next()), { value: undefined, done: true }, 'the queued 2 is dropped, 3 never arrives');
  assert.deepEqual(await it.return(), { value: undefined, done: true }, 'a second return() is harmless');
  assert.deepEqual(await settled(it.next()), { value: undefined, done: true });
  assertRegistryEmpty();
});

test('pending next() calls are resolved as done by return()', async () => {
  const assertRegistryEmpty = registryCheck();
  const it = new PubSub().asyncIterableIterator('pending');
  const p1 = it.next();
  const p2 = it.next();
  await it.return();
  assert.deepEqual(await settled(Promise.all([p1, p2]), 'the pending next() calls'), [
    { value: undefined, done: true },
    { value: undefined, done: true },
  ]);
  assertRegistryEmpty();
});

test('pending next() calls are resolved in order as events arrive', async () => {
  const assertRegistryEmpty = registryCheck();
  const pubsub = new PubSub();
  const it = pubsub.asyncIterableIterator('p');
  const pending = [it.next(), it.next(), it.next()];
  await pubsub.publish('p', 'x');
  await pubsub.publish('p', 'y');
  await pubsub.publish('p', 'z');
  assert.deepEqual((await settled(Promise.all(pending), 'the pending next() calls')).map((r) => r.value), ['x', 'y', 'z']);
  await it.return();
  assertRegistryEmpty();
});

test('a backlog of thousands drains in order while more arrives', async () => {
  const assertRegistryEmpty = registryCheck();
  const pubsub = new PubSub();
  const it = pubsub.asyncIterableIterator('backlog');
  for (let i = 0; i < 5000; i++) pubsub.publish('backlog', i);
  const got = await take(it, 2500);
  for (let i = 5000; i < 7500; i++) pubsub.publish('backlog', i);
  got.push(...(await take(it, 5000)));
  assert.deepEqual(got, Array.from({ length: 7500 }, (_, i) => i));
  const pending = it.next();
  await pubsub.publish('backlog', 'last');
  assert.deepEqual(await settled(pending, 'the pending next()'), { value: 'last', done: false }, 'drained: the next event goes to the waiting next()');
  await it.return();
  assertRegistryEmpty();
});

test('throw(err) unsubscribes and rejects with err', async () => {
  const assertRegistryEmpty = registryCheck();
  const it = new PubSub().asyncIterableIterator('th');
  const pending = it.next();
  const boom = new Error('boom');
  await assert.rejects(it.throw(boom), (err) => err === boom);
  assert.deepEqual(await settled(pending, 'the pending next()'), { value: undefined, done: true });
  assertRegistryEmpty();
  assert.deepEqual(await settled(it.next()), { value: undefined, done: true });
});

test('overflow: maxQueued events are held; one more ends the iterator with a coded error', async () => {
  const assertRegistryEmpty = registryCheck();
  const pubsub = new PubSub({ maxQueued: 5 });
  const full = pubsub.asyncIterableIterator('of');
  for (let i = 0; i < 5; i++) await pubsub.publish('of', i);
  assert.deepEqual(await take(full, 5), [0, 1, 2, 3, 4], 'exactly maxQueued unconsumed events are fine');
  await full.return();

  const it = pubsub.asyncIterableIterator('of');
  for (let i = 0; i < 6; i++) await pubsub.publish('of', i);
  assertRegistryEmpty(); // the iterator unsubscribed when it overflowed
  await assert.rejects(settled(it.next()), (err) => {
    coded('ERR_SUBWIRE_PUBSUB_OVERFLOW')(err);
    assert.match(err.message, /maxQueued is 5/);
    assert.match(err.message, /return\(\)|raise maxQueued/, 'says what to do about it');
    return true;
  });
  assert.deepEqual(await settled(it.next()), { value: undefined, done: true }, 'ended after the error');
  assert.deepEqual(await it.return(), { value: undefined, done: true });
});

test('overflow frees the queued payloads (the default bound is 10,000)', async (t) => {
  const assertRegistryEmpty = registryCheck();
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const pubsub = new PubSub();
  const queuedRefs = (it, topic, n) => {
    const refs = [];
    for (let i = 0; i < n; i++) {
      const payload = { i, blob: new Array(16).fill(i) };
      refs.push(new WeakRef(payload));
      pubsub.publish(topic, payload);
    }
    return refs;
  };
  const kept = pubsub.asyncIterableIterator('kept');
  const keptRefs = queuedRefs(kept, 'kept', 100);
  const dropped = pubsub.asyncIterableIterator('dropped');
  const droppedRefs = queuedRefs(dropped, 'dropped', 10_001);
  await tick(); // WeakRef targets stay alive until the current job ends
  gc();
  t.diagnostic(`${droppedRefs.filter((r) => r.deref()).length} of 10001 overflowed payloads still reachable after gc`);
  assert.equal(keptRefs.filter((r) => r.deref()).length, 100, 'control: a live queue keeps its payloads');
  assert.equal(droppedRefs.filter((r) => r.deref()).length, 0, 'an overflowed queue is dropped');
  await assert.rejects(settled(dropped.next()), coded('ERR_SUBWIRE_PUBSUB_OVERFLOW'));
  await kept.return();
  assertRegistryEmpty();
});

test('publish on any instance (or publishToTopic) reaches iterators and listeners of every instance', async () => {
  const assertRegistryEmpty = registryCheck();
  const a = new PubSub();
  const b = new PubSub();
  const it = b.asyncIterableIterator('shared');
  const raw = [];
  const off = subscribeTopic('shared', (p) => raw.push(p));
  const got = [];
  const id = await a.subscribe('shared', (p) => got.push(p));
  await a.publish('shared', 1);
  publishToTopic('shared', 2);
  await b.publish('shared', 3);
  assert.deepEqual(await take(it, 3), [1, 2, 3]);
  assert.deepEqual(raw, [1, 2, 3]);
  assert.deepEqual(got, [1, 2, 3]);
  a.unsubscribe(id);
  off();
  await it.return();
  assertRegistryEmpty();
});

test('PubSubEngine subscribe/unsubscribe: onMessage, ids unique per instance, unknown ids ignored', async () => {
  const assertRegistryEmpty = registryCheck();
  const pubsub = new PubSub();
  const got = [];
  const onMessage = (p) => got.push(p);
  const id1 = await pubsub.subscribe('e', onMessage, {});
  const id2 = await pubsub.subscribe('e', onMessage); // the same function again: called twice
  const id3 = await pubsub.subscribe('f', (p) => got.push(`f:${p}`));
  assert.ok([id1, id2, id3].every(Number.isInteger));
  assert.equal(new Set([id1, id2, id3]).size, 3, 'unique ids');
  await pubsub.publish('e', 'x');
  await pubsub.publish('f', 'y');
  assert.deepEqual(got, ['x', 'x', 'f:y']);
  pubsub.unsubscribe(id1);
  pubsub.unsubscribe(id1); // again: nothing
  pubsub.unsubscribe(12345); // never issued: nothing
  await pubsub.publish('e', 'z');
  assert.deepEqual(got, ['x', 'x', 'f:y', 'z'], 'id2 still subscribed');
  pubsub.unsubscribe(id2);
  pubsub.unsubscribe(id3);
  assertRegistryEmpty();
});

test("createPubSub: Yoga's routing key / id topics, payloads, for await", async () => {
  const assertRegistryEmpty = registryCheck();
  const yoga = createPubSub();
  const byKey = yoga.subscribe('postAdded');
  const byId = yoga.subscribe('postLiked', 1);
  const other = yoga.subscribe('postLiked', 2);
  yoga.publish('postAdded', { title: 'a' });
  yoga.publish('postLiked', 1, { likes: 1 });
  new PubSub().publish('postLiked:1', { likes: 2 }); // same registry, same topic naming
  yoga.publish('postLiked', 3, { likes: 99 }); // nobody listens to postLiked:3
  yoga.publish('postAdded'); // no payload: null, as in Yoga
  assert.deepEqual(await take(byKey, 2), [{ title: 'a' }, null]);
  const seen = [];
  await settled(
    (async () => {
      for await (const v of byId) {
        seen.push(v);
        if (seen.length === 2) break; // for await calls return()
      }
    })(),
    'the for await loop',
  );
  assert.deepEqual(seen, [{ likes: 1 }, { likes: 2 }]);
  assert.equal(topicListeners.has('postLiked:1'), false, 'break unsubscribed');
  // a for await loop ended from outside by return()
  const loop = (async () => {
    const vs = [];
    for await (const v of other) vs.push(v);
    return vs;
  })();
  await tick();
  yoga.publish('postLiked', 2, 'two');
  await tick();
  await other.return();
  assert.deepEqual(await settled(loop, 'the for await loop'), ['two']);
  await byKey.return();
  assertRegistryEmpty();
});

test('withFilter from graphql-subscriptions over subwire PubSub', async () => {
  const assertRegistryEmpty = registryCheck();
  const pubsub = new PubSub();
  const resolve = withFilter(
    () => pubsub.asyncIterableIterator('T'),
    (payload, args) => payload.room === args.room,
  );
  const it = await resolve(undefined, { room: 'r1' }, {}, {});
  await pubsub.publish('T', { room: 'r2', n: 1 });
  await pubsub.publish('T', { room: 'r1', n: 2 });
  await pubsub.publish('T', { room: 'r2', n: 3 });
  await pubsub.publish('T', { room: 'r1', n: 4 });
  assert.deepEqual((await take(it, 2)).map((p) => p.n), [2, 4]);
  const pending = it.next();
  await it.return();
  assert.deepEqual(await settled(pending, 'the pending filtered next()'), { value: undefined, done: true }, 'return() ends a pending filtered next()');
  assertRegistryEmpty();
});

test('graphql-js subscribe() with withFilter: an event published right after subscribe() resolves is delivered', async () => {
  const assertRegistryEmpty = registryCheck();
  const { buildSchema, parse, subscribe } = require('graphql');
  const schema = buildSchema('type Query { q: Int } type Subscription { tick(room: String!): Int }');
  const pubsub = new PubSub();
  const result = await subscribe({
    schema,
    document: parse('subscription { tick(room: "a") }'),
    // the Subscription field's `subscribe` resolver, as a resolver map would give it
    subscribeFieldResolver: withFilter(
      () => pubsub.asyncIterableIterator('TICK'),
      (payload, args) => payload.room === args.room,
    ),
  });
  assert.equal(typeof result[Symbol.asyncIterator], 'function', JSON.stringify(result));
  // graphql-js resolves `tick` from the payload: each payload is `{ tick, room }`
  await pubsub.publish('TICK', { room: 'b', tick: 0 });
  await pubsub.publish('TICK', { room: 'a', tick: 1 });
  const first = await settled(result.next(), 'the first graphql result');
  assert.deepEqual(JSON.parse(JSON.stringify(first)), { value: { data: { tick: 1 } }, done: false });
  await result.return();
  assertRegistryEmpty();
});

test('10,000 subscribe/return cycles leave nothing behind', async () => {
  const assertRegistryEmpty = registryCheck();
  const pubsub = new PubSub();
  const yoga = createPubSub();
  for (let i = 0; i < 10_000; i++) {
    const it = pubsub.asyncIterableIterator(['c1', `c2:${i}`]);
    const y = yoga.subscribe('c3', i);
    const id = await pubsub.subscribe('c4', () => {});
    await pubsub.publish('c1', i);
    if (i % 2 === 0) assert.deepEqual(await settled(it.next()), { value: i, done: false });
    await it.return();
    await y.return();
    pubsub.unsubscribe(id);
  }
  assertRegistryEmpty();
});

test('a bad topic, listener or option throws a TypeError coded ERR_SUBWIRE_INVALID_OPTION', () => {
  const assertRegistryEmpty = registryCheck();
  const pubsub = new PubSub();
  const yoga = createPubSub();
  const bad = coded('ERR_SUBWIRE_INVALID_OPTION', TypeError);
  assert.throws(() => pubsub.publish('', 1), bad);
  assert.throws(() => pubsub.publish(undefined, 1), bad);
  assert.throws(() => pubsub.subscribe(42, () => {}), bad);
  assert.throws(() => pubsub.subscribe('ok', 'not a function'), bad);
  assert.throws(() => pubsub.asyncIterableIterator(''), bad);
  assert.throws(() => pubsub.asyncIterableIterator([]), bad);
  assert.throws(() => pubsub.asyncIterableIterator(['ok', '']), bad);
  assert.throws(() => pubsub.asyncIterator(null), bad);
  assert.throws(() => publishToTopic('', 1), bad);
  assert.throws(() => subscribeTopic('', () => {}), bad);
  assert.throws(() => yoga.publish('', 1), bad);
  assert.throws(() => yoga.subscribe(''), bad);
  assert.throws(() => new PubSub({ maxQueued: 0 }), bad);
  assert.throws(() => new PubSub({ maxQueued: 1.5 }), bad);
  assert.throws(() => createPubSub({ eventTarget: new EventTarget() }), bad);
  assert.throws(() => pubsub.publish(''), /non-empty string/, 'the message says what is expected');
  assertRegistryEmpty(); // the failed ['ok', ''] left no listener on 'ok'
});

test('after all of the above, the registry is empty', () => {
  assert.deepEqual(topicStats().topics, 0);
  assert.deepEqual(topicStats().listeners, 0);
  assert.equal(topicListeners.size, 0);
});
