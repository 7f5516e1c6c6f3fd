'use strict';
/**
 * Scale-out: the process's broker (Redis pub/sub), JS side. The connection lives in Rust
 * (src/broker/, src/relay.rs, src/node/broker/); JS never holds a Redis socket.
 *
 * - `configure(options, what)`: the `broker` option of `useServer`, `new PubSub` and
 *   `createPubSub`. One broker per process: the same one again is fine, a different one
 *   throws `ERR_SUBWIRE_INVALID_OPTION`. On the first call, every topic that already has
 *   listeners and every projected trigger already running is subscribed.
 * - `send(topic, payload)`: lib/topics.js's `publish()` sends `JSON.stringify(payload)`
 *   through it (before delivering locally); a Promise settles with Redis's answer. While
 *   publishes are in flight a ref'd timer keeps Node alive, so a publish-only script does
 *   not exit before they are sent; otherwise nothing of the broker holds the event loop.
 * - Messages from Redis arrive in batches (`onMessages`): each is parsed once; its JS
 *   listeners get the value (lib/topics.js `deliverRemote`), and the projected triggers the
 *   relay could not serve in Rust get it through their route (`addRoute`), in order, each
 *   acknowledged once its results are in the hub.
 * - Faults and anomalies (broker down, bad JSON, a payload that is not an object, one over
 *   `maxPayload`) are counted (`stats()`) and reported as coded Errors: to the `onError`
 *   functions given in `broker` options, else `process.emitWarning`; a bad message once
 *   per topic and reason.
 * Required by lib/topics.js (which attaches its registry) and lib/use-server.js.
 * @module subwire/lib/broker
 */

const { loadNative } = require('./native.js');
const { codedError, invalidOption, fromNative } = require('./errors.js');
const { isObject } = require('./util.js');

const native = loadNative();

const DEFAULT_MAX_PAYLOAD = 1 << 20;
const noop = () => {};

/**
 * @typedef {{ url: string, prefix?: string, maxPayload?: number, tls?: { ca: string | Uint8Array },
 *   reconnect?: { minDelay?: number, maxDelay?: number }, onError?: (err: Error & { code: string }) => void }} BrokerOptions
 */
/**
 * What lib/topics.js gives: delivery to the JS listeners of a topic, and the topics that have some.
 * @typedef {{ deliver: (topic: string, value: object) => void, topics: () => Iterable<string> }} Registry
 */
/**
 * A projected trigger's way in (lib/projected-triggers.js): `deliver` one parsed message,
 * `busy()` while an execution is pending (the acknowledgement then waits for `idle()`).
 * @typedef {{ srv: any, trigger: number, topics: readonly string[], deliver: (value: object) => void, busy: () => boolean }} RouteTarget
 */

/** The process's broker options once configured (url, prefix, maxPayload, tls, reconnect). @type {string | null} */
let configured = null;
let maxPayload = DEFAULT_MAX_PAYLOAD;
/** @type {Registry | null} */
let registry = null;
/** @type {Map<number, Route>} live routes by id */
const routes = new Map();
let nextRoute = 1;
/** @type {Map<number, { resolve: () => void, reject: (e: Error) => void }>} */
const inflight = new Map();
let nextPublish = 0;
/** @type {NodeJS.Timeout | null} held while publishes are in flight */
let keepAlive = null;
/** @type {Set<(err: Error & { code: string }) => void>} */
const sinks = new Set();
const counts = { badJson: 0, notObject: 0, refused: 0 };
/** `${reason}\0${topic}` already reported. @type {Set<string>} */
const reported = new Set();
/** @type {{ since: number, ms: number } | null} */
let lastOutage = null;
/** @type {number | null} */
let downSince = null;

/** lib/topics.js attaches its topic registry at load. @param {Registry} r */
function attachRegistry(r) {
  registry = r;
}

/** @param {string} what @param {string} msg */
const bad = (what, msg) => invalidOption(`${what}: broker.${msg}`);

/** @param {unknown} v @param {string} what @param {string} name */
function ms(v, what, name) {
  if (v === undefined) return undefined;
  if (Number.isSafeInteger(v) && /** @type {number} */ (v) >= 1 && /** @type {number} */ (v) <= 3_600_000) return /** @type {number} */ (v);
  throw bad(what, `reconnect.${name} must be an integer number of ms from 1 to 3600000, got ${String(v)}`);
}

/**
 * Configures the process's broker (or checks that `options` name the one it has).
 * Returns a function that forgets `options.onError` (useServer calls it on dispose).
 * @param {unknown} options @param {string} what who asks, for messages
 * @returns {() => void}
 */
function configure(options, what) {
  if (!isObject(options)) throw bad(what, `broker must be an object such as { url: 'redis://127.0.0.1:6379', prefix: 'app:' }`);
  const o = /** @type {BrokerOptions} */ (options);
  if (typeof o.url !== 'string' || o.url === '') throw bad(what, `url must be a redis:// or rediss:// URL, got ${String(o.url)}`);
  const prefix = o.prefix ?? '';
  if (typeof prefix !== 'string') throw bad(what, `prefix must be a string, got ${String(prefix)}`);
  const max = o.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  if (!(Number.isSafeInteger(max) && max >= 1 && max <= 0xffff_ffff)) throw bad(what, `maxPayload must be a positive integer (bytes), got ${String(max)}`);
  let ca;
  if (o.tls !== undefined) {
    const given = isObject(o.tls) ? /** @type {any} */ (o.tls).ca : undefined;
    if (typeof given === 'string') ca = given;
    else if (given instanceof Uint8Array) ca = Buffer.from(given).toString('utf8');
    else throw bad(what, 'tls must be { ca: <PEM text or Buffer> } (the root certificate(s) to trust for rediss://)');
  }
  const reconnect = isObject(o.reconnect) ? /** @type {Record<string, unknown>} */ (o.reconnect) : {};
  if (o.reconnect !== undefined && !isObject(o.reconnect)) throw bad(what, 'reconnect must be { minDelay?, maxDelay? } in ms');
  const backoffMin = ms(reconnect.minDelay, what, 'minDelay');
  const backoffMax = ms(reconnect.maxDelay, what, 'maxDelay');
  if (o.onError !== undefined && typeof o.onError !== 'function') throw bad(what, 'onError must be a function (err) => void');
  const key = JSON.stringify([o.url, prefix, max, ca ?? null, backoffMin ?? null, backoffMax ?? null]);
  if (configured !== key) {
    let started;
    try {
      // (napi-rs calls onDone with its two arguments spread)
      started = native.brokerStart({ url: o.url, prefix, maxPayload: max, tlsCa: ca, backoffMin, backoffMax }, onMessages, /** @type {any} */ (onDone), onEvent);
    } catch (e) {
      const err = /** @type {Error & { code?: string }} */ (fromNative(e));
      if (err instanceof Error && err.code === 'ERR_SUBWIRE_INVALID_OPTION') throw invalidOption(`${what}: ${err.message}`);
      throw err;
    }
    if (configured !== null && !started) throw invalidOption(`${what}: this process already has a different broker`);
    configured = key;
    maxPayload = max;
    if (started) wireExisting();
  }
  const onError = o.onError;
  if (!onError) return noop;
  sinks.add(onError);
  return () => sinks.delete(onError);
}

/** The first configure: what already listens is subscribed now. */
function wireExisting() {
  for (const topic of registry?.topics() ?? []) native.brokerListen(topic);
  for (const r of pendingRoutes) r.open();
  pendingRoutes.clear();
}

/** lib/topics.js: a topic got its first JS listener. @param {string} topic */
function listen(topic) {
  if (configured !== null) native.brokerListen(topic);
}

/** lib/topics.js: a topic lost its last JS listener. @param {string} topic */
function unlisten(topic) {
  if (configured !== null) native.brokerUnlisten(topic);
}

/** A rejected promise nobody has to handle (failures are counted and reported anyway). @param {Error} err */
function rejected(err) {
  const p = Promise.reject(err);
  p.catch(noop);
  return p;
}

/**
 * Sends a publish to the broker; undefined when there is none. The promise settles once
 * Redis has taken it (or with the reason it did not). It never goes unhandled: ignoring it
 * is fine, failures are counted in `stats().publishFailed` and the outage reported.
 * @param {string} topic @param {unknown} payload @returns {Promise<void> | undefined}
 */
function send(topic, payload) {
  if (configured === null) return undefined;
  let json;
  try {
    json = JSON.stringify(payload);
  } catch (e) {
    counts.refused++;
    const why = e instanceof Error ? e.message : String(e);
    return rejected(codedError('ERR_SUBWIRE_BROKER_MESSAGE', `publish(${JSON.stringify(topic)}): not sent to the broker, JSON.stringify failed (${why}); this process's subscribers got it`));
  }
  if (typeof json !== 'string' || json.charCodeAt(0) !== 0x7b) {
    counts.refused++;
    return rejected(codedError('ERR_SUBWIRE_BROKER_MESSAGE', `publish(${JSON.stringify(topic)}): not sent to the broker, only an object payload (JSON {…}) crosses it; this process's subscribers got it`));
  }
  if (json.length * 3 > maxPayload && Buffer.byteLength(json) > maxPayload) {
    counts.refused++;
    return rejected(codedError('ERR_SUBWIRE_BROKER_MESSAGE', `publish(${JSON.stringify(topic)}): not sent to the broker, its ${Buffer.byteLength(json)}-byte JSON is over broker.maxPayload (${maxPayload}); this process's subscribers got it`));
  }
  nextPublish = (nextPublish + 1) >>> 0;
  const id = nextPublish;
  /** @type {Promise<void>} */
  const p = new Promise((resolve, reject) => inflight.set(id, { resolve, reject }));
  p.catch(noop);
  if (inflight.size === 1) keepAlive ??= setInterval(noop, 1 << 30);
  if (outgoing.length === 0) process.nextTick(sendOutgoing);
  outgoing.push(topic);
  outgoingRest.payloads.push(json);
  outgoingRest.ids.push(id);
  return p;
}

/**
 * Publishes of this JS turn: handed to the broker thread together (`brokerPublishAll`) at
 * the turn's end, so it finds the whole burst queued and sends it as one
 * pipeline. (Handed over one at a time as the app publishes, the broker thread would wake on
 * the first and send it alone, the rest a round trip later: every other process would then
 * get the burst in pieces and fan each piece out with its own write per connection.)
 * @type {string[]} topics, and beside them their JSON texts and publish ids
 */
let outgoing = [];
/** @type {{ payloads: string[], ids: number[] }} */
let outgoingRest = { payloads: [], ids: [] };

function sendOutgoing() {
  const topics = outgoing;
  const { payloads, ids } = outgoingRest;
  outgoing = [];
  outgoingRest = { payloads: [], ids: [] };
  try {
    if (topics.length === 1) native.brokerPublish(topics[0], payloads[0], ids[0]);
    else native.brokerPublishAll(topics, payloads, ids);
  } catch (e) {
    const err = fromNative(e);
    for (const id of ids) settled(id)?.reject(/** @type {Error} */ (err));
  }
}

/** @param {number} id */
function settled(id) {
  const p = inflight.get(id);
  inflight.delete(id);
  if (inflight.size === 0 && keepAlive) {
    clearInterval(keepAlive);
    keepAlive = null;
  }
  return p;
}

/** Publish outcomes from Rust. @param {number[]} ok @param {{ id: number, code: string, message: string }[]} failed */
function onDone(ok, failed) {
  for (const id of ok) settled(id)?.resolve();
  for (const f of failed) settled(f.id)?.reject(codedError(f.code, f.message));
}

/** @param {Error & { code: string }} err */
function report(err) {
  if (sinks.size === 0) {
    process.emitWarning(err.message, { code: err.code });
    return;
  }
  for (const sink of sinks) {
    try {
      sink(err);
    } catch (e) {
      console.error('A broker onError handler threw.', e);
    }
  }
}

/** @param {{ kind: string, code?: string, message?: string, since?: number, downMs?: number, reconnects?: number, topic?: string }} ev */
function onEvent(ev) {
  if (ev.kind === 'down') {
    downSince = ev.since ?? Date.now();
    report(codedError(ev.code ?? 'ERR_SUBWIRE_BROKER_DOWN', `${ev.message} (down since ${new Date(downSince).toISOString()}; reconnecting, publishes fail until it is back)`));
  } else if (ev.kind === 'up') {
    lastOutage = { since: downSince ?? Date.now() - (ev.downMs ?? 0), ms: ev.downMs ?? 0 };
    downSince = null;
    process.emitWarning(
      `subwire: the broker is back after ${lastOutage.ms} ms down; every live topic is subscribed again. Messages published elsewhere meanwhile were not delivered here.`,
      { code: 'SUBWIRE_BROKER_UP' },
    );
  } else {
    report(codedError(ev.code ?? 'ERR_SUBWIRE_BROKER_COMMAND', ev.message ?? 'broker error'));
  }
}

/**
 * A message that cannot be delivered: counted, reported once per topic and reason.
 * @param {'badJson' | 'notObject'} reason @param {string} topic @param {string} what
 */
function anomaly(reason, topic, what) {
  counts[reason]++;
  const key = `${reason}\0${topic}`;
  if (reported.has(key)) return;
  reported.add(key);
  report(codedError('ERR_SUBWIRE_BROKER_MESSAGE', `a message from the broker on topic ${JSON.stringify(topic)} ${what}: dropped (reported once per topic; stats().broker counts them)`));
}

/**
 * A batch of messages from Redis, in arrival order.
 * @param {{ topic: string, payload?: string | null, listeners: boolean, routes: number[] }[]} msgs
 */
function onMessages(msgs) {
  /** @type {Set<Route>} */
  const touched = new Set();
  for (const m of msgs) {
    /** @type {any} */
    let value;
    if (m.payload == null) anomaly('badJson', m.topic, 'is not UTF-8 text');
    else {
      try {
        value = JSON.parse(m.payload);
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          anomaly('notObject', m.topic, 'is not a JSON object');
          value = undefined;
        }
      } catch {
        anomaly('badJson', m.topic, 'is not JSON');
      }
    }
    if (value !== undefined && m.listeners) registry?.deliver(m.topic, value);
    for (let i = 0; i < m.routes.length; i += 2) {
      const r = routes.get(m.routes[i]);
      if (!r) continue;
      r.seq = m.routes[i + 1];
      if (value !== undefined) {
        try {
          r.target.deliver(value);
        } catch (e) {
          console.error('A projected subscription failed on a message from the broker.', e);
        }
      }
      touched.add(r);
    }
  }
  for (const r of touched) r.settle();
}

/** Routes made before a broker was configured: opened by the first configure. @type {Set<Route>} */
const pendingRoutes = new Set();

/** A projected trigger's route: Rust projects its messages, JS serves the ones it cannot. */
class Route {
  /** @param {RouteTarget} target */
  constructor(target) {
    this.target = target;
    this.id = 0;
    /** Last sequence number received / acknowledged. */
    this.seq = 0;
    this.acked = 0;
    this.closed = false;
  }

  open() {
    if (this.closed) return;
    this.id = nextRoute++;
    routes.set(this.id, this);
    this.target.srv.brokerRoute(this.target.trigger, this.id, [...this.target.topics]);
  }

  /** Its messages so far are handled (their results queued for the hub): acknowledge, unless an execution is still pending. */
  settle() {
    if (this.closed || this.seq === this.acked || this.target.busy()) return;
    this.acked = this.seq;
    this.target.srv.brokerAck(this.id, this.seq);
  }

  /** The trigger ended. */
  close() {
    if (this.closed) return;
    this.closed = true;
    pendingRoutes.delete(this);
    if (this.id === 0) return;
    routes.delete(this.id);
    this.target.srv.brokerUnroute(this.id);
  }
}

/**
 * A projected trigger takes messages from the broker on its topics (now, or once a broker is
 * configured). Call `settle()` when its pending execution ends, `close()` when it ends.
 * @param {RouteTarget} target @returns {Route}
 */
function addRoute(target) {
  const r = new Route(target);
  if (configured !== null) r.open();
  else pendingRoutes.add(r);
  return r;
}

/**
 * The broker's figures (`server.stats().broker`, `brokerStats()`), or null without a broker.
 * @returns {import('../index').BrokerStats | null}
 */
function stats() {
  const s = native.brokerStats();
  if (!s) return null;
  return {
    ...s,
    state: /** @type {any} */ (s.state),
    badJson: counts.badJson,
    notObject: counts.notObject,
    publishRefused: counts.refused,
    publishesInFlight: inflight.size,
    lastOutage,
  };
}

module.exports = { Route, configure, attachRegistry, listen, unlisten, send, addRoute, stats, DEFAULT_MAX_PAYLOAD };
