'use strict';
// The chat-room schema of the loader tests (__test__/loaders.test.js, batched.test.js,
// fidelity.test.js): `messageAdded(room)` whose `author` resolves through a loader backed by
// a fake database that records every batch call, and a per-user `viewerCanEdit` read from
// the context. Variants: the source straight from a subwire PubSub (batched), wrapped by
// graphql-subscriptions' withFilter, or an app's async generator.
const graphql = require('graphql');
const DataLoader = require('dataloader');
const { withFilter } = require('graphql-subscriptions');

const {
  GraphQLSchema, GraphQLObjectType, GraphQLNonNull, GraphQLList, GraphQLID, GraphQLString, GraphQLBoolean,
} = graphql;

/** A fake database: users by id, each batch call recorded (ids as asked), answered after `delay` ms (0: next turn). */
function fakeDb(delay = 0) {
  /** @type {Map<string, { id: string, name: string }>} */
  const users = new Map();
  for (let i = 0; i < 50; i++) users.set(`u${i}`, { id: `u${i}`, name: `User ${i}` });
  /** @type {string[][]} */
  const calls = [];
  return {
    users,
    calls,
    /** @param {readonly string[]} ids */
    usersByIds(ids) {
      calls.push([...ids]);
      const rows = ids.map((id) => users.get(id) ?? new Error(`no user ${id}`));
      return new Promise((resolve) => (delay > 0 ? setTimeout(resolve, delay, rows) : setImmediate(resolve, rows)));
    },
  };
}

/** subwire's `loaders` option for `db`. @param {ReturnType<typeof fakeDb>} db */
const loadersFor = (db) => ({ author: () => new DataLoader((ids) => db.usersByIds(/** @type {string[]} */ (ids))) });

/**
 * @param {{ pubsub: any, source?: 'direct' | 'withFilter' | 'generator' | 'generator-same',
 *   authorOf?: (msg: any, ctx: any) => unknown }} o
 *   `authorOf`: how `author` resolves (default: `ctx.loaders.author.load(msg.authorId)`)
 */
function chatSchema({ pubsub, source = 'direct', authorOf }) {
  const User = new GraphQLObjectType({ name: 'User', fields: { id: { type: new GraphQLNonNull(GraphQLID) }, name: { type: GraphQLString } } });
  const Message = new GraphQLObjectType({
    name: 'Message',
    fields: {
      id: { type: new GraphQLNonNull(GraphQLID) },
      room: { type: GraphQLString },
      text: { type: GraphQLString },
      author: { type: User, resolve: (msg, _a, ctx) => (authorOf ? authorOf(msg, ctx) : ctx.loaders.author.load(msg.authorId)) },
      viewerCanEdit: {
        type: new GraphQLNonNull(GraphQLBoolean),
        resolve: (msg, _a, ctx) => {
          if (ctx.user === 'banned') throw new Error(`user ${ctx.user} may not see this`);
          return msg.authorId === ctx.user;
        },
      },
      mentions: {
        type: new GraphQLList(User),
        resolve: (msg, _a, ctx) => (msg.mentions ?? []).map((/** @type {string} */ id) => (authorOf ? authorOf({ authorId: id }, ctx) : ctx.loaders.author.load(id))),
      },
    },
  });
  const topic = (/** @type {string} */ room) => `room:${room}`;
  /** @type {any} */
  let subscribe;
  if (source === 'direct') subscribe = (/** @type {any} */ _r, /** @type {any} */ { room }) => pubsub.asyncIterableIterator(topic(room));
  else if (source === 'withFilter') {
    subscribe = withFilter((/** @type {any} */ _r, /** @type {any} */ { room }) => pubsub.asyncIterableIterator('rooms'), (/** @type {any} */ msg, /** @type {any} */ { room }) => msg.room === room);
  } else {
    const same = source === 'generator-same';
    subscribe = async function* (/** @type {any} */ _r, /** @type {any} */ { room }) {
      for await (const msg of pubsub.asyncIterableIterator(topic(room))) yield same ? msg : { ...msg };
    };
  }
  return new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        user: { type: User, args: { id: { type: new GraphQLNonNull(GraphQLID) } }, resolve: (_r, { id }, ctx) => ctx.loaders.author.load(id) },
      },
    }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        messageAdded: { type: Message, args: { room: { type: new GraphQLNonNull(GraphQLString) } }, subscribe, resolve: (msg) => msg },
      },
    }),
  });
}

const MESSAGE_QUERY = 'subscription M($room: String!) { messageAdded(room: $room) { id text author { id name } viewerCanEdit mentions { name } } }';

module.exports = { fakeDb, loadersFor, chatSchema, MESSAGE_QUERY, DataLoader };
