'use strict';
/**
 * graphql-ws on ws for the chat scenario (lib/chat-schema.js), set up as its apps are: the
 * `context` of each subscription builds its own DataLoader, graphql-subscriptions' PubSub
 * feeds `messageAdded`. `publish <room> <seq> [bodyBytes]` publishes one message; `stats`
 * counts live subscriptions and the fake database's `dbCalls`.
 * @module benchmark/servers/chat-graphql-ws
 */

const http = require('node:http');
const { WebSocketServer } = require('ws');
const { useServer } = require('graphql-ws/use/ws');
const { PubSub } = require('graphql-subscriptions');
const graphql = require('graphql');
const { serve, argv, nowMs, countLive } = require('../lib/server-harness');
const { chatDb, chatContext, chatSchema, chatMessage } = require('../lib/chat-schema');

serve('chat-graphql-ws', async () => {
  const a = argv();
  const db = chatDb();
  const pubsub = new PubSub();
  const counter = { live: 0 };
  const subscribe = (/** @type {unknown} */ _root, /** @type {{ room: string }} */ { room }) => countLive(pubsub.asyncIterableIterator(room), counter);
  const httpServer = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: httpServer, path: a.path || '/' });
  const cleanup = useServer({ schema: chatSchema(graphql, subscribe), context: chatContext(db) }, wss);
  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: /** @type {import('node:net').AddressInfo} */ (httpServer.address()).port,
    stats: () => ({ connections: wss.clients.size, subscriptions: counter.live, dbCalls: db.calls, dbKeys: db.keys }),
    publish: (topic, seq, bodyBytes, sentAt = nowMs()) => void pubsub.publish(topic, chatMessage(seq, sentAt, bodyBytes)),
    close: async () => {
      await cleanup.dispose();
      await new Promise((resolve) => httpServer.close(() => resolve(undefined)));
    },
  };
});
