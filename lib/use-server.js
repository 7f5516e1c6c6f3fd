'use strict';
/**
 * subwire's graphql-ws v6 compatible `useServer(options, target, keepAlive)`: binds the
 * core (lib/server.js, graphql-ws's `makeServer`) to a Rust-owned listener (lib/transport.js,
 * mode `graphql`), as graphql-ws's `use/ws.ts` binds it to a `ws` server. The target is
 * subwire's own port (`{ port, host?, path?, reusePort? }`) or the app's http.Server
 * (`{ server, path? }`, lib/attach.js hands its upgrades over). Everything is checked
 * before anything binds; the server then answers `address`, `stats`, `publish` and
 * `dispose` (lib/shutdown.js). `options.broker` configures the process's broker
 * (lib/broker.js) before anything binds. Re-exported by index.js.
 * @module subwire/lib/use-server
 */

const { isObject } = require('./util.js');
const { invalidOption } = require('./errors.js');
const { msOption } = require('./options.js');
const { listen } = require('./transport.js');
const { makeServer, checkServerOptions } = require('./server.js');
const { publish, topicStats } = require('./topics.js');
const broker = require('./broker.js');
const { shutDown } = require('./shutdown.js');
const { attach, checkAttachable } = require('./attach.js');
const { ServerMetrics, coreFamilies, brokerFamilies } = require('./metrics.js');

/** graphql-ws's default for `headers` copied at upgrade into `ctx.extra.request.headers`. */
const DEFAULT_HEADERS = ['authorization', 'cookie', 'origin', 'user-agent'];

/** subwire limits passed through to `listen()` as they are. */
const PASSTHROUGH = /** @type {const} */ ([
  'reactors',
  'listener',
  'maxConnections',
  'maxPayload',
  'maxHeaderBytes',
  'maxBufferedBytes',
  'allowedOrigins',
  'handshakeTimeout',
  'closeTimeout',
  'maxSubscriptionsPerConnection',
]);

/** The process-wide topic figures for `stats()`. */
function pubsubStats() {
  const { topics, publishes } = topicStats();
  return { topics, publishes };
}

/**
 * On subwire's own listener: `address()` is always an AddressInfo.
 * @overload
 * @param {import('../index').ServerOptions} options
 * @param {import('../index').ListenTarget} target
 * @param {number} [keepAlive]
 * @returns {import('../index').Server<import('../index').AddressInfo>}
 */
/**
 * Attached to the app's http.Server (or either): `address()` is the http.Server's.
 * @overload
 * @param {import('../index').ServerOptions} options
 * @param {import('../index').ServerTarget} target
 * @param {number} [keepAlive]
 * @returns {import('../index').Server}
 */
/**
 * @param {import('../index').ServerOptions} options graphql-ws `ServerOptions` plus subwire's limits
 * @param {import('../index').ServerTarget} target `{ port, host?, path?, reusePort? }` or `{ server, path? }`
 * @param {number} [keepAlive] WebSocket ping interval in ms (0 or Infinity: off)
 * @returns {import('../index').Server}
 */
function useServer(options, target, keepAlive = 12_000) {
  if (typeof options !== 'object' || options === null) throw invalidOption('useServer(options, target): options must be an object');
  if (!isObject(target)) {
    throw invalidOption('useServer(options, target): target must be an object such as { port: 4000, path: "/graphql" }');
  }
  const httpServer = target.server;
  if (httpServer !== undefined) checkAttachable(httpServer);
  if (httpServer !== undefined && /** @type {any} */ (target).reusePort !== undefined) {
    throw invalidOption('useServer(options, { server }): reusePort is for subwire\'s own listener; the http.Server owns its port (listen it with reusePort)');
  }
  checkServerOptions(options);
  const forgetBroker = options.broker === undefined ? () => {} : broker.configure(options.broker, 'useServer(options)');

  /** @type {Partial<import('../index').ListenOptions>} */
  const limits = {};
  for (const k of PASSTHROUGH) if (options[k] !== undefined) Object.assign(limits, { [k]: options[k] });
  /** @type {import('./server.js').Core} */
  let core;
  /** @type {import('./transport.js').TransportServer} */
  let srv;
  try {
    srv = listen({
      ...limits,
      ...(httpServer !== undefined
        ? { listener: 'none', path: target.path ?? '*' }
        : { port: target.port, host: target.host, path: target.path, reusePort: target.reusePort }),
      mode: 'graphql',
      keepAlive: msOption('keepAlive', keepAlive, 12_000),
      connectionInitWaitTimeout: msOption('connectionInitWaitTimeout', options.connectionInitWaitTimeout, 3000),
      headers: options.headers ?? DEFAULT_HEADERS,
      // graphql-transport-ws messages JS must see (lib/messages.js)
      rawMessages: typeof options.jsonMessageReviver === 'function',
      forwardPings: Boolean(options.onPing || options.jsonMessageReplacer),
      forwardPongs: Boolean(options.onPong),
      // (events come from Rust in a later turn: `core` is set by then)
      onEvents: (events) => core.handle(events),
    });
  } catch (err) {
    forgetBroker();
    throw err;
  }
  try {
    core = makeServer(options, srv);
  } catch (err) {
    forgetBroker();
    srv.dispose().catch(() => {});
    throw err;
  }
  const detach =
    httpServer === undefined
      ? () => {}
      : attach(httpServer, target.path, (fd, bytes) => srv._adopt(fd, bytes), (err) =>
          // (graphql-ws's onError is the GraphQL error hook: transport faults go where listen()'s go)
          process.emitWarning(err.message, { code: /** @type {import('./errors.js').CodedError} */ (err).code }),
        );

  const metrics = new ServerMetrics(() => srv.metricFamilies(), () => coreFamilies(core.stats(), pubsubStats()));
  // The process's broker, whoever configured it (none: no families).
  metrics.addSource(() => brokerFamilies(broker.stats()));

  /** @type {Promise<void> | undefined} */
  let disposed;
  return {
    address: () => (httpServer !== undefined ? httpServer.address() : srv.address()),
    stats: () => ({ ...srv.stats(), ...core.stats(), ...pubsubStats(), broker: broker.stats() }),
    metrics: () => metrics.text(),
    metricFamilies: () => metrics.families(),
    publish: (topic, payload) => publish(topic, payload),
    dispose() {
      if (!disposed) forgetBroker();
      core.stop();
      disposed ??= shutDown({ detach, srv, conns: core.conns, closing: core.closing, closeAll: core.closeAll });
      return disposed;
    },
  };
}

module.exports = { useServer, DEFAULT_HEADERS };
