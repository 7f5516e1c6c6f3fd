'use strict';
// subwire installed the way an app installs it: from the tarball `npm pack` makes, built
// from source by its install script, then serving a subscription to graphql-ws's client.
// And without Rust on the PATH, that install step stops with what to install.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// The packed crate builds in the repo's own target dir, so the Rust dependencies that
// `npm install` compiled there are reused and only subwire itself compiles (a cold build
// is ~45 s on 2 cores). The repo's native/ is left alone: napi copies the result into
// the app's copy of the package. (The repo's next build relinks subwire once.)
const TARGET = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');

/** Every file under `dir` (relative to ROOT, with `/`), skipping editor and OS litter. */
function filesUnder(dir) {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !/^\.|~$|\.swp$/.test(e.name))
    .map((e) => path.relative(ROOT, path.join(e.parentPath ?? e.path, e.name)).split(path.sep).join('/'));
}

/** What `cargo build` in the unpacked package reads: manifests, lock, build script, sources. */
function buildInputs() {
  const manifest = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8');
  const members = /\[workspace\][^[]*?members\s*=\s*\[([^\]]*)\]/.exec(manifest);
  assert.ok(members, 'Cargo.toml has [workspace] members');
  const needed = ['Cargo.toml', 'Cargo.lock', 'build.rs', ...filesUnder('src')];
  for (const [, member] of members[1].matchAll(/"([^"]+)"/g)) {
    if (member === '.') continue;
    needed.push(`${member}/Cargo.toml`, ...filesUnder(`${member}/src`));
  }
  for (const [, bench] of manifest.matchAll(/\[\[bench\]\]\s*name\s*=\s*"([^"]+)"/g)) needed.push(`benches/${bench}.rs`);
  return needed;
}

test('npm pack → npm install in an app builds from source; a subscription works; no Rust → what to install', { timeout: 600_000 }, async (t) => {
  const started = Date.now();
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'subwire-pack-')));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const [packed] = JSON.parse(execFileSync(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }));
  const files = new Set(packed.files.map((f) => f.path));

  await t.test('the tarball has the sources the build needs, and no binary or build output', () => {
    for (const needed of ['package.json', 'index.js', 'index.d.ts', 'scripts/install.js', 'lib/use-server.js', ...buildInputs()]) {
      assert.ok(files.has(needed), `the tarball has ${needed}`);
    }
    const unwanted = [...files].filter((f) => /\.node$/.test(f) || /^(native|target|node_modules)\//.test(f));
    assert.deepEqual(unwanted, [], 'no binary, build output or node_modules in the tarball');
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.ok(manifest.dependencies['@napi-rs/cli'], 'the build tool is a dependency, not only a devDependency');
    assert.equal(manifest.scripts.install, 'node scripts/install.js');
  });

  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({
      name: 'pack-test-app',
      private: true,
      dependencies: { subwire: `file:${path.join(dir, packed.filename)}`, graphql: require('graphql/package.json').version },
    }),
  );
  const install = spawnSync(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'], {
    cwd: app,
    encoding: 'utf8',
    env: { ...process.env, CARGO_TARGET_DIR: TARGET },
  });
  assert.equal(install.status, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
  const installed = path.join(app, 'node_modules', 'subwire');
  const binaries = fs.readdirSync(path.join(installed, 'native')).filter((f) => f.endsWith('.node'));
  assert.equal(binaries.length, 1, 'the install built the addon into the installed copy');
  t.diagnostic(`packed, installed and built in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  await t.test("the app's require('subwire') serves a subscription to graphql-ws's createClient", async (t) => {
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
        const server = useServer({ schema, roots }, { port: 0, host: '127.0.0.1', path: '/graphql' });
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
    assert.ok(ready.from.startsWith(installed + path.sep), `the app loaded the installed copy (${ready.from})`);

    const { createClient } = require('graphql-ws');
    const WebSocket = require('ws');
    const client = createClient({ url: `ws://127.0.0.1:${ready.port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    t.after(() => client.dispose());
    const value = await new Promise((resolve, reject) => {
      const stop = client.subscribe(
        { query: 'subscription { hello }' },
        { next: (msg) => (stop(), resolve(msg)), error: reject, complete: () => {} },
      );
    });
    assert.deepEqual(value, { data: { hello: 'from the packed subwire' } });
  });

  // The installed package's install step again, with node but no cargo on the PATH.
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  const noRust = () =>
    spawnSync(path.join(bin, 'node'), [path.join(installed, 'scripts', 'install.js')], {
      cwd: installed,
      encoding: 'utf8',
      env: { PATH: bin, HOME: dir },
    });

  await t.test('no cargo, but the built binary is there and loads: nothing to do', () => {
    const run = noRust();
    assert.equal(run.status, 0, run.stderr);
  });

  await t.test('no cargo and no binary: exit 1 with what to install, no stack trace', () => {
    fs.rmSync(path.join(installed, 'native'), { recursive: true, force: true });
    const run = noRust();
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /no prebuilt addon for \S+/);
    assert.match(run.stderr, /`cargo` was not found on the PATH/);
    assert.match(run.stderr, /Rust 1\.88\.0 or newer/);
    assert.match(run.stderr, /https:\/\/rustup\.rs/);
    assert.match(run.stderr, /sh\.rustup\.rs \| sh/);
    assert.match(run.stderr, /C toolchain\/linker/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'a message, not a stack trace');
  });
});
