'use strict';
// A chat room whose results depend on the subscriber: `author` comes from a database through
// a DataLoader, `viewerCanEdit` from the user the connection named in its connection_init.
// - `loaders`: each published message gets one loader bag, shared by every subscriber's
//   execution of it, so a room of 10k subscribers costs one `usersByIds` call per message.
// - `shareKey` by user: the result depends on nothing else of the connection, so the
//   subscriptions of one user form one cohort, executed once per message for all of them.
// Mutations go over the same WebSocket (graphql-ws runs queries and mutations there too).
// Run: node server.js (PORT, default 4000); clients send connectionParams { user: 'u1' }.
const { makeExecutableSchema } = require('@graphql-tools/schema');
const DataLoader = require('dataloader');
const { useServer, PubSub } = require('subwire');

const typeDefs = `
  type User { id: ID!, name: String! }
  type Message { id: ID!, room: String!, text: String!, author: User!, viewerCanEdit: Boolean! }
  type Query { me: User }
  type Mutation { send(room: String!, text: String!): Message! }
  type Subscription { messageAdded(room: String!): Message! }
`;

/** A stand-in for a database: users by id, one call per batch, each call counted. */
function usersDb() {
  const db = {
    calls: 0,
    /** @param {readonly string[]} ids */
    async usersByIds(ids) {
      db.calls += 1;
      return ids.map((id) => ({ id, name: `User ${id}` }));
    },
  };
  return db;
}

/** Starts the app on `port` (0: a free one); resolves { wsUrl, db, subscriptions, close }. */
async function start({ port = 4000, host = '127.0.0.1' } = {}) {
  const pubsub = new PubSub();
  const db = usersDb();
  let nextId = 1;
  const resolvers = {
    Query: { me: (_root, _args, ctx) => ctx.loaders.author.load(ctx.user) },
    Mutation: {
      send: async (_root, { room, text }, ctx) => {
        const message = { id: String(nextId++), room, text, authorId: ctx.user };
        await pubsub.publish(`room:${room}`, message);
        return message;
      },
    },
    Message: {
      author: (message, _args, ctx) => ctx.loaders.author.load(message.authorId),
      viewerCanEdit: (message, _args, ctx) => message.authorId === ctx.user,
    },
    Subscription: {
      messageAdded: { subscribe: (_root, { room }) => pubsub.asyncIterableIterator(`room:${room}`), resolve: (message) => message },
    },
  };
  const subscriptions = useServer(
    {
      schema: makeExecutableSchema({ typeDefs, resolvers }),
      onConnect: (ctx) => typeof ctx.connectionParams?.user === 'string', // else 4403 Forbidden
      context: (ctx) => ({ user: ctx.connectionParams.user }),
      loaders: { author: () => new DataLoader((ids) => db.usersByIds(ids)) },
      shareKey: (ctx) => `user:${ctx.connectionParams.user}`,
    },
    { port, host, path: '/graphql' },
  );
  return {
    wsUrl: `ws://${host}:${subscriptions.address().port}/graphql`,
    db,
    subscriptions,
    close: () => subscriptions.dispose(),
  };
}

module.exports = { start };

if (require.main === module) {
  start({ port: Number(process.env.PORT ?? 4000) }).then(({ wsUrl }) => console.log(`chat on ${wsUrl}`));
}
