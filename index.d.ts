/**
 * subwire: GraphQL subscriptions over WebSocket for Node.js, served from Rust.
 * Types for index.js (hand-written; kept in sync with it).
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
  /** `reuseport` (default): a listening socket per reactor; `shared`: one socket polled by all. */
  listener?: 'reuseport' | 'shared';
  /** Reactor threads; default: the number of cores. */
  reactors?: number;
  /** Connections (handshaking + open) beyond which upgrade requests get 503. Default 100 000. */
  maxConnections?: number;
  /** Largest message after reassembly, in bytes; over it the connection closes with 1009. Default 1 MiB. */
  maxPayload?: number;
  /** Largest HTTP request head, in bytes; over it the answer is 431. Default 8 KiB. */
  maxHeaderBytes?: number;
  /** Outbound bytes a connection may have waiting; beyond it the connection is dropped. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Accepted `Origin` values (case-insensitive); others get 403. Default: any origin. */
  allowedOrigins?: string[];
  /** Request headers to copy at upgrade for the app's hooks (the only ones copied). */
  headers?: string[];
  /** Milliseconds a client has to finish its HTTP upgrade. Default 10 000. */
  handshakeTimeout?: number;
  /** Milliseconds the peer has to answer our close frame (or hang up after an HTTP error). Default 5 000. */
  closeTimeout?: number;
  /** Runtime faults from the reactors (EMFILE, a caught panic). Default: `process.emitWarning`. */
  onError?: (err: Error & { code: string }) => void;
  /** @internal Fault injection for subwire's own tests: a text message equal to this panics its reactor. */
  _testPanicOn?: string;
}

/** One connection event of mode `graphql`. `conn` names the connection in the answers. */
export type SessionEvent =
  | { conn: number; type: 'init'; payload?: string; url: string; headers: [string, string][]; protocol: string }
  | { conn: number; type: 'subscribe'; id: string; payload: string }
  | { conn: number; type: 'complete'; id: string }
  | { conn: number; type: 'closed'; code: number; reason: string; acknowledged: boolean };

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
}

export declare class TransportServer {
  private constructor();
  address(): AddressInfo;
  stats(): TransportStats;
  /** Sends to every open connection: a string as a text frame, bytes as a binary frame. */
  broadcast(data: string | Uint8Array): void;
  /** Closes every connection (1001), ends the reactor threads, releases the event loop. */
  dispose(): Promise<void>;
  // Low-level session API (mode `graphql`); each returns false when the connection has gone.
  accept(conn: number, payload?: Record<string, unknown> | null): boolean;
  reject(conn: number, message?: string): boolean;
  /** `result` is sent as JSON: an object is serialized, a string or bytes are sent as they are. */
  next(conn: number, id: string, result: unknown): boolean;
  error(conn: number, id: string, errors: unknown): boolean;
  complete(conn: number, id: string): boolean;
  internalError(conn: number, message: string): boolean;
  closeConnection(conn: number, code: number, reason?: string): boolean;
}

/**
 * Starts a WebSocket listener owned by Rust. Throws synchronously on a bind failure, with
 * `code` set (`ERR_SUBWIRE_ADDR_IN_USE`, `ERR_SUBWIRE_ADDR_NOT_AVAILABLE`, `ERR_SUBWIRE_INVALID_OPTION`, …).
 */
export declare function listen(options?: ListenOptions): TransportServer;
