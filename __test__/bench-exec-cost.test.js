'use strict';
// benchmark/exec-cost.js (issue 17's execution costs) keeps running against lib/: it drives
// the executed group and the shared-trigger registry in process, and waits for every
// delivery of every event (a cohort that delivered to the wrong number of subscribers
// would leave it waiting). Small sizes: what it measures is not asserted here.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');

test('exec-cost runs every row to the end at a small size', () => {
  const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'benchmark', 'exec-cost.js'), '300', '2'], { encoding: 'utf8', timeout: 60000 });
  const rows = out.split('\n').filter((l) => /^\| [a-z]/.test(l) && !l.startsWith('| execution'));
  assert.deepEqual(rows.map((l) => l.split('|')[1].trim()), [
    'graphql-js execute()', 'graphql-jit, bare loop', 'graphql-jit, author sync', 'subwire executed group', 'subwire cohorts (1000 users)',
  ]);
  for (const l of rows) assert.match(l.split('|')[2], /^\s*\d+\.\d+\s*$/);
});
