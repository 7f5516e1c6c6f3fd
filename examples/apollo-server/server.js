'use strict';
// Apollo Server 5 (express) with subscriptions served by subwire on the same http.Server and
// path: queries and mutations over HTTP, subscriptions over WebSocket. A mutation publishes
// through subwire's PubSub; every subscriber gets the new message.
// Run: node server.js (PORT, default 4000), then open http://localhost:4000/graphql.
const http = require('node:http');
const express = require('express');
const { ApolloServer } = require('@apollo/server');
const { expressMiddleware } = require('@as-integrations/express5');
const { ApolloServerPluginDrainHttpServer } = require('@apollo/server/plugin/drainHttpServer');
const { makeExecutableSchema } = require('@graphql-tools/schema');
const { useServer, PubSub } = require('subwire'); // was: useServer from 'graphql-ws/use/ws' + new WebSocketServer(...)

const typeDefs = `
  type Message { id: ID!, text: String! }
  type Query { messages: [Message!]! }
  type Mutation { addMessage(text: String!): Message! }
  type Subscription { messageAdded: Message! }
`;

/** Starts the app on `port` (0: a free one); resolves { url, close }. */
async function start({ port = 4000, host = '127.0.0.1' } = {}) {
  const pubsub = new PubSub();
  const messages = [];
  const resolvers = {
    Query: { messages: () => messages },
    Mutation: {
      addMessage: async (_root, { text }) => {
        const message = { id: String(messages.length + 1), text };
        messages.push(message);
        await pubsub.publish('MESSAGE_ADDED', { messageAdded: message });
        return message;
      },
    },
    Subscription: { messageAdded: { subscribe: () => pubsub.asyncIterableIterator('MESSAGE_ADDED') } },
  };
  const schema = makeExecutableSchema({ typeDefs, resolvers });
  const app = express();
  const httpServer = http.createServer(app);
  const subscriptions = useServer({ schema }, { server: httpServer, path: '/graphql' });
  const apollo = new ApolloServer({
    schema,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { async serverWillStart() { return { async drainServer() { await subscriptions.dispose(); } }; } },
    ],
  });
  await apollo.start();
  app.use('/graphql', express.json(), expressMiddleware(apollo));
  await new Promise((resolve) => httpServer.listen(port, host, resolve));
  const { port: bound } = httpServer.address();
  return {
    url: `http://${host}:${bound}/graphql`,
    wsUrl: `ws://${host}:${bound}/graphql`,
    subscriptions,
    close: () => apollo.stop(),
  };
}

module.exports = { start };

if (require.main === module) {
  start({ port: Number(process.env.PORT ?? 4000) }).then(({ url, wsUrl }) => console.log(`Apollo Server on ${url}, subscriptions on ${wsUrl}`));
}
