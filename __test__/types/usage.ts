// The public API used the way README.md shows it, type-checked against index.d.ts by
// `npm run typecheck` (never run). A line marked @ts-expect-error must stay an error.
import * as http from 'node:http';
import { buildSchema, GraphQLError } from 'graphql';
import { withFilter } from 'graphql-subscriptions';
import { useServer, listen, PubSub, createPubSub, publish, TransportServer, registerMetrics, METRICS_CONTENT_TYPE } from 'subwire';
import type { AddressInfo, Context, ServerOptions, ServerStats, SessionEvent, TriggerContext } from 'subwire';

declare const schema: ReturnType<typeof buildSchema>;

export async function ownListener(): Promise<void> {
  const server = useServer(
    {
      schema,
      context: (ctx, id, payload, args) => ({ user: ctx.connectionParams?.token, id, query: payload.query, op: args.operationName }),
      onConnect: (ctx) => ctx.extra.request.headers.authorization !== undefined,
      onSubscribe: (_ctx, _id, payload) => (payload.query.length > 10_000 ? [new GraphQLError('too long')] : undefined),
      onNext: (_ctx, _id, _payload, _args, result) => result,
      onClose: (ctx, code, reason) => void [ctx.acknowledged, code, reason],
      shareKey: () => 'public',
      maxConnections: 10_000,
      allowedOrigins: ['https://app.example'],
    },
    { port: 4000, host: '127.0.0.1', path: '/graphql' },
    12_000,
  );
  const { address, port, family }: AddressInfo = server.address(); // own listener: always an AddressInfo
  const stats: ServerStats = server.stats();
  const figures: number[] = [port, stats.connections, stats.subscriptions, stats.projectionFallbacks, stats.topics, stats.publishes, stats.subscriptionsByPath.projected];
  // Prometheus: serve the text yourself, or register the families in prom-client's registry.
  const text: string = server.metrics();
  const headers = { 'content-type': METRICS_CONTENT_TYPE };
  const registry = { registerMetric(_m: unknown) {}, removeSingleMetric(_name: string) {} };
  const unregister: () => void = registerMetrics(server, registry);
  unregister();
  void [text, headers, server.metricFamilies()[0].samples[0].value];
  server.publish('TICK', { tick: { seq: 2 } });
  await server.dispose();
  void [address, family, figures];
}

export function attached(): void {
  const httpServer = http.createServer();
  const server = useServer({ schema }, { server: httpServer, path: '/graphql' });
  const addr = server.address(); // the http.Server's: a string for a pipe, null before it listens
  // @ts-expect-error attached, address() may be a string or null
  void addr.port;
  if (addr !== null && typeof addr !== 'string') void addr.port;
  // @ts-expect-error reusePort belongs to subwire's own listener
  useServer({ schema }, { server: httpServer, reusePort: true });
}

export async function publishing(): Promise<void> {
  const pubsub = new PubSub({ maxQueued: 1000 });
  const resolvers = {
    Subscription: {
      tick: { subscribe: () => pubsub.asyncIterableIterator('TICK') },
      filtered: { subscribe: withFilter(() => pubsub.asyncIterableIterator<{ seq: number }>(['A', 'B']), (p) => p?.seq !== 0) },
    },
  };
  await pubsub.publish('TICK', { tick: { seq: 1 } });
  const id: number = await pubsub.subscribe('TICK', (payload) => void payload);
  pubsub.unsubscribe(id);
  publish('TICK', { tick: { seq: 3 } });
  const yoga = createPubSub<{ user: [number, { name: string }]; count: [number] }>();
  yoga.publish('user', 7, { name: 'ada' });
  yoga.publish('count', 1);
  for await (const user of yoga.subscribe('user', 7)) void user.name;
  // @ts-expect-error Yoga's eventTarget is refused
  createPubSub({ eventTarget: new EventTarget() });
  void resolvers;
}

export function lowLevel(): void {
  const events: SessionEvent[] = [];
  const srv: TransportServer = listen({ port: 0, mode: 'graphql', onEvents: (batch) => events.push(...batch), onError: (err) => void err.code });
  for (const ev of events) {
    if (ev.type === 'init') srv.accept(ev.conn, { ok: true });
    if (ev.type === 'subscribe') srv.next(ev.conn, ev.id, { data: { a: 1 } }, ev.serial);
  }
  srv.broadcast('hello');
  // @ts-expect-error fault injection is not a public option
  listen({ _testPanicOn: 'boom' });
}

/** With a shareKey, onNext and onError get a TriggerContext: apps tell them apart by `shared`. */
const isTrigger = (ctx: object): ctx is TriggerContext => 'shared' in ctx;

export const typedHooks: ServerOptions<{ token: string }> = {
  onConnect: (ctx: Context<{ token: string }>) => ctx.connectionParams?.token === 'secret',
  onNext: (ctx, _id, _payload, _args, result) => (isTrigger(ctx) ? result : undefined),
};
