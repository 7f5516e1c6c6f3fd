'use strict';
// The document cache: a storm of identical subscribes parses and validates once; the cache
// stays bounded; whitespace-only differences normalize to one text.
const test = require('node:test');
const assert = require('node:assert/strict');
const graphql = require('graphql');
const { DocCache } = require('../lib/doc-cache.js');

/** graphql with counted parse/validate (the real ones underneath). */
function counted() {
  const calls = { parse: 0, validate: 0, print: 0 };
  const g = {
    parse: (q) => (calls.parse++, graphql.parse(q)),
    validate: (s, d) => (calls.validate++, graphql.validate(s, d)),
    print: (d) => (calls.print++, graphql.print(d)),
  };
  return { g, calls };
}

const schema = graphql.buildSchema('type Query { a: Int, b(x: Int): Int }');

test('100k identical queries: one parse, one validate', () => {
  const { g, calls } = counted();
  const cache = new DocCache(/** @type {any} */ (g));
  for (let i = 0; i < 100_000; i++) {
    const { document } = cache.parse('{ a }');
    assert.equal(cache.validate(schema, document).length, 0);
  }
  assert.deepEqual(calls, { parse: 1, validate: 1, print: 1 });
  assert.equal(cache.hits, 99_999);
});

test('validation is per schema; errors are kept too; syntax errors throw every time', () => {
  const { g, calls } = counted();
  const cache = new DocCache(/** @type {any} */ (g));
  const other = graphql.buildSchema('type Query { a: String }');
  const { document } = cache.parse('{ a b(x: "no") }');
  assert.equal(cache.validate(schema, document).length, 1);
  assert.equal(cache.validate(schema, document).length, 1);
  assert.equal(cache.validate(other, document).length, 1, 'b is not a field of the other schema');
  assert.equal(calls.validate, 2);
  for (let i = 0; i < 3; i++) assert.throws(() => cache.parse('{ a '), graphql.GraphQLError);
  assert.equal(calls.parse, 4, 'a failure is not cached');
});

test('bounded: least recently used texts go first; whitespace normalizes to one printed form', () => {
  const { g } = counted();
  const cache = new DocCache(/** @type {any} */ (g), 10);
  const hot = cache.parse('{ a }');
  for (let i = 0; i < 100; i++) {
    cache.parse(`{ b(x: ${i}) }`);
    cache.parse('{ a }'); // kept hot
  }
  assert.equal(cache.docs.size, 10);
  assert.equal(cache.parse('{ a }'), hot, 'the hot entry survived');
  assert.equal(cache.parse('# c\n{\n  a\n}').normalized, hot.normalized);
  assert.equal(cache.docs.has('{ b(x: 0) }'), false);
});
