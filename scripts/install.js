#!/usr/bin/env node
'use strict';
/**
 * `npm install`'s step for subwire: make sure native/subwire.<platform>.node exists.
 *
 * - A binary for this platform already in native/ that loads: nothing to do.
 * - Otherwise build it from the Rust sources shipped in the package, with the napi-rs CLI
 *   from `dependencies` (never a download of a prebuilt binary).
 * - No Rust toolchain (or one older than the crate needs): stop with a message that says
 *   what to install, and no stack trace.
 *
 * In a git checkout of subwire itself it always builds (cargo rebuilds only what changed),
 * so a binary left from older sources is never kept.
 * `SUBWIRE_SKIP_BUILD=1` skips the step (for packaging a prebuilt binary yourself).
 * Run by package.json's `install` script; `npm run build` forces a build.
 */

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
/** The oldest Rust that builds subwire and its dependencies (napi-rs 3 needs 1.88). */
const MIN_RUST = [1, 88, 0];

/** @returns {string} napi-rs's platform suffix, as index.js computes it */
function platformTriple() {
  const { platform, arch } = process;
  if (platform !== 'linux') return `${platform}-${arch}`;
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  return `linux-${arch}-${report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}

/** @param {string} msg */
function fail(msg) {
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
    process.stderr.write(`subwire: native/${path.basename(file)} does not load here (${/** @type {Error} */ (err).message.split('\n')[0]}); building from source\n`);
    return false;
  }
}

/** @returns {number[] | null} the version of `rustc` on the PATH, or null without one */
function rustVersion() {
  const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
  if (cargo.error || cargo.status !== 0) return null;
  const rustc = spawnSync('rustc', ['--version'], { encoding: 'utf8' });
  const m = /rustc (\d+)\.(\d+)\.(\d+)/.exec(rustc.stdout ?? '');
  return m ? m.slice(1, 4).map(Number) : null;
}

/** @param {number[]} a @param {number[]} b */
function older(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

function main() {
  if (process.env.SUBWIRE_SKIP_BUILD === '1') return;
  const force = process.argv.includes('--force') || fs.existsSync(path.join(ROOT, '.git'));
  if (!force && prebuiltLoads()) return;
  const min = MIN_RUST.join('.');
  const version = rustVersion();
  const howTo =
    `Install Rust ${min} or newer with rustup (https://rustup.rs):\n` +
    '    curl --proto \'=https\' --tlsv1.2 -sSf https://sh.rustup.rs | sh\n' +
    'plus a C toolchain for linking (Debian/Ubuntu: apt-get install build-essential; macOS: xcode-select --install),\n' +
    'make sure `cargo` is on the PATH, and run `npm install` again.';
  if (!version) {
    fail(`no prebuilt addon for ${platformTriple()}, and building it from source needs Rust, but \`cargo\` was not found on the PATH.\n${howTo}`);
  }
  if (older(version, MIN_RUST)) {
    fail(`building the addon needs Rust ${min} or newer; this machine has ${version.join('.')}.\nUpdate with \`rustup update stable\`, or:\n${howTo}`);
  }
  let cli;
  try {
    const manifest = require.resolve('@napi-rs/cli/package.json', { paths: [ROOT] });
    cli = path.join(path.dirname(manifest), require(manifest).bin.napi);
  } catch {
    fail('the napi-rs CLI (@napi-rs/cli, one of subwire\'s dependencies) is missing: reinstall subwire without --omit=prod or --ignore-scripts.');
  }
  const args = [cli, 'build', '--platform', '--release', '--no-js', '--output-dir', 'native', '--dts', 'native.d.ts'];
  const run = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  if (run.error || run.status !== 0) {
    fail(
      `building the native addon failed (${run.error ? run.error.message : `exit code ${run.status}`}); the compiler's output is above.\n` +
        'A linker error usually means the C toolchain is missing (Debian/Ubuntu: apt-get install build-essential).',
    );
  }
}

main();
