'use strict';
// GraphQL Yoga on an http.Server, with WebSocket subscriptions served by subwire on the same
// port and path, publishing Yoga-style through subwire's createPubSub.
// Run: node server.js (PORT, default 4000), then open http://localhost:4000/graphql.
const http = require('node:http');
const { createYoga, createSchema } = require('graphql-yoga');
const { useServer, createPubSub } = require('subwire'); // was: createPubSub from 'graphql-yoga' + graphql-ws on ws

/** Starts the app on `port` (0: a free one); resolves { url, wsUrl, close }. */
async function start({ port = 4000, host = '127.0.0.1' } = {}) {
  const pubSub = createPubSub();
  let count = 0;
  const schema = createSchema({
    typeDefs: `
      type Query { count: Int! }
      type Mutation { increment(by: Int! = 1): Int! }
      type Subscription { countChanged: Int! }
    `,
    resolvers: {
      Query: { count: () => count },
      Mutation: {
        increment: (_root, { by }) => {
          count += by;
          pubSub.publish('countChanged', count);
          return count;
        },
      },
      Subscription: { countChanged: { subscribe: () => pubSub.subscribe('countChanged'), resolve: (payload) => payload } },
    },
  });
  const yoga = createYoga({ schema, graphiql: { subscriptionsProtocol: 'WS' } });
  const httpServer = http.createServer(yoga);
  const subscriptions = useServer({ schema }, { server: httpServer, path: yoga.graphqlEndpoint });
  await new Promise((resolve) => httpServer.listen(port, host, resolve));
  const { port: bound } = httpServer.address();
  return {
    url: `http://${host}:${bound}${yoga.graphqlEndpoint}`,
    wsUrl: `ws://${host}:${bound}${yoga.graphqlEndpoint}`,
    subscriptions,
    close: async () => {
      await subscriptions.dispose();
      await new Promise((resolve) => httpServer.close(() => resolve()));
    },
  };
}

module.exports = { start };

if (require.main === module) {
  start({ port: Number(process.env.PORT ?? 4000) }).then(({ url, wsUrl }) => console.log(`Yoga on ${url}, subscriptions on ${wsUrl}`));
}
