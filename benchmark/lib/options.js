'use strict';
/**
 * What the runner can run and how it is told to: the servers under test (with the scenarios
 * each takes part in), the scenarios, the quick and `--full` profiles (connection counts,
 * fan-out cases, topic cases), the usage text and the command-line parser with its bounds.
 * @module benchmark/lib/options
 */

const path = require('node:path');
const { QUERY: CHAT_QUERY, SHARED_QUERY, USERS } = require('./chat-schema');

/** Every server this suite knows, and the scenarios each runs. */
const GQL = ['fanout', 'idle-gql', 'storm-gql', 'topics'];
const SERVERS = [
  { key: 'subwire-reuseport', label: 'subwire (reuseport)', script: 'subwire.js', args: ['--listener', 'reuseport'], native: true, scenarios: ['idle', 'storm'] },
  { key: 'subwire-shared', label: 'subwire (shared)', script: 'subwire.js', args: ['--listener', 'shared'], native: true, scenarios: ['idle', 'storm'] },
  { key: 'ws', label: 'ws (echo)', script: 'ws.js', args: [], scenarios: ['idle', 'storm'] },
  // GraphQL servers on the same schema and publish command, and the floor
  { key: 'floor', label: 'raw-socket floor (Rust)', bin: 'floor', args: [], scenarios: GQL },
  { key: 'subwire-gql-shared', label: 'subwire (shared)', script: 'subwire-graphql.js', args: ['--share'], native: true, scenarios: [...GQL, 'cluster'] },
  { key: 'subwire-gql-unshared', label: 'subwire (unshared)', script: 'subwire-graphql.js', args: [], native: true, scenarios: GQL },
  { key: 'subwire-gql-projected', label: 'subwire (unshared, projected)', script: 'subwire-graphql.js', args: ['--projected'], native: true, scenarios: [...GQL, 'cluster'] },
  { key: 'graphql-ws', label: 'graphql-ws on ws', script: 'graphql-ws.js', args: [], scenarios: [...GQL, 'cluster'] },
  { key: 'stws', label: 'subscriptions-transport-ws on ws', script: 'stws.js', args: [], protocol: 'graphql-ws', scenarios: GQL },
  // The chat scenario (lib/chat-schema.js): a loader-resolved author and a per-subscriber field
  { key: 'chat-subwire-loaders', label: 'subwire, loaders option', script: 'chat-subwire.js', args: ['--loaders'], native: true, scenarios: ['chat'], users: USERS, query: CHAT_QUERY },
  { key: 'chat-subwire', label: 'subwire, a DataLoader per subscription', script: 'chat-subwire.js', args: [], native: true, scenarios: ['chat'], users: USERS, query: CHAT_QUERY },
  { key: 'chat-graphql-ws', label: 'graphql-ws on ws, a DataLoader per subscription', script: 'chat-graphql-ws.js', args: [], scenarios: ['chat'], users: USERS, query: CHAT_QUERY },
  { key: 'chat-subwire-cohorts', label: 'subwire, loaders, shareKey by user (cohorts)', script: 'chat-subwire.js', args: ['--loaders', '--cohorts'], native: true, scenarios: ['chat'], users: USERS, query: CHAT_QUERY },
  { key: 'chat-subwire-shared', label: 'subwire shared, no per-subscriber field', script: 'chat-subwire.js', args: ['--loaders', '--share'], native: true, scenarios: ['chat'], users: USERS, query: SHARED_QUERY },
];

const SCENARIOS = ['idle', 'storm', 'fanout', 'idle-gql', 'storm-gql', 'topics', 'chat', 'cluster'];
/** Run only when named in --scenarios: cluster needs redis-server and runs several servers per case. */
const OPT_IN = ['cluster'];

/** The peers' ratio column divides by this subwire row: the same schema and options graphql-ws gets. */
const BASELINE = 'subwire-gql-unshared';

/** Fan-out: a burst size is measured again until `--samples` or this many seconds. */
const SAMPLE_BUDGET_S = 15;

/** The quick (default) and full profiles. */
const PROFILES = {
  quick: {
    fanout: [{ conns: 5000, subs: 1, bursts: [1, 20], body: 200 }],
    idleGql: [5000, 10000],
    stormGql: 10000,
    topics: [{ conns: 5000, topics: 500, rate: 2000, secs: 3, body: 200 }],
    chat: [{ conns: 2000, subs: 1, bursts: [1, 20], body: 200 }],
    cluster: [4000, 4000, 4000].map((total, i) => ({ total, procs: [1, 2, 4][i], bursts: [1, 20], body: 200 })),
  },
  full: {
    fanout: [
      { conns: 10000, subs: 1, bursts: [1, 20], body: 200 },
      { conns: 19000, subs: 1, bursts: [1, 20], body: 200 },
      { conns: 19000, subs: 5, bursts: [1, 20], body: 200 },
    ],
    idleGql: [10000, 19000],
    stormGql: 19000,
    topics: [{ conns: 19000, topics: 1000, rate: 2000, secs: 5, body: 200 }],
    chat: [
      { conns: 10000, subs: 1, bursts: [1, 20], body: 200 },
      { conns: 19000, subs: 1, bursts: [1, 20], body: 200 },
    ],
    cluster: [19000, 19000, 19000].map((total, i) => ({ total, procs: [1, 2, 4][i], bursts: [1, 20], body: 200 })),
  },
};

const topicsCase = (c) => `${c.conns}:${c.topics}:${c.rate}:${c.secs}`;

const HELP = `usage: node benchmark/run.js [options]
  --full                 3 interleaved repetitions, medians with ranges (default: 1 pass, smaller cases)
  --reps N               repetitions (overrides --full's 3; more than 1 runs the --full cases)
  --servers a,b          among ${SERVERS.map((s) => s.key).join(', ')} (default: all)
  --scenarios a,b        among ${SCENARIOS.join(', ')} (default: all but ${OPT_IN.join(', ')})
  --idle 10000,19000     echo idle: connection counts to measure at (max 19000)
  --storm N              echo storm: connections opened (default 19000)
  --concurrency N        handshakes in flight per loadgen process (default 32)
  --fanout NxS[,NxS]     fan-out cases, N connections (2..19000) × S subscriptions each (1..100)
  --chat NxS[,NxS]       chat cases (fan-out of a loader-resolved schema), as --fanout
  --cluster TxP[,TxP]    cluster cases (opt-in: --scenarios cluster): T connections split over P processes (1..8, ≤ 19000
                         each) on one redis-server (quick: 4000x1,4000x2,4000x4; --full: 19000x1,19000x2,19000x4)
  --samples N            fan-out: bursts measured per burst size, within ${SAMPLE_BUDGET_S} s each (default 5, 1..20)
  --idle-gql A,B         idle-subscribed: connection counts to measure at (ascending, max 19000)
  --storm-gql N          GraphQL storm: clients doing upgrade + init + subscribe (2..19000)
  --topics N:K:R:S[,…]   many topics: N subscribers (2..19000) over K topics (1..N), R publishes/s (1..100000) for S s (1..60)
  --baseline KEY         the subwire row the GraphQL tables' ratio columns divide by (default ${BASELINE})
  --compare DIR          also run each selected subwire GraphQL row on the subwire checkout in DIR
                         (built: npm install there), as a row KEY@base beside it (A/B in one run)
  --out FILE             results JSON (default benchmark/results/latest.json; the chart goes beside it as .svg)
  --no-build             do not run cargo build --release -p loadgen -p floor
  --timeout-min M        abort the whole run after M minutes (default 30, 60 per repetition with --reps/--full)
quick profile: fan-out ${PROFILES.quick.fanout.map((c) => `${c.conns}×${c.subs}`).join(', ')}; chat ${PROFILES.quick.chat.map((c) => `${c.conns}×${c.subs}`).join(', ')}; idle-gql ${PROFILES.quick.idleGql.join(', ')}; storm-gql ${PROFILES.quick.stormGql}; topics ${PROFILES.quick.topics.map(topicsCase).join(', ')}
--full:        fan-out ${PROFILES.full.fanout.map((c) => `${c.conns}×${c.subs}`).join(', ')}; chat ${PROFILES.full.chat.map((c) => `${c.conns}×${c.subs}`).join(', ')}; idle-gql ${PROFILES.full.idleGql.join(', ')}; storm-gql ${PROFILES.full.stormGql}; topics ${PROFILES.full.topics.map(topicsCase).join(', ')}
binaries: $CARGO_TARGET_DIR/release (default target/release).`;

/** Ascending counts, each 2..19000, or throws naming the option. */
function counts(name, v) {
  const xs = v.split(',').map(Number);
  if (xs.some((n, i) => !(Number.isInteger(n) && n >= 2 && n <= 19000) || (i > 0 && n <= xs[i - 1]))) {
    throw new Error(`${name}: ascending counts, each 2..19000`);
  }
  return xs;
}

function parseArgs(argv) {
  const o = { reps: 1, servers: SERVERS.map((s) => s.key), scenarios: SCENARIOS.filter((s) => !OPT_IN.includes(s)), idle: [10000, 19000],
    storm: 19000, concurrency: 32, fanout: null, chat: null, cluster: null, idleGql: null, stormGql: null, topics: null, baseline: BASELINE,
    out: path.join(__dirname, '..', 'results', 'latest.json'), build: true, timeoutMin: null, samples: 5, compare: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') o.help = true;
    else if (a === '--full') o.reps = Math.max(o.reps, 3);
    else if (a === '--reps') o.reps = Number(val());
    else if (a === '--servers') o.servers = val().split(',');
    else if (a === '--scenarios') o.scenarios = val().split(',');
    else if (a === '--idle') o.idle = counts(a, val());
    else if (a === '--storm') o.storm = Number(val());
    else if (a === '--concurrency') o.concurrency = Number(val());
    else if (a === '--fanout' || a === '--chat') {
      o[a.slice(2)] = val().split(',').map((c) => {
        const m = /^(\d+)x(\d+)$/.exec(c);
        if (!m || !(+m[1] >= 2 && +m[1] <= 19000 && +m[2] >= 1 && +m[2] <= 100)) throw new Error(`${a}: NxS with N 2..19000, S 1..100, got ${c}`);
        return { conns: +m[1], subs: +m[2], bursts: [1, 20], body: 200 };
      });
    } else if (a === '--cluster') {
      o.cluster = val().split(',').map((c) => {
        const m = /^(\d+)x(\d+)$/.exec(c);
        const [total, procs] = m ? [+m[1], +m[2]] : [];
        if (!m || !(procs >= 1 && procs <= 8 && total >= 2 * procs && Math.ceil(total / procs) <= 19000)) {
          throw new Error(`--cluster: TxP with P 1..8 processes and T 2P..19000·P connections, got ${c}`);
        }
        return { total, procs, bursts: [1, 20], body: 200 };
      });
    } else if (a === '--idle-gql') o.idleGql = counts(a, val());
    else if (a === '--storm-gql') o.stormGql = Number(val());
    else if (a === '--topics') {
      o.topics = val().split(',').map((c) => {
        const m = /^(\d+):(\d+):(\d+):(\d+)$/.exec(c);
        const [n, k, r, s] = m ? m.slice(1).map(Number) : [];
        if (!m || !(n >= 2 && n <= 19000 && k >= 1 && k <= n && r >= 1 && r <= 100000 && s >= 1 && s <= 60)) {
          throw new Error(`--topics: N:K:R:S with N 2..19000, K 1..N, R 1..100000, S 1..60, got ${c}`);
        }
        return { conns: n, topics: k, rate: r, secs: s, body: 200 };
      });
    } else if (a === '--baseline') o.baseline = val();
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--no-build') o.build = false;
    else if (a === '--timeout-min') o.timeoutMin = Number(val());
    else if (a === '--samples') o.samples = Number(val());
    else if (a === '--compare') o.compare = path.resolve(val());
    else throw new Error(`unknown option ${a}`);
  }
  const unknown = o.servers.filter((k) => !SERVERS.some((s) => s.key === k));
  if (unknown.length) throw new Error(`unknown server(s): ${unknown.join(', ')}`);
  if (o.scenarios.some((s) => !SCENARIOS.includes(s))) throw new Error(`--scenarios: among ${SCENARIOS.join(', ')}`);
  if (!SERVERS.some((s) => s.key === o.baseline)) throw new Error(`--baseline: unknown server ${o.baseline}`);
  if (!(o.reps >= 1 && o.reps <= 10)) throw new Error('--reps must be 1..10');
  if (!(Number.isInteger(o.samples) && o.samples >= 1 && o.samples <= 20)) throw new Error('--samples must be 1..20');
  if (!(o.storm >= 2 && o.storm <= 19000)) throw new Error('--storm must be 2..19000');
  if (o.stormGql != null && !(Number.isInteger(o.stormGql) && o.stormGql >= 2 && o.stormGql <= 19000)) throw new Error('--storm-gql must be 2..19000');
  if (!(o.concurrency >= 1 && o.concurrency <= 2000)) throw new Error('--concurrency must be 1..2000');
  const profile = PROFILES[o.reps > 1 ? 'full' : 'quick'];
  o.fanout ??= profile.fanout;
  o.chat ??= profile.chat;
  o.cluster ??= profile.cluster;
  o.idleGql ??= profile.idleGql;
  o.stormGql ??= profile.stormGql;
  o.topics ??= profile.topics;
  o.timeoutMin ??= o.reps > 1 ? 60 * o.reps : 30;
  return o;
}

/**
 * The servers a run visits: the selected ones, and with `--compare DIR` a copy of each
 * selected subwire GraphQL row (chat rows too) that loads subwire from DIR (key `KEY@base`),
 * placed beside it.
 * @param {ReturnType<typeof parseArgs>} o
 */
function selectedServers(o) {
  const out = [];
  for (const s of SERVERS.filter((x) => o.servers.includes(x.key))) {
    out.push(s);
    if (o.compare && s.native && (s.script === 'subwire-graphql.js' || s.script === 'chat-subwire.js')) {
      out.push({ ...s, key: `${s.key}@base`, label: `${s.label} @base`, env: { SUBWIRE_DIR: o.compare } });
    }
  }
  return out;
}

module.exports = { SERVERS, SCENARIOS, PROFILES, BASELINE, SAMPLE_BUDGET_S, HELP, parseArgs, selectedServers };
