#!/usr/bin/env node
'use strict';
/**
 * `npm install`'s step for subwire: make sure native/subwire.<platform>.node exists.
 *
 * - A binary for this platform already in native/ that loads: nothing to do.
 * - Otherwise build it from the Rust sources shipped in the package, with the napi-rs CLI
 *   from `dependencies` (never a download of a prebuilt binary).
 * - No Rust toolchain (or one older than Cargo.toml's `rust-version`): stop with a message
 *   that says what to install, and no stack trace.
 *
 * In a git checkout of subwire itself it always builds (cargo rebuilds only what changed),
 * so a binary left from older sources is never kept.
 * `SUBWIRE_SKIP_BUILD=1` skips the step (for packaging a prebuilt binary yourself).
 * Run by package.json's `install` script; `npm run build` forces a build.
 */

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { platformTriple } = require('../lib/native.js');

const ROOT = path.join(__dirname, '..');

/** @returns {number[]} the oldest Rust that builds subwire: Cargo.toml's `rust-version` */
function minRust() {
  let manifest = '';
  try {
    manifest = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8');
  } catch {
    // Reported by cargo itself below.
  }
  const m = /^rust-version\s*=\s*"(\d+)\.(\d+)(?:\.(\d+))?"/m.exec(manifest);
  // napi-rs 3 needs 1.88; the fallback only matters if the line is ever dropped.
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [1, 88, 0];
}

/** Prints `msg` and ends the install with exit code 1 (a message, not a stack trace). */
function fail(/** @type {string} */ msg) {
  process.stderr.write(`\nsubwire: ${msg}\n\n`);
  process.exit(1);
}

/** @returns {boolean} whether a binary for this platform is present and loads */
function prebuiltLoads() {
  const file = path.join(ROOT, 'native', `subwire.${platformTriple()}.node`);
  if (!fs.existsSync(file)) return false;
  try {
    require(file);
    return true;
  } catch (err) {
    const why = String(/** @type {Error} */ (err)?.message ?? err).split('\n')[0];
    process.stderr.write(`subwire: native/${path.basename(file)} does not load here (${why}); building from source\n`);
    return false;
  }
}

/** First line of a command's output, for messages. */
const firstLine = (/** @type {string | undefined} */ s) => (s ?? '').trim().split('\n')[0];

/**
 * The Rust on the PATH.
 * @returns {{ missing: string } | { broken: string } | { version: number[] }}
 */
function rustToolchain() {
  const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
  if (cargo.error) return { missing: 'cargo' };
  // rustup's proxy without a toolchain, for one, is on the PATH but fails.
  if (cargo.status !== 0) return { broken: `\`cargo --version\` failed: ${firstLine(cargo.stderr) || `exit code ${cargo.status}`}` };
  const rustc = spawnSync(process.env.RUSTC || 'rustc', ['--version'], { encoding: 'utf8' });
  if (rustc.error) return { missing: 'rustc' };
  const m = /rustc (\d+)\.(\d+)\.(\d+)/.exec(rustc.stdout ?? '');
  if (rustc.status !== 0 || !m) return { broken: `\`rustc --version\` failed: ${firstLine(rustc.stderr) || firstLine(rustc.stdout) || `exit code ${rustc.status}`}` };
  return { version: m.slice(1, 4).map(Number) };
}

/** @param {number[]} a @param {number[]} b @returns {boolean} a < b */
function older(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

function main() {
  if (process.env.SUBWIRE_SKIP_BUILD === '1') return;
  const force = process.argv.includes('--force') || fs.existsSync(path.join(ROOT, '.git'));
  if (!force && prebuiltLoads()) return;

  const min = minRust().join('.');
  const howTo =
    `Install Rust ${min} or newer with rustup (https://rustup.rs):\n` +
    "    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh\n" +
    'plus a C toolchain/linker (Debian/Ubuntu: apt-get install build-essential; Fedora: dnf install gcc; macOS: xcode-select --install),\n' +
    'make sure `cargo` is on the PATH (rustup puts it in ~/.cargo/bin), and run `npm install` again.';
  const why = `there is no prebuilt addon for ${platformTriple()} here, and building it from source needs Rust`;
  const rust = rustToolchain();
  if ('missing' in rust) fail(`${why}, but \`${rust.missing}\` was not found on the PATH.\n${howTo}`);
  if ('broken' in rust) fail(`${why}, but ${rust.broken}\nWith rustup: \`rustup default stable\`. Otherwise:\n${howTo}`);
  if (older(rust.version, minRust())) {
    fail(`building the addon needs Rust ${min} or newer; this machine has ${rust.version.join('.')}.\nUpdate with \`rustup update stable\`, or:\n${howTo}`);
  }

  let cli = '';
  try {
    const manifest = require.resolve('@napi-rs/cli/package.json', { paths: [ROOT] });
    const { bin } = require(manifest);
    cli = path.join(path.dirname(manifest), typeof bin === 'string' ? bin : bin.napi);
  } catch {
    fail("the napi-rs CLI (@napi-rs/cli, one of subwire's dependencies) is missing: reinstall without --omit=prod.");
  }
  const args = [cli, 'build', '--platform', '--release', '--no-js', '--output-dir', 'native', '--dts', 'native.d.ts'];
  const run = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  if (run.error || run.status !== 0) {
    fail(
      `building the native addon failed (${run.error ? run.error.message : run.signal ? `signal ${run.signal}` : `exit code ${run.status}`}); the compiler's output is above.\n` +
        'A "linker `cc` not found" error means the C toolchain is missing (Debian/Ubuntu: apt-get install build-essential).',
    );
  }
}

main();
