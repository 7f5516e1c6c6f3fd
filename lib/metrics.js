'use strict';
/**
 * Prometheus metrics: the families JS owns, the one renderer of the text exposition format
 * (0.0.4), and the prom-client integration.
 *
 * A scrape reads one snapshot: the native server's families (src/metrics/: connections,
 * closes, traffic, hub, histograms merged over reactors, process fds; `NativeServer.metrics()`),
 * then the families of the JS core (subscriptions by path, projection fallbacks) and of the
 * process's topics (publishes, topics), then any extra source a module added
 * (`ServerMetrics.addSource`: the broker's families go there). lib/use-server.js makes one
 * {@link ServerMetrics} per server; `server.metrics()` is its text, `registerMetrics()` puts
 * the same families in a prom-client registry (prom-client is an optional peer: nothing here
 * requires it). docs/METRICS.md is the table of every family.
 * @module subwire/lib/metrics
 */

const { invalidOption } = require('./errors.js');

/** The content type of `server.metrics()`'s text. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * @typedef {import('../index').MetricFamily} MetricFamily
 * @typedef {import('../index').MetricSample} MetricSample
 */

/** A number as the exposition format writes it. @param {number} v */
function num(v) {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** @param {string} s */
const escapeHelp = (s) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
/** @param {string} s */
const escapeLabel = (s) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** `{a="x",b="y"}` (or '' for no labels). @param {readonly string[]} names @param {readonly string[]} values @param {string} [extra] */
function labelText(names, values, extra) {
  const parts = names.map((n, i) => `${n}="${escapeLabel(String(values[i] ?? ''))}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/**
 * The Prometheus text exposition format (0.0.4) of `families`: each family's HELP and TYPE
 * once, then its samples; histograms as cumulative `_bucket`s (with `le="+Inf"`), `_sum`
 * and `_count`. A name seen twice keeps its first family (the format allows each once).
 * @param {readonly MetricFamily[]} families
 * @returns {string}
 */
function render(families) {
  const seen = new Set();
  let out = '';
  for (const f of families) {
    if (seen.has(f.name)) continue;
    seen.add(f.name);
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      if (f.type !== 'histogram') {
        out += `${f.name}${labelText(f.labelNames, s.labels)} ${num(s.value)}\n`;
        continue;
      }
      const buckets = s.buckets ?? [];
      for (let i = 0; i < f.bounds.length; i++) {
        out += `${f.name}_bucket${labelText(f.labelNames, s.labels, `le="${num(f.bounds[i])}"`)} ${num(buckets[i] ?? 0)}\n`;
      }
      out += `${f.name}_bucket${labelText(f.labelNames, s.labels, 'le="+Inf"')} ${num(s.value)}\n`;
      out += `${f.name}_sum${labelText(f.labelNames, s.labels)} ${num(s.sum ?? 0)}\n`;
      out += `${f.name}_count${labelText(f.labelNames, s.labels)} ${num(s.value)}\n`;
    }
  }
  return out;
}

/** @param {string} name @param {'counter' | 'gauge'} type @param {string} help @param {number} value @returns {MetricFamily} */
const single = (name, type, help, value) => ({ name, help, type, labelNames: [], bounds: [], samples: [{ labels: [], value }] });

/**
 * The families of the graphql-ws core (lib/server.js `stats()`) and of the process's topics
 * (lib/pubsub.js `topicStats()`).
 * @param {{ subscriptionsByPath: { projected: number, shared: number, executed: number }, projectionFallbacks: number }} core
 * @param {{ topics: number, publishes: number }} topics
 * @returns {MetricFamily[]}
 */
function coreFamilies(core, topics) {
  const paths = core.subscriptionsByPath;
  return [
    {
      name: 'subwire_subscriptions_active',
      help: 'GraphQL operations live now, by how their events are made: projected (Rust writes results from the published JSON), shared (one execution per event for a shareKey trigger), executed (graphql-js per subscriber, and queries and mutations while they run).',
      type: 'gauge',
      labelNames: ['path'],
      bounds: [],
      samples: [
        { labels: ['projected'], value: paths.projected },
        { labels: ['shared'], value: paths.shared },
        { labels: ['executed'], value: paths.executed },
      ],
    },
    single('subwire_projection_fallbacks_total', 'counter', 'Events of projected subscriptions that graphql-js executed because plain JSON could not carry them exactly.', core.projectionFallbacks),
    single('subwire_publishes_total', 'counter', "publish() calls on this process's topics (server.publish, PubSub, createPubSub, publish); process-wide, like the topics.", topics.publishes),
    single('subwire_topics', 'gauge', 'Topics with listeners in this process now.', topics.topics),
  ];
}

const BROKER_STATES = ['connecting', 'up', 'down', 'closed'];

/**
 * The families of the process's broker (lib/broker.js `stats()`; none without a broker).
 * Process-wide, like the broker: every server of the process shows the same values.
 * @param {ReturnType<typeof import('./broker.js').stats>} b
 * @returns {MetricFamily[]}
 */
function brokerFamilies(b) {
  if (!b) return [];
  const state = String(b.state);
  return [
    single('subwire_broker_up', 'gauge', 'Whether the connection to Redis is up (1) or not (0).', state === 'up' ? 1 : 0),
    {
      name: 'subwire_broker_state',
      help: 'The broker connection state now: 1 for the current state, 0 for the others.',
      type: 'gauge',
      labelNames: ['state'],
      bounds: [],
      samples: BROKER_STATES.map((st) => ({ labels: [st], value: st === state ? 1 : 0 })),
    },
    single('subwire_broker_outage_seconds', 'gauge', 'How long the connection to Redis has been down (0 while up).', state === 'up' ? 0 : Math.max(0, (Date.now() - Number(b.since)) / 1000)),
    single('subwire_broker_reconnects_total', 'counter', 'Connections to Redis made again after a loss.', Number(b.reconnects)),
    single('subwire_broker_publishes_total', 'counter', 'Publishes sent to Redis.', Number(b.published)),
    single('subwire_broker_publish_failures_total', 'counter', 'Publishes Redis did not take (down, refused, overloaded) or that could not be sent (not JSON, too big).', Number(b.publishFailed) + Number(b.publishRefused ?? 0)),
    single('subwire_broker_publishes_in_flight', 'gauge', 'Publishes sent and not yet answered by Redis.', Number(b.publishesInFlight ?? 0)),
    single('subwire_broker_queued_bytes', 'gauge', 'Bytes of publishes waiting to be written to Redis (a lag signal).', Number(b.queuedBytes)),
    single('subwire_broker_messages_received_total', 'counter', "Messages from other publishers on Redis, handed on for delivery (this process's own publishes coming back are not: they are not delivered twice).", Number(b.delivered)),
    single('subwire_broker_messages_projected_total', 'counter', 'Messages from Redis that projected subscriptions got without JS.', Number(b.projected)),
    single('subwire_broker_messages_to_js_total', 'counter', 'Messages from Redis handed to JS (listeners, executed and shared triggers, projection fallbacks).', Number(b.toJs)),
    {
      name: 'subwire_broker_messages_dropped_total',
      help: 'Messages from Redis not delivered, by reason (reported once per topic and reason).',
      type: 'counter',
      labelNames: ['reason'],
      bounds: [],
      samples: [
        { labels: ['bad_json'], value: Number(b.badJson) },
        { labels: ['not_object'], value: Number(b.notObject) },
        { labels: ['too_big'], value: Number(b.oversized) },
        { labels: ['js_overflow'], value: Number(b.jsOverflow) },
      ],
    },
    single('subwire_broker_topics_subscribed', 'gauge', 'Topics this process is subscribed to on Redis (one SUBSCRIBE each).', Number(b.topicsSubscribed)),
  ];
}

/** A source of extra families, read at every scrape. @typedef {() => MetricFamily[]} MetricSource */

/**
 * One server's metrics: its families read as one snapshot, and their text.
 */
class ServerMetrics {
  /**
   * @param {() => MetricFamily[]} native the native server's families (TransportServer.metricFamilies)
   * @param {() => MetricFamily[]} js the JS core's and the topics' families
   */
  constructor(native, js) {
    this._native = native;
    this._js = js;
    /** @type {MetricSource[]} */
    this._sources = [];
  }

  /**
   * Adds a source of families to every later scrape (the broker's connection state,
   * reconnects, failed publishes and lag go here). Its names must be new `subwire_*` ones.
   * @param {MetricSource} source
   */
  addSource(source) {
    if (typeof source !== 'function') throw invalidOption('addSource takes a function returning metric families');
    this._sources.push(source);
  }

  /** Every family, read now. @returns {MetricFamily[]} */
  families() {
    return [...this._native(), ...this._js(), ...this._sources.flatMap((s) => s())];
  }

  /** The Prometheus text of every family, read now. */
  text() {
    return render(this.families());
  }
}

/**
 * A prom-client metric (the object its Registry calls `get()` on) for one subwire family.
 * prom-client renders it like its own; the values come from `snapshot()`, which reads the
 * server once per scrape.
 * @param {MetricFamily} family the family's shape (name, help, type, labels, bounds)
 * @param {() => MetricFamily[] | null} snapshot every family, read once per scrape; null once disposed
 */
function promMetric(family, snapshot) {
  const metric = {
    name: family.name,
    help: family.help,
    type: family.type,
    aggregator: 'sum',
    /** prom-client calls it for every scrape; it may rename a counter for OpenMetrics. */
    get() {
      const f = snapshot()?.find((x) => x.name === family.name);
      /** @type {{ value: number, labels: Record<string, string | number>, metricName?: string }[]} */
      const values = [];
      for (const s of f?.samples ?? []) {
        /** @type {Record<string, string>} */
        const labels = {};
        f?.labelNames.forEach((n, i) => (labels[n] = s.labels[i]));
        if (f?.type !== 'histogram') {
          values.push({ value: s.value, labels });
          continue;
        }
        f.bounds.forEach((le, i) => values.push({ value: s.buckets?.[i] ?? 0, labels: { ...labels, le }, metricName: `${family.name}_bucket` }));
        values.push({ value: s.value, labels: { ...labels, le: '+Inf' }, metricName: `${family.name}_bucket` });
        values.push({ value: s.sum ?? 0, labels, metricName: `${family.name}_sum` });
        values.push({ value: s.value, labels, metricName: `${family.name}_count` });
      }
      return { name: metric.name, help: metric.help, type: metric.type, values, aggregator: metric.aggregator };
    },
    /** subwire's counters are the server's: a registry reset does not reset them. */
    reset() {},
  };
  return metric;
}

/**
 * Registers a subwire server's metrics in a prom-client `Registry` (e.g. prom-client's
 * default `register`), so the app's one `/metrics` serves them with its own. Each family
 * becomes a metric of that registry whose values are read from the server at scrape time
 * (one read per scrape for all of them). Returns a function that removes them again. After
 * `dispose()` they scrape as empty.
 * @param {{ metricFamilies(): MetricFamily[] }} server a `useServer()` server
 * @param {{ registerMetric(metric: any): void, removeSingleMetric(name: string): void }} registry a prom-client Registry
 * @returns {() => void}
 */
function registerMetrics(server, registry) {
  if (!server || typeof server.metricFamilies !== 'function') throw invalidOption('registerMetrics(server, registry): server must be a subwire server');
  if (!registry || typeof registry.registerMetric !== 'function' || typeof registry.removeSingleMetric !== 'function') {
    throw invalidOption("registerMetrics(server, registry): registry must be a prom-client Registry (require('prom-client').register)");
  }
  /** @type {MetricFamily[] | null | undefined} */
  let cached;
  // prom-client calls every metric's get() in one synchronous pass: one read serves them all.
  const snapshot = () => {
    if (cached === undefined) {
      try {
        cached = server.metricFamilies();
      } catch (err) {
        if (/** @type {any} */ (err)?.code !== 'ERR_SUBWIRE_DISPOSED') throw err;
        cached = null;
      }
      queueMicrotask(() => (cached = undefined));
    }
    return cached;
  };
  const metrics = (snapshot() ?? []).map((f) => promMetric(f, snapshot));
  /** @type {string[]} */
  const added = [];
  try {
    for (const m of metrics) {
      registry.registerMetric(m);
      added.push(m.name);
    }
  } catch (err) {
    for (const name of added) registry.removeSingleMetric(name);
    throw err;
  }
  return () => {
    for (const name of added) registry.removeSingleMetric(name);
  };
}

module.exports = { CONTENT_TYPE, render, coreFamilies, brokerFamilies, ServerMetrics, registerMetrics };
