/**
 * subwire: GraphQL subscriptions over WebSocket for Node.js, served from Rust.
 * Types for index.js, hand-written; `npm run typecheck` checks lib/ (what index.js
 * re-exports) against them, and __test__/types/ uses them as the README does.
 * Members marked `@internal` serve useServer itself and are not a stable API.
 */

/** Options of the Rust-owned WebSocket listener. Every limit has a safe default. */
export interface ListenOptions {
  /** TCP port; 0 (the default) picks a free one, read it back with `address()`. */
  port?: number;
  /** IP address to bind, `localhost`, `0.0.0.0` or `::`. Default `127.0.0.1`. */
  host?: string;
  /** Request path that upgrades (query string ignored); others get 404. Default `/`. */
  path?: string;
  /**
   * `echo` (default) and `broadcast` are plain WebSocket modes; `graphql` runs
   * graphql-transport-ws / legacy graphql-ws sessions in Rust and reports their events
   * to `onEvents` (the layer `useServer()` builds on).
   */
  mode?: 'echo' | 'broadcast' | 'graphql';
  /** mode `graphql`: batches of connection events (one call carries many). */
  onEvents?: (events: SessionEvent[]) => void;
  /** mode `graphql`: milliseconds to wait for `connection_init` before closing 4408; 0 waits forever. Default 3000. */
  connectionInitWaitTimeout?: number;
  /**
   * mode `graphql`: keep-alive interval in milliseconds; 0 turns it off. Default 12000.
   * Every interval each connection gets a WebSocket ping (and legacy clients a `ka`); one that
   * has not answered the previous ping is dropped, so half-open sockets do not pile up.
   */
  keepAlive?: number;
  /** `reuseport` (default): a listening socket per reactor; `shared`: one socket polled by all; `none`: no listener (useServer's attach mode hands sockets over). */
  listener?: 'reuseport' | 'shared' | 'none';
  /**
   * Share the port with other servers, in this process or others (same user), that set it
   * too; the kernel spreads connections over all of them (Node's `listen({ reusePort })`).
   * Default false: a port already in use, by anyone, throws `ERR_SUBWIRE_ADDR_IN_USE`.
   */
  reusePort?: boolean;
  /** Reactor threads; default: the number of cores. */
  reactors?: number;
  /** Connections (handshaking + open) beyond which upgrade requests get 503. Default 100 000. */
  maxConnections?: number;
  /** Largest message after reassembly, in bytes; over it the connection closes with 1009. Default 1 MiB. */
  maxPayload?: number;
  /** Largest HTTP request head, in bytes; over it the answer is 431. Default 8 KiB. */
  maxHeaderBytes?: number;
  /**
   * Outbound bytes a connection may have waiting behind the message being written (one
   * message bigger than this is still sent whole). A consumer that falls further behind is
   * closed with 1008 `slow consumer` (what waited is dropped; `stats().slowConsumers`
   * counts it). A connection's queue holds at most this plus one message. Default 4 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * mode `graphql`: operations one connection may have active; one more gets an `error` for
   * that operation (the socket stays). Also bounds the messages that may wait while the app
   * decides on `connection_init` (this + 16, and 256 KiB; past it: close 1008). Default 100.
   */
  maxSubscriptionsPerConnection?: number;
  /**
   * mode `graphql`, graphql-transport-ws: every client text goes to `onEvents` unread as a
   * `message` event; the app answers each with `clientMessage()` (or closes the connection).
   * useServer sets it for `jsonMessageReviver`. Default false.
   */
  rawMessages?: boolean;
  /** mode `graphql`, graphql-transport-ws: `ping` messages become `ping` events; the app sends the pong with `pong()`. Default false (Rust answers). */
  forwardPings?: boolean;
  /** mode `graphql`, graphql-transport-ws: `pong` messages become `pong` events. Default false. */
  forwardPongs?: boolean;
  /** Accepted `Origin` values (case-insensitive); others, and requests without one, get 403. An empty list refuses every request. Default: any origin. */
  allowedOrigins?: string[];
  /** Request headers to copy at upgrade for the app's hooks (the only ones copied). */
  headers?: string[];
  /** Milliseconds a client has to finish its HTTP upgrade. Default 10 000. */
  handshakeTimeout?: number;
  /** Milliseconds the peer has to answer our close frame (or hang up after an HTTP error). Default 5 000. */
  closeTimeout?: number;
  /** Runtime faults from the reactors (EMFILE, a caught panic). Default: `process.emitWarning`. */
  onError?: (err: Error & { code: string }) => void;
}

/**
 * One connection event of mode `graphql`. `conn` names the connection in the answers.
 * `subscribe`/`complete` a client sent before the ack come after the app's `accept()`, in
 * order (none if it rejects). With `rawMessages`, every `payload` of init, subscribe, ping,
 * pong and refused is the token the app put in its `clientMessage()` envelope.
 */
export type SessionEvent =
  | { conn: number; type: 'init'; payload?: string; url: string; headers: [string, string][]; protocol: string }
  /** `serial` names this operation: pass it back with its answers (`next`, `error`, `complete`, `triggerAdd`). */
  | { conn: number; type: 'subscribe'; id: string; serial: number; payload: string }
  | { conn: number; type: 'complete'; id: string }
  | { conn: number; type: 'closed'; code: number; reason: string; acknowledged: boolean }
  /** The connection's first event when it is not `init` (what `init` would carry about the request). */
  | { conn: number; type: 'opened'; url: string; headers: [string, string][]; protocol: string }
  /** `forwardPings`: answer with `pong()`. `payload`: raw JSON (an object or null), absent when the ping had none. */
  | { conn: number; type: 'ping'; payload?: string }
  /** `forwardPongs`. */
  | { conn: number; type: 'pong'; payload?: string }
  /** `rawMessages`: a client text, unread. */
  | { conn: number; type: 'message'; payload: string }
  /** `rawMessages`: a subscribe refused as one operation too many (`error` was sent); forget what its token kept. */
  | { conn: number; type: 'refused'; id: string; payload: string };

export interface AddressInfo {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6' | string;
}

export interface TransportStats {
  /** Sockets counted against maxConnections (handshaking, open, closing). */
  connections: number;
  /** Upgraded connections still open. */
  open: number;
  accepted: number;
  upgrades: number;
  /** Upgrade requests answered with an HTTP error. */
  rejected: number;
  messagesIn: number;
  messagesOut: number;
  bytesOut: number;
  /** Bytes waiting in outbound queues right now. */
  queuedBytes: number;
  /** Panics caught inside reactors (each closed one connection). */
  panics: number;
  /** Connections closed with 1008 `slow consumer` (over `maxBufferedBytes`). */
  slowConsumers: number;
  /** Shared triggers alive in the hub. */
  triggers: number;
  /** Subscribers attached to shared triggers. */
  triggerSubscriptions: number;
  /** Trigger events received by the hub (each went to every subscriber of its trigger). */
  triggerUpdates: number;
  /** Upgraded connections open on each reactor: how evenly accepting spreads them. */
  openPerReactor: number[];
}

export declare class TransportServer {
  private constructor();
  address(): AddressInfo;
  stats(): TransportStats;
  /** The listener's Prometheus metrics (text format 0.0.4): the Rust families of docs/METRICS.md. */
  metrics(): string;
  /** The same, as structured families. */
  metricFamilies(): MetricFamily[];
  /** Sends to every open connection: a string as a text frame, bytes as a binary frame. */
  broadcast(data: string | Uint8Array): void;
  /** Closes every connection (1001), ends the reactor threads, releases the event loop. */
  dispose(): Promise<void>;
  // Low-level session API (mode `graphql`). Answers are queued in call order and cross into
  // Rust together at the end of the JS turn; each returns false once dispose() began.
  /** `payload`: an object, or the JSON text of one (sent as it is). */
  accept(conn: number, payload?: Record<string, unknown> | string | null): boolean;
  reject(conn: number, message?: string): boolean;
  // `serial`: the operation's, from its `subscribe` event. A client may complete an id and
  // subscribe with it again at once; an answer of the old operation still on its way is then
  // dropped instead of reaching the new one. 0 or absent: whichever operation holds `id`.
  /** `result` is sent as JSON: an object is serialized, a string or bytes are sent as they are. */
  next(conn: number, id: string, result: unknown, serial?: number): boolean;
  error(conn: number, id: string, errors: unknown, serial?: number): boolean;
  complete(conn: number, id: string, serial?: number): boolean;
  // Whole messages (graphql-transport-ws) as the app wrote them, sent as they are, under the
  // same rules as the calls above (e.g. graphql-ws's jsonMessageReplacer).
  /** Accepts `connection_init`; `message` is the whole `connection_ack`. */
  acceptMessage(conn: number, message: string): boolean;
  nextMessage(conn: number, id: string, message: string, serial?: number): boolean;
  errorMessage(conn: number, id: string, message: string, serial?: number): boolean;
  completeMessage(conn: number, id: string, message: string, serial?: number): boolean;
  /** The whole `pong` answering a `ping` event (`forwardPings`). */
  pong(conn: number, message: string): boolean;
  /**
   * `rawMessages`: a client message the app parsed, as its envelope, JSON
   * `{ type, id?, payload? }`; `payload` is any JSON value of the app's (a token), given back
   * as the payload of the event the message produces. The session's rules (phases, ids,
   * close codes) apply as to the client's own message, bar the payload's shape.
   */
  clientMessage(conn: number, envelope: string): boolean;
  internalError(conn: number, message: string): boolean;
  closeConnection(conn: number, code: number, reason?: string): boolean;
  // Trigger hub (shared subscriptions): `trigger` is the caller's id, an integer never reused.
  /** Operation `id` of `conn` joins `trigger`; `legacy`: the connection speaks subscriptions-transport-ws. */
  triggerAdd(trigger: number, conn: number, id: string, legacy?: boolean, serial?: number): boolean;
  triggerRemove(trigger: number, conn: number, id: string): boolean;
  /** Every operation of `conn` leaves its triggers. */
  triggerRemoveClient(conn: number): boolean;
  /** One result to every subscriber of `trigger`: serialized once, the bytes shared by every frame. */
  triggerNext(trigger: number, result: unknown): boolean;
  /** `error` to every subscriber; the trigger ends. */
  triggerError(trigger: number, errors: unknown): boolean;
  /** `complete` to every subscriber; the trigger ends. */
  triggerComplete(trigger: number): boolean;

  // Internal: used by useServer (projection, attach mode), not a stable API.
  /** @internal Gives `trigger` a projection plan (JSON of lib/projection.js's plan). */
  triggerPlan(trigger: number, plan: string): void | false;
  /** @internal Forgets `trigger`'s plan. */
  triggerPlanRemove(trigger: number): void | false;
  /** @internal Projects a published payload (its JSON) to every subscriber of `trigger`; false: JS must execute it. */
  triggerProject(trigger: number, json: string): boolean;
  /** @internal Broker: projected `trigger` takes messages on `topics` as route `route`. */
  brokerRoute(trigger: number, route: number, topics: string[]): boolean;
  /** @internal Broker: route `route` ends. */
  brokerUnroute(route: number): void | false;
  /** @internal Broker: route `route`'s messages up to `seq` are handled (queued hub calls go first). */
  brokerAck(route: number, seq: number): void | false;
  /** @internal Answers queued from now until the end of the JS turn (or `flushAnswers()`) cross into Rust in one call, however many. */
  holdAnswers(): void;
  /** @internal Sends the queued answers now if there are 1,024 or more. */
  flushAnswers(): void;
  /** @internal Attach mode: takes over a socket Node accepted (`fd` is duplicated; `bytes`: the request head and what followed). */
  _adopt(fd: number, bytes: Uint8Array): void | false;
}

/**
 * Starts a WebSocket listener owned by Rust. Throws synchronously on a bind failure, with
 * `code` set (`ERR_SUBWIRE_ADDR_IN_USE`, `ERR_SUBWIRE_ADDR_NOT_AVAILABLE`, `ERR_SUBWIRE_INVALID_OPTION`, …).
 */
export declare function listen(options?: ListenOptions): TransportServer;

// ---------------------------------------------------------------------------------------
// useServer(): graphql-ws v6 compatible GraphQL over WebSocket (lib/use-server.js)
// ---------------------------------------------------------------------------------------

import type {
  DocumentNode,
  ExecutionArgs,
  ExecutionResult,
  GraphQLError,
  GraphQLFormattedError,
  GraphQLSchema,
  OperationTypeNode,
  validate as graphqlValidate,
} from 'graphql';

/** What a client sends in `subscribe` (legacy: `start`). */
export interface SubscribePayload {
  readonly operationName?: string | null;
  readonly query: string;
  readonly variables?: Record<string, unknown> | null;
  readonly extensions?: Record<string, unknown> | null;
}

/**
 * `ctx.extra` of subwire: the upgrade request's URL and the headers asked for in `headers`.
 * Unlike graphql-ws on ws, `request` is not Node's `IncomingMessage` and there is no
 * `socket`: by design, sockets live in Rust and no JS object exists per socket.
 */
export interface Extra {
  readonly request: {
    /** Path and query of the upgrade request, e.g. `/graphql?v=1`. */
    readonly url: string;
    /** The headers named in `options.headers` (lower-case names), when the client sent them. */
    readonly headers: Record<string, string>;
  };
  /** Always undefined, by design: sockets live in Rust, there is no JS socket object. */
  readonly socket?: undefined;
}

/** graphql-ws v6's `Context`. Created by the connection's first message that JS hears of (`connection_init`, or a ping/pong for onPing/onPong; none for idle connections). */
export interface Context<P extends Record<string, unknown> | undefined = Record<string, unknown> | undefined, E = Extra> {
  readonly connectionInitReceived: boolean;
  readonly acknowledged: boolean;
  readonly connectionParams?: Readonly<P>;
  /**
   * Operations of the connection: `null` while starting, then the async iterator. A live,
   * read-only view (writes throw in strict mode), made each time it is read.
   */
  readonly subscriptions: Record<string, AsyncGenerator | AsyncIterable<unknown> | null>;
  /** Built the first time it is read. */
  readonly extra: E;
}

export type GraphQLExecutionContextValue = object | symbol | number | string | boolean | undefined | null;
export type OperationResult =
  | Promise<AsyncGenerator<ExecutionResult> | AsyncIterable<ExecutionResult> | ExecutionResult>
  | AsyncGenerator<ExecutionResult>
  | AsyncIterable<ExecutionResult>
  | ExecutionResult;
type Awaitable<T> = T | Promise<T>;

/** graphql-ws v6's `ServerOptions` (same names, arguments and call order). */
export interface GraphQLWsServerOptions<P extends Record<string, unknown> | undefined = Record<string, unknown> | undefined, E = Extra> {
  schema?: GraphQLSchema | ((ctx: Context<P, E>, id: string, payload: SubscribePayload, args: Omit<ExecutionArgs, 'schema'>) => Awaitable<GraphQLSchema>);
  context?:
    | GraphQLExecutionContextValue
    | ((ctx: Context<P, E>, id: string, payload: SubscribePayload, args: ExecutionArgs) => Awaitable<GraphQLExecutionContextValue>);
  roots?: { [operation in OperationTypeNode]?: Record<string, unknown> };
  parse?: (source: string) => DocumentNode;
  validate?: typeof graphqlValidate;
  execute?: (args: ExecutionArgs) => OperationResult;
  subscribe?: (args: ExecutionArgs) => OperationResult;
  /** Milliseconds to wait for `connection_init` (close 4408); 0 or Infinity: forever. Default 3000. */
  connectionInitWaitTimeout?: number;
  /** false: reject (4403; legacy `connection_error`); an object: the `connection_ack` payload. */
  onConnect?: (ctx: Context<P, E>) => Awaitable<Record<string, unknown> | boolean | void>;
  /** After an acknowledged connection closed (after its iterators were returned). */
  onDisconnect?: (ctx: Context<P, E>, code?: number, reason?: string) => Awaitable<void>;
  /** After any connection closed (also those never acknowledged; for one JS never heard from, `ctx.extra.request` is undefined). */
  onClose?: (ctx: Context<P, E>, code?: number, reason?: string) => Awaitable<void>;
  /** Execution args to use, GraphQLErrors to send as `error`, or nothing to let subwire build the args. */
  onSubscribe?: (
    ctx: Context<P, E>,
    id: string,
    payload: SubscribePayload,
  ) => Awaitable<ExecutionArgs | readonly GraphQLError[] | void>;
  onOperation?: (ctx: Context<P, E>, id: string, payload: SubscribePayload, args: ExecutionArgs, result: OperationResult) => Awaitable<OperationResult | void>;
  onError?: (ctx: Context<P, E>, id: string, payload: SubscribePayload, errors: readonly GraphQLError[]) => Awaitable<readonly GraphQLFormattedError[] | void>;
  onNext?: (ctx: Context<P, E>, id: string, payload: SubscribePayload, args: ExecutionArgs, result: ExecutionResult) => Awaitable<ExecutionResult | void>;
  onComplete?: (ctx: Context<P, E>, id: string, payload: SubscribePayload) => Awaitable<void>;
  /**
   * `ping` received (any time, also before `connection_init`): the pong is sent once it
   * returns, echoing the ping's payload. Setting it sends pings through JS; without it (and
   * without a replacer or reviver) Rust answers them.
   */
  onPing?: (ctx: Context<P, E>, payload?: Record<string, unknown> | null) => Awaitable<void>;
  /** `pong` received. */
  onPong?: (ctx: Context<P, E>, payload?: Record<string, unknown> | null) => Awaitable<void>;
  /**
   * Reviver for whole client messages, as graphql-ws: `JSON.parse(message, reviver)`, then
   * graphql-ws's checks (failing ones close 4400 `Invalid message received`). Every message
   * then passes through JS before Rust's session applies it. Legacy protocol: the
   * `connection_init` and `start` payloads only.
   */
  jsonMessageReviver?: (this: any, key: string, value: any) => any;
  /**
   * Replacer for whole server messages (`connection_ack`, `next`, `error`, `complete`,
   * `pong`), as graphql-ws: written in JS per message, so projection is off and shared
   * subscriptions are serialized per subscriber. Legacy protocol: payloads only.
   */
  jsonMessageReplacer?: (this: any, key: string, value: any) => any;
  /** Send 'Internal server error' instead of a hook's error message in 4500 closes. Default: NODE_ENV === 'production'. */
  isProd?: boolean;
}

/** subwire's own options beside graphql-ws's, with safe defaults. */
export interface SubwireOptions
  extends Pick<
    ListenOptions,
    | 'reactors'
    | 'listener'
    | 'maxConnections'
    | 'maxPayload'
    | 'maxHeaderBytes'
    | 'maxBufferedBytes'
    | 'maxSubscriptionsPerConnection'
    | 'allowedOrigins'
    | 'handshakeTimeout'
    | 'closeTimeout'
  > {
  /** Request headers copied at upgrade into `ctx.extra.request.headers`. Default `['authorization', 'cookie', 'origin', 'user-agent']`. */
  headers?: string[];
  /**
   * Opt-in sharing across connections. Return a string and every subscription with the same
   * string, schema, query text (the locations in errors point into it), operation name and
   * variables joins one trigger: its source stream starts once (context() and
   * subscribe() run for the first subscriber only), each event is executed, passed to onNext,
   * serialized and handed to Rust once, and Rust writes the same bytes to every subscriber.
   * Return undefined (the default) for graphql-ws's per-subscriber behaviour. Only for
   * results that do not depend on per-connection context beyond what the key captures
   * (a public feed: a constant; per tenant: the tenant id; fields that read only the user:
   * the user id, one execution per user and event).
   *
   * Hooks of shared subscriptions: onSubscribe, shareKey, onOperation and onComplete run per
   * subscriber (onOperation's return value counts only for the first); context, onNext and
   * onError run once per trigger, and onNext/onError receive a {@link TriggerContext} and the
   * id `trigger:<n>` instead of a connection's ctx and operation id.
   */
  shareKey?: (ctx: Context<any, Extra>, message: SubscribePayload, args: ExecutionArgs) => string | undefined | Promise<string | undefined>;
  /**
   * Scale-out: the process's broker (Redis pub/sub), so that publishes reach the subscribers
   * of every process on it (see {@link BrokerOptions}). One per process: the same options
   * again (here, in another useServer, or a PubSub) are fine, different ones throw
   * `ERR_SUBWIRE_INVALID_OPTION`.
   */
  broker?: BrokerOptions;
  /**
   * Projection (default on): an unshared subscription whose source is a subwire PubSub topic
   * and whose selected fields all use graphql-js's default resolver with built-in scalar or
   * plain enum leaves is served by Rust straight from the published payload's JSON — no JS
   * execution per event, and identical such subscriptions (same query text, operation name
   * and variables) share the work. Off when the app sets onNext, onError, onOperation,
   * subscribe, execute or jsonMessageReplacer. Results equal graphql-js's for any payload:
   * an event plain JSON cannot carry exactly (Dates, class instances, getters, methods,
   * toJSON, BigInt, NaN, a null in a non-null field, a value graphql-js would coerce…) is
   * executed by graphql-js instead (counted in `stats().projectionFallbacks`). `false`
   * turns it off.
   */
  projection?: boolean;
  /**
   * Per-subscriber events of executed groups run by graphql-jit (an optional dependency,
   * used when it is installed): each document is compiled once, and used only where its
   * results are graphql-js's (documents with unions, interfaces, `isTypeOf`, directives or
   * input objects stay with graphql-js, and so does an event whose result has errors: it is
   * executed again by graphql-js). `false` keeps graphql-js for every event. Default `true`.
   */
  jit?: boolean;
  /**
   * Loader factories, e.g. `{ author: () => new DataLoader((ids) => db.usersByIds(ids)) }`.
   * Resolvers read `context.loaders.author`: for a subscription, the bag of the published
   * event being executed, the same object for every subscriber's execution of that event,
   * so their loads batch and cache together (one batch call per loader per event, not one
   * per subscriber); for a query or mutation, a bag of that operation. A loader is made on
   * first use in its bag; the bag is dropped when the last execution of its event has
   * settled. The context resolvers get is a new object per execution whose prototype is
   * the one your `context` option built (every field reads through; your object is not
   * changed) and whose own `loaders` is the bag; a context that already has `loaders`, or
   * is not an object, fails the operation with `ERR_SUBWIRE_LOADERS_CONFLICT`. A
   * subscription's `subscribe` resolver (and so a `withFilter` filter) gets your context
   * itself, without `loaders`. See the README, "Loaders".
   */
  loaders?: Record<string, () => unknown>;
}

/** What onNext and onError receive as `ctx` for a shared trigger. */
export interface TriggerContext {
  shared: true;
  /** What shareKey returned. */
  shareKey: string;
  triggerId: number;
  /** Subscribers attached right now. */
  readonly subscribers: number;
}

export type ServerOptions<P extends Record<string, unknown> | undefined = Record<string, unknown> | undefined, E = Extra> = GraphQLWsServerOptions<P, E> &
  SubwireOptions;

/** Where useServer listens: Rust's own listener. */
export interface ListenTarget {
  /** TCP port; 0 picks a free one (read it back with `address()`). */
  port: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default `/`. */
  path?: string;
  /** Share the port with other servers that set it too (see {@link ListenOptions.reusePort}); default false: a port in use throws `ERR_SUBWIRE_ADDR_IN_USE`. */
  reusePort?: boolean;
  server?: undefined;
}
/**
 * Attached to a Node `http.Server`, on its port: upgrades for `path` are handed to Rust (the
 * socket's fd is duplicated and Node's socket destroyed); HTTP requests and upgrades for
 * other paths stay with Node and its other `'upgrade'` listeners (subwire alone answers
 * them 404). Works before or after the server listens; `dispose()` removes the listener and
 * closes only subwire's sockets. An `https.Server` throws `ERR_SUBWIRE_TLS_ATTACH`: terminate
 * TLS in front of the app, or use a `ListenTarget` behind the proxy.
 */
export interface AttachTarget {
  /** A Node `http.Server` (typed structurally so that @types/node stays optional). */
  server: {
    on(event: 'upgrade', listener: (...args: any[]) => void): unknown;
    removeListener(event: 'upgrade', listener: (...args: any[]) => void): unknown;
    listenerCount(event: string): number;
    address(): AddressInfo | string | null;
  };
  /** Only this path (query ignored); every path when omitted, as `ws` does. */
  path?: string;
}
export type ServerTarget = ListenTarget | AttachTarget;

export interface ServerStats extends TransportStats {
  /** GraphQL operations live right now (shared and unshared). */
  subscriptions: number;
  /**
   * `subscriptions` by how their events are made: `projected` (written by Rust from the
   * published JSON), `shared` (a `shareKey` trigger), `executed` (graphql-js per subscriber,
   * and queries and mutations while they run).
   */
  subscriptionsByPath: { projected: number; shared: number; executed: number };
  /** Events of projected subscriptions that graphql-js executed (the projection could not be exact). */
  projectionFallbacks: number;
  /**
   * Events of executed groups run by a document compiled with graphql-jit (the `jit`
   * option), and of those the ones whose result had errors, which graphql-js executed again.
   */
  compiledExecutions: number;
  compiledFallbacks: number;
  /** Topics with at least one listener in this process. */
  topics: number;
  /** Publishes since the process started (one namespace per process). */
  publishes: number;
  /** The process's broker, or null without one (the same as {@link brokerStats}). */
  broker: BrokerStats | null;
}

/**
 * A running useServer. `A` is what `address()` returns: on subwire's own listener
 * (a {@link ListenTarget}) always an {@link AddressInfo}; attached (an {@link AttachTarget}),
 * whatever the http.Server's `address()` returns: a string for a pipe, null before it listens.
 */
export interface Server<A extends AddressInfo | string | null = AddressInfo | string | null> {
  /** The bound address; attached, the http.Server's `address()`. */
  address(): A;
  stats(): ServerStats;
  /**
   * Publishes on `topic`: the same namespace as every subwire PubSub in this process (and,
   * with a broker, every process on it). Delivered here before it returns; the promise is
   * the broker's answer (see {@link publish}).
   */
  publish(topic: string, payload: unknown): Promise<void>;
  /**
   * Prometheus text (format 0.0.4, content type {@link METRICS_CONTENT_TYPE}) of every
   * `subwire_*` family (docs/METRICS.md), read now: serve it on a path of your own, or
   * use {@link registerMetrics} with prom-client. Throws `ERR_SUBWIRE_DISPOSED` after dispose().
   */
  metrics(): string;
  /** The same families, structured (what `metrics()` renders and `registerMetrics` registers). */
  metricFamilies(): MetricFamily[];
  /** Closes every connection (1001), returns every live iterator, runs the close hooks, releases the event loop. */
  dispose(): Promise<void>;
}

// ---- Metrics (lib/metrics.js) ----

/** One sample of a family; for a histogram, one series (`value` is its count). */
export interface MetricSample {
  /** Values of the family's `labelNames`, in order. */
  labels: string[];
  value: number;
  /** Histograms: cumulative counts, one per bound. */
  buckets?: number[];
  /** Histograms: the sum of the observations. */
  sum?: number;
}

/** One metric family, renderer-neutral. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  labelNames: string[];
  /** Histograms: the buckets' upper bounds (`+Inf` implied); empty otherwise. */
  bounds: number[];
  samples: MetricSample[];
}

/** `text/plain; version=0.0.4; charset=utf-8`: the content type of `server.metrics()`. */
export declare const METRICS_CONTENT_TYPE: string;

/**
 * Registers a server's `subwire_*` families in a prom-client `Registry` (prom-client is an
 * optional peer: pass its `register` or a `new Registry()`); the app's `register.metrics()`
 * then includes them, read from the server at scrape time. Returns a function that removes
 * them. After `dispose()` they scrape as empty.
 */
export declare function registerMetrics(
  server: Pick<Server, 'metricFamilies'>,
  registry: { registerMetric(metric: any): void; removeSingleMetric(name: string): void },
): () => void;

/**
 * graphql-ws v6's `useServer`, on a Rust-owned listener: `useServer({ schema }, { port: 4000, path: '/graphql' })`.
 * Synchronous; a bind failure throws an Error with a `code`. `keepAlive`: WebSocket ping interval in ms
 * (peers that do not pong within it are dropped; 0 or Infinity: off). Default 12 000.
 */
export declare function useServer<P extends Record<string, unknown> | undefined = Record<string, unknown> | undefined>(
  options: ServerOptions<P, Extra>,
  target: ListenTarget,
  keepAlive?: number,
): Server<AddressInfo>;
export declare function useServer<P extends Record<string, unknown> | undefined = Record<string, unknown> | undefined>(
  options: ServerOptions<P, Extra>,
  target: ServerTarget,
  keepAlive?: number,
): Server;

// ---- PubSub (lib/pubsub.js) ----
// Topics are one namespace per process: a publish on any PubSub, on any createPubSub() object
// server.publish() or publish() reaches every subscriber of that topic.

/**
 * The process's broker: Redis (or Valkey) pub/sub, channel = `prefix + topic`, message =
 * `JSON.stringify(payload)`, as graphql-redis-subscriptions and Yoga's Redis event target
 * use. The connection lives in Rust, one per process.
 */
export interface BrokerOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS). */
  url: string;
  /** Prepended to every topic to make the channel. Default `''`. */
  prefix?: string;
  /**
   * Largest message, in bytes: a bigger one from Redis is dropped (counted in
   * `oversized`, reported once per topic); a bigger publish is not sent (its promise
   * rejects; local subscribers get it). Default 1 MiB.
   */
  maxPayload?: number;
  /** For `rediss://`: the root certificate(s) to trust (PEM) instead of the system's. */
  tls?: { ca: string | Uint8Array };
  /** Reconnect backoff in ms: the first delay (default 100) and the cap (default 5000). */
  reconnect?: { minDelay?: number; maxDelay?: number };
  /**
   * Broker faults as coded Errors: `ERR_SUBWIRE_BROKER_DOWN` (once per outage, with since
   * when), `ERR_SUBWIRE_BROKER_MESSAGE` (a message dropped: bad JSON, not an object, over
   * maxPayload; once per topic and reason), `ERR_SUBWIRE_BROKER_COMMAND`. Without one:
   * `process.emitWarning`. A useServer's handler is dropped when it is disposed.
   */
  onError?: (err: Error & { code: string }) => void;
}

/** `brokerStats()` and `server.stats().broker`. Counts are since the broker started. */
export interface BrokerStats {
  /** The URL without its password. */
  url: string;
  prefix: string;
  maxPayload: number;
  state: 'connecting' | 'up' | 'down' | 'closed';
  /** When `state` began (ms since the epoch). */
  since: number;
  /** Connections made after the first. */
  reconnects: number;
  /** Publishes Redis took. */
  published: number;
  /** Publishes that failed (broker down, queue full, refused by Redis). */
  publishFailed: number;
  /** Publishes not sent at all: not an object, JSON.stringify threw, over maxPayload. */
  publishRefused: number;
  /** Publishes waiting for Redis's answer. */
  publishesInFlight: number;
  /** Messages Redis sent on our channels. */
  received: number;
  /** Of `received`: messages from other publishers, handed on for delivery (own publishes coming back are not). */
  delivered: number;
  /** This process's own publishes that came back and were dropped (delivered locally already). */
  echoesDropped: number;
  /** Messages dropped by the connection: no listener left, or over maxPayload. */
  dropped: number;
  /** Of `dropped`: over maxPayload. */
  oversized: number;
  /** Messages dropped in JS: not JSON (or not UTF-8), or not a JSON object. */
  badJson: number;
  notObject: number;
  /** Channels subscribed, as Redis last confirmed. */
  topicsSubscribed: number;
  /** Bytes of publishes waiting for Redis. */
  queuedBytes: number;
  /** Results written by Rust from messages for projected subscriptions (no JS). */
  projected: number;
  /** Messages that crossed into JS (for JS listeners, or executions the projection left to graphql-js). */
  toJs: number;
  /** Messages dropped because more than 64 MiB waited for JS. */
  jsOverflow: number;
  /** The last outage, once it ended: when it began (ms since the epoch) and how long it lasted. */
  lastOutage: { since: number; ms: number } | null;
}

/** The process's broker figures, or null when none is configured. */
export declare function brokerStats(): BrokerStats | null;

export interface PubSubOptions {
  /**
   * Events an iterator may hold while nobody reads them (an integer >= 1, or Infinity). One more
   * ends the iterator: it unsubscribes, drops its queue, and its next `next()` rejects with an
   * Error coded `ERR_SUBWIRE_PUBSUB_OVERFLOW`. Default 10 000.
   */
  maxQueued?: number;
  /** Configures the process's broker (see {@link BrokerOptions}), e.g. in a process that only publishes. */
  broker?: BrokerOptions;
}

/**
 * The iterator of `asyncIterableIterator()` and `createPubSub().subscribe()`. Subscribed as soon
 * as it is created, so events published before the first `next()` are queued, not lost.
 * `return()` unsubscribes, drops the queue and ends pending `next()` calls (idempotent);
 * `throw(err)` does the same, then rejects with `err`.
 */
export interface PubSubAsyncIterableIterator<T> extends AsyncIterableIterator<T> {
  next(): Promise<IteratorResult<T, undefined>>;
  return(): Promise<IteratorReturnResult<undefined>>;
  /** Always rejects with `error` (after ending the iterator). */
  throw(error?: unknown): Promise<IteratorResult<T, undefined>>;
  [Symbol.asyncIterator](): this;
}

/**
 * graphql-subscriptions v3's `PubSubEngine` (works with its `withFilter`) on subwire's topics.
 * Delivery is synchronous; a topic that is not a non-empty string throws a TypeError coded
 * `ERR_SUBWIRE_INVALID_OPTION`.
 */
export declare class PubSub<Events extends { [event: string]: unknown } = Record<string, never>> {
  constructor(options?: PubSubOptions);
  /**
   * Delivers `payload` to every subscriber in this process before it returns; an `onMessage`
   * that throws makes it throw (after the others had it). With a broker, the promise is
   * the broker's answer (see {@link publish}).
   */
  publish<K extends keyof Events & string>(triggerName: K, payload: Events[K] extends never ? any : Events[K]): Promise<void>;
  /** `options` is accepted and ignored. Resolves to an id unique within this instance. */
  subscribe<K extends keyof Events & string>(
    triggerName: K,
    onMessage: (payload: Events[K] extends never ? any : Events[K]) => void,
    options?: object,
  ): Promise<number>;
  /** Unknown or already removed ids are ignored. */
  unsubscribe(subId: number): void;
  /** One iterator over one or several triggers (a repeated trigger counts once). */
  asyncIterableIterator<T = any>(triggers: string | readonly string[]): PubSubAsyncIterableIterator<T>;
  /** graphql-subscriptions v2's name for `asyncIterableIterator`. */
  asyncIterator<T = any>(triggers: string | readonly string[]): PubSubAsyncIterableIterator<T>;
}

/** Yoga's publish arguments per routing key: `[]`, `[payload]` or `[id, payload]` (topic `${key}:${id}`). */
export type PubSubPublishArgsByKey = { [key: string]: [] | [any] | [number | string, any] };
type PubSubMapToNull<T> = T extends undefined ? null : T;

/** What `createPubSub()` returns: GraphQL Yoga's `PubSub` shape (@graphql-yoga/subscription). */
export interface YogaStylePubSub<TArgs extends PubSubPublishArgsByKey = PubSubPublishArgsByKey> {
  /** `publish(key, payload)` on topic `key`; `publish(key, id, payload)` on `${key}:${id}`; the payload is `args[1] ?? args[0] ?? null`, as in Yoga. */
  publish<TKey extends Extract<keyof TArgs, string>>(routingKey: TKey, ...args: TArgs[TKey]): Promise<void>;
  /** `subscribe(key)` / `subscribe(key, id)`: an async iterable for `for await`, on the same topic naming. */
  subscribe<TKey extends Extract<keyof TArgs, string>>(
    ...args: TArgs[TKey][1] extends undefined ? [routingKey: TKey] : [routingKey: TKey, id: TArgs[TKey][0]]
  ): PubSubAsyncIterableIterator<
    TArgs[TKey][1] extends undefined ? PubSubMapToNull<TArgs[TKey][0]> : PubSubMapToNull<TArgs[TKey][1]>
  >;
}

/** GraphQL Yoga's `createPubSub()` on subwire's topics. Yoga's `eventTarget` is not accepted (TypeError). */
export declare function createPubSub<TArgs extends PubSubPublishArgsByKey = PubSubPublishArgsByKey>(config?: PubSubOptions): YogaStylePubSub<TArgs>;
// ---- end PubSub ----

/**
 * Publishes `payload` on `topic` to every subscriber in this process (same namespace as every
 * PubSub and server.publish), before it returns. With a broker, `JSON.stringify(payload)` also
 * goes to every other process on it; the promise resolves once Redis took it and rejects
 * with a coded Error when it did not (`ERR_SUBWIRE_BROKER_DOWN`, `…_OVERLOADED`, `…_COMMAND`,
 * or `ERR_SUBWIRE_BROKER_MESSAGE` for a payload that cannot cross: not a JSON object,
 * JSON.stringify threw, over maxPayload). Local delivery has happened either way, and an
 * ignored rejection is never unhandled. Without a broker it is resolved.
 */
export declare function publish(topic: string, payload: unknown): Promise<void>;
