'use strict';
/**
 * The chat scenario's schema and fake database (issue 17), shared by servers/chat-subwire.js
 * and servers/chat-graphql-ws.js: `subscription { messageAdded(room: String!) { seq sentAt
 * body author { id name } viewerCanEdit } }`. `author` resolves through
 * `ctx.loaders.author` (a DataLoader over the database: subwire's per-event bag with the
 * `loaders` option, or one per subscription built in `context`, the usual graphql-ws setup);
 * `viewerCanEdit` compares the author with the subscriber's own user (`ctx.user`: the one its
 * connection named in `connection_init`, of 1,000 users the loadgens give out in turn). The database answers each batch call after
 * 1 ms, as a round trip to a real one would, and counts the calls (`stats().dbCalls`).
 * The loadgen subscribes with the root field aliased `tick` (its parser reads `data.tick`).
 * @module benchmark/lib/chat-schema
 */

const DataLoader = require('dataloader');

/** Users the database has: u0…u999. */
const USERS = 1000;
/** The document of the rows with the per-subscriber field, and of those without it. */
const QUERY = 'subscription($t:String!){tick:messageAdded(room:$t){seq sentAt body author{id name} viewerCanEdit}}';
const SHARED_QUERY = 'subscription($t:String!){tick:messageAdded(room:$t){seq sentAt body author{id name}}}';

/** The fake database. @param {number} [delayMs] the cost of one batch call */
function chatDb(delayMs = 1) {
  let calls = 0;
  let keys = 0;
  return {
    get calls() {
      return calls;
    },
    get keys() {
      return keys;
    },
    /** @param {readonly string[]} ids */
    usersByIds(ids) {
      calls += 1;
      keys += ids.length;
      const rows = ids.map((id) => ({ id, name: `User ${id.slice(1)}` }));
      return new Promise((resolve) => setTimeout(resolve, delayMs, rows));
    },
  };
}

/** `loaders` for a bag (subwire's option) or for a context. @param {ReturnType<typeof chatDb>} db */
const chatLoaders = (db) => ({ author: () => new DataLoader((ids) => db.usersByIds(/** @type {string[]} */ (ids))) });

/** The user a connection named in its `connection_init` payload (the loadgen's `--users`), as an auth token would. @param {any} ctx graphql-ws's */
function chatUser(ctx) {
  const user = ctx.connectionParams?.user;
  if (typeof user !== 'string') throw new Error('chat: the connection_init payload must name a user (loadgen --users)');
  return user;
}

/** A `context` function: the connection's user; with `ownLoadersDb`, a DataLoader of its own too. */
function chatContext(/** @type {ReturnType<typeof chatDb> | null} */ ownLoadersDb) {
  return (/** @type {any} */ ctx) => {
    const user = chatUser(ctx);
    return ownLoadersDb ? { user, loaders: { author: chatLoaders(ownLoadersDb).author() } } : { user };
  };
}

/**
 * @param {typeof import('graphql')} graphql the module the server executes with
 * @param {(root: unknown, args: { room: string }) => unknown} subscribe messageAdded's source
 */
function chatSchema(graphql, subscribe) {
  const { GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLNonNull, GraphQLInt, GraphQLFloat, GraphQLID, GraphQLBoolean } = graphql;
  const User = new GraphQLObjectType({ name: 'User', fields: { id: { type: new GraphQLNonNull(GraphQLID) }, name: { type: GraphQLString } } });
  const Message = new GraphQLObjectType({
    name: 'Message',
    fields: {
      seq: { type: new GraphQLNonNull(GraphQLInt) },
      sentAt: { type: new GraphQLNonNull(GraphQLFloat) },
      body: { type: GraphQLString },
      author: { type: User, resolve: (m, _a, ctx) => ctx.loaders.author.load(m.authorId) },
      viewerCanEdit: { type: new GraphQLNonNull(GraphQLBoolean), resolve: (m, _a, ctx) => m.authorId === ctx.user },
    },
  });
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString, resolve: () => 'world' } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        messageAdded: {
          type: new GraphQLNonNull(Message),
          args: { room: { type: new GraphQLNonNull(GraphQLString) } },
          subscribe: /** @type {any} */ (subscribe),
          resolve: (m) => m,
        },
      },
    }),
  });
}

/** One published message: `{ seq, sentAt, body, authorId }`, the author one of the users in turn. */
const chatMessage = (/** @type {number} */ seq, /** @type {number} */ sentAt, /** @type {number} */ bodyBytes) =>
  ({ seq, sentAt, body: 'x'.repeat(bodyBytes), authorId: `u${seq % USERS}` });

module.exports = { chatDb, chatLoaders, chatContext, chatUser, chatSchema, chatMessage, QUERY, SHARED_QUERY, USERS };
