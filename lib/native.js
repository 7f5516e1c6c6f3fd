'use strict';
/**
 * The native addon: where its file is (`native/subwire.<platform>.node`, built from src/ by
 * `npm install`) and loading it. lib/transport.js loads it when subwire is required;
 * scripts/install.js asks for the file name before it builds.
 * @module subwire/lib/native
 */

const path = require('node:path');
const fs = require('node:fs');
const { codedError } = require('./errors.js');

/**
 * napi-rs's platform suffix of the native addon's file name, e.g. `linux-x64-gnu`.
 * @returns {string}
 */
function platformTriple() {
  const { platform, arch } = process;
  if (platform !== 'linux') return `${platform}-${arch}`;
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  const glibc = /** @type {any} */ (report)?.header?.glibcVersionRuntime;
  return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`;
}

/**
 * The addon's exports (types: native/native.d.ts, which the build writes beside it), or
 * `ERR_SUBWIRE_NOT_BUILT` when the file is missing.
 * @returns {typeof import('../native/native')}
 */
function loadNative() {
  const file = path.join(__dirname, '..', 'native', `subwire.${platformTriple()}.node`);
  if (!fs.existsSync(file)) {
    throw codedError(
      'ERR_SUBWIRE_NOT_BUILT',
      `subwire's native addon is not built (${path.relative(process.cwd(), file) || file} is missing). ` +
        'Run `npm install` (or `npm run build`) in the subwire package; building needs Rust (cargo) on the PATH: https://rustup.rs',
    );
  }
  return require(file);
}

module.exports = { platformTriple, loadNative };
