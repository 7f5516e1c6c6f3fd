'use strict';
// subwire installed the way an app installs it: from the tarball `npm pack` makes, built
// from source by its install script, then serving a subscription to graphql-ws's client.
// And without Rust on the PATH, that install stops with what to install.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// The packed crate builds in its own target dir (Rust dependencies stay compiled between
// runs, and the repo's own target/release is left alone).
const TARGET = path.join(ROOT, 'target', 'pack-test');

test('npm pack → npm install in an app → a subscription works', { timeout: 900_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'subwire-pack-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const [packed] = JSON.parse(execFileSync(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }));
  const files = packed.files.map((f) => f.path);
  for (const needed of ['package.json', 'index.js', 'index.d.ts', 'Cargo.toml', 'Cargo.lock', 'build.rs', 'scripts/install.js', 'src/lib.rs', 'lib/use-server.js', 'benchmark/loadgen/Cargo.toml', 'benchmark/floor/Cargo.toml']) {
    assert.ok(files.includes(needed), `the tarball has ${needed}`);
  }
  assert.ok(!files.some((f) => f.startsWith('native/') || f.startsWith('target/') || f.startsWith('node_modules/')), 'no binary, build output or node_modules in the tarball');
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.ok(manifest.dependencies['@napi-rs/cli'], 'the build tool is a dependency, not only a devDependency');

  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  const graphqlVersion = require('graphql/package.json').version;
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'pack-test-app', private: true, dependencies: { subwire: `file:${path.join(dir, packed.filename)}`, graphql: graphqlVersion } }),
  );
  const install = spawnSync(NPM, ['install', '--no-audit', '--no-fund', '--foreground-scripts'], {
    cwd: app,
    encoding: 'utf8',
    env: { ...process.env, CARGO_TARGET_DIR: TARGET },
  });
  assert.equal(install.status, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
  const installed = path.join(app, 'node_modules', 'subwire');
  assert.ok(fs.readdirSync(path.join(installed, 'native')).some((f) => f.endsWith('.node')), 'the install built the addon');

  // The app's own process, its own subwire and graphql; the client side is this repo's.
  const server = spawn(
    process.execPath,
    [
      '-e',
      `
      const { useServer, PubSub } = require('subwire');
      const { buildSchema } = require('graphql');
      const pubsub = new PubSub();
      const schema = buildSchema('type Query { ok: Boolean } type Subscription { hello: String }');
      const roots = { subscription: { hello: () => pubsub.asyncIterableIterator('hello') } };
      const server = useServer({ schema, roots, onSubscribe: undefined }, { port: 0, host: '127.0.0.1', path: '/graphql' });
      setInterval(() => pubsub.publish('hello', { hello: 'from the packed subwire' }), 50);
      console.log(JSON.stringify({ port: server.address().port, from: require.resolve('subwire') }));
      `,
    ],
    { cwd: app, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => server.kill('SIGKILL'));
  const ready = await new Promise((resolve, reject) => {
    server.once('exit', (code) => reject(new Error(`the app exited with ${code}`)));
    server.stdout.once('data', (d) => resolve(JSON.parse(String(d))));
  });
  assert.ok(ready.from.startsWith(installed), `the app loaded the installed copy (${ready.from})`);

  const { createClient } = require('graphql-ws');
  const WebSocket = require('ws');
  const client = createClient({ url: `ws://127.0.0.1:${ready.port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  t.after(() => client.dispose());
  const value = await new Promise((resolve, reject) => {
    const stop = client.subscribe(
      { query: 'subscription { hello }' },
      {
        next: (msg) => {
          stop();
          resolve(msg);
        },
        error: reject,
        complete: () => {},
      },
    );
  });
  assert.deepEqual(value, { data: { hello: 'from the packed subwire' } });

  // Without Rust: the same installed package's install step, with node but no cargo on
  // the PATH and no binary, fails with what to install.
  fs.rmSync(path.join(installed, 'native'), { recursive: true, force: true });
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  const noRust = spawnSync(path.join(bin, 'node'), [path.join(installed, 'scripts', 'install.js')], {
    cwd: installed,
    encoding: 'utf8',
    env: { PATH: bin, HOME: dir },
  });
  assert.equal(noRust.status, 1, noRust.stderr);
  assert.match(noRust.stderr, /`cargo` was not found on the PATH/);
  assert.match(noRust.stderr, /https:\/\/rustup\.rs/);
  assert.match(noRust.stderr, /Rust 1\.88\.0 or newer/);
  assert.doesNotMatch(noRust.stderr, /\n\s+at /, 'a message, not a stack trace');
});
