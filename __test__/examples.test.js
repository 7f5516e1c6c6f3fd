'use strict';
// The Apollo Server and GraphQL Yoga examples, started for real and driven as their users
// would: a mutation over HTTP causes a subscription event over subwire's WebSocket on the
// same port, seen by graphql-ws's createClient and by Apollo Client's GraphQLWsLink. The
// chat-loaders example: per-user results, loader bags and cohorts, with graphql-ws clients.
//
// The examples depend on subwire as `file:../..`, which npm installs as a link in
// examples/node_modules; the test makes that link itself (their other dependencies resolve
// from the repository's node_modules, so there is one graphql).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const WebSocket = require('ws');
const { createClient } = require('graphql-ws');

const EXAMPLES = path.join(__dirname, '..', 'examples');
const link = path.join(EXAMPLES, 'node_modules', 'subwire');
if (!fs.existsSync(link)) {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync('../..', link);
}

const post = async (url, query) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) })).json();

/** The first `next` of a graphql-ws subscription. */
function firstEvent(client, query) {
  return new Promise((resolve, reject) => {
    const stop = client.subscribe({ query }, { next: (r) => (stop(), resolve(r)), error: reject, complete: () => {} });
  });
}

test('Apollo Server example: a mutation over HTTP reaches graphql-ws and Apollo Client subscribers', async (t) => {
  const app = await require(path.join(EXAMPLES, 'apollo-server', 'server.js')).start({ port: 0 });
  t.after(() => app.close());
  const { ApolloClient, InMemoryCache, gql } = require('@apollo/client');
  const { GraphQLWsLink } = require('@apollo/client/link/subscriptions');
  const wsClient = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  const apolloWs = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  t.after(() => Promise.all([wsClient.dispose(), apolloWs.dispose()]));
  const apollo = new ApolloClient({ link: new GraphQLWsLink(apolloWs), cache: new InMemoryCache() });
  const viaApollo = new Promise((resolve, reject) => {
    const sub = apollo.subscribe({ query: gql`subscription { messageAdded { id text } }` }).subscribe({
      next: (r) => (sub.unsubscribe(), resolve(r.data)),
      error: reject,
    });
  });
  const viaGraphqlWs = firstEvent(wsClient, 'subscription { messageAdded { id text } }');
  let published;
  for (let i = 0; i < 100 && app.subscriptions.stats().subscriptions < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(app.subscriptions.stats().subscriptions, 2, 'both clients subscribed');
  published = await post(app.url, 'mutation { addMessage(text: "hello") { id text } }');
  assert.deepEqual(published, { data: { addMessage: { id: '1', text: 'hello' } } });
  assert.deepEqual((await viaGraphqlWs).data, { messageAdded: { id: '1', text: 'hello' } });
  const fromApollo = await viaApollo;
  assert.equal(fromApollo.messageAdded.text, 'hello');
  assert.deepEqual(await post(app.url, '{ messages { text } }'), { data: { messages: [{ text: 'hello' }] } });
});

test('GraphQL Yoga example: createPubSub-style publishing reaches a graphql-ws subscriber on Yoga\'s port', async (t) => {
  const app = await require(path.join(EXAMPLES, 'yoga', 'server.js')).start({ port: 0 });
  t.after(() => app.close());
  const client = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  t.after(() => client.dispose());
  const got = [];
  const errors = [];
  client.subscribe({ query: 'subscription { countChanged }' }, { next: (r) => got.push(r.data.countChanged), error: (e) => errors.push(e), complete: () => {} });
  for (let i = 0; i < 100 && app.subscriptions.stats().subscriptions < 1; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(await post(app.url, 'mutation { increment(by: 2) }'), { data: { increment: 2 } });
  assert.deepEqual(await post(app.url, 'mutation { increment }'), { data: { increment: 3 } });
  for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(errors, []);
  assert.deepEqual(got, [2, 3]);
  assert.deepEqual(await post(app.url, '{ count }'), { data: { count: 3 } });
});

test('chat-loaders example: per-user results, one database call per message, one cohort per user', async (t) => {
  const app = await require(path.join(EXAMPLES, 'chat-loaders', 'server.js')).start({ port: 0 });
  t.after(() => app.close());
  const clientOf = (user) => {
    const client = createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { user } });
    t.after(() => client.dispose());
    return client;
  };
  const query = 'subscription { messageAdded(room: "lobby") { id text author { name } viewerCanEdit } }';
  const users = ['ann', 'ann', 'bob', 'cy'];
  const got = users.map(() => []);
  const clients = users.map(clientOf);
  clients.forEach((c, i) => c.subscribe({ query }, { next: (r) => got[i].push(r), error: (e) => got[i].push({ error: e }), complete: () => {} }));
  for (let i = 0; i < 100 && app.subscriptions.stats().triggerSubscriptions < 4; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(app.subscriptions.stats().triggers, 3, 'one cohort per user');
  const sent = await new Promise((resolve, reject) => {
    clients[2].subscribe({ query: 'mutation { send(room: "lobby", text: "hi") { id author { name } } }' }, { next: resolve, error: reject, complete: () => {} });
  });
  assert.deepEqual(sent, { data: { send: { id: '1', author: { name: 'User bob' } } } });
  for (let i = 0; i < 100 && got.some((g) => g.length < 1); i++) await new Promise((r) => setTimeout(r, 20));
  const message = (canEdit) => [{ data: { messageAdded: { id: '1', text: 'hi', author: { name: 'User bob' }, viewerCanEdit: canEdit } } }];
  assert.deepEqual(got, [message(false), message(false), message(true), message(false)]);
  // the mutation's own bag, and one for the message shared by every cohort
  assert.equal(app.db.calls, 2);
  await assert.rejects(
    new Promise((resolve, reject) => createClient({ url: app.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: reject }).subscribe({ query }, { next: resolve, error: reject, complete: () => {} })),
    (e) => e.code === 4403,
    'a connection without a user is refused',
  );
});
