'use strict';
/**
 * subwire's server for the chat scenario (lib/chat-schema.js): `useServer` on its own Rust
 * listener, subwire's `PubSub`, keep-alive off, `maxConnections: 19500`; `publish <room>
 * <seq> [bodyBytes]` publishes one message with `server.publish`. `stats` adds the fake
 * database's `dbCalls`.
 *
 * Flags: `--loaders`: the `loaders` option (one bag per event, shared by every subscriber);
 * without it each subscription's `context` builds its own DataLoader, as graphql-ws apps
 * do. `--share`: `shareKey: () => 'all'` (for the query without the per-subscriber field:
 * one execution per event). `--cohorts`: `shareKey` by the connection's user (the results
 * depend on nothing else of the context: one execution per user and event, as Hasura
 * runs one per cohort of equal session variables). `SUBWIRE_DIR` loads subwire from
 * another checkout.
 * @module benchmark/servers/chat-subwire
 */

const { serve, argv, nowMs } = require('../lib/server-harness');

serve('chat-subwire', async () => {
  const dir = process.env.SUBWIRE_DIR;
  const { useServer, PubSub } = require(dir || '../..');
  const graphql = require(dir ? require.resolve('graphql', { paths: [dir] }) : 'graphql');
  const { chatDb, chatLoaders, chatContext, chatUser, chatSchema, chatMessage } = require('../lib/chat-schema');
  const a = argv();
  const withLoaders = a.loaders === 'true';
  const db = chatDb();
  const pubsub = new PubSub();
  const server = useServer(
    {
      schema: chatSchema(graphql, (_root, { room }) => pubsub.asyncIterableIterator(room)),
      context: chatContext(withLoaders ? null : db),
      ...(withLoaders ? { loaders: chatLoaders(db) } : {}),
      shareKey: a.share === 'true' ? () => 'all' : a.cohorts === 'true' ? chatUser : undefined,
      maxConnections: 19500,
    },
    { port: 0, host: '127.0.0.1', path: a.path || '/' },
    0,
  );
  return {
    port: server.address().port,
    stats: () => ({ ...server.stats(), dbCalls: db.calls, dbKeys: db.keys }),
    publish: (topic, seq, bodyBytes, sentAt = nowMs()) => server.publish(topic, chatMessage(seq, sentAt, bodyBytes)),
    close: () => server.dispose(),
  };
});
