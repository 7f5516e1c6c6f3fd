'use strict';
/**
 * A bounded LRU of parsed GraphQL documents, and their validation results per schema.
 *
 * Used by lib/operation.js (one per server) when the app keeps graphql-js's own `parse` and
 * `validate`: a reconnect storm of 100k identical subscribes then parses and validates
 * once, not 100k times. An entry holds the document and its normalized text
 * (`print(document)`: whitespace and comments do not matter). Validation results hang off the document and the
 * schema weakly, so they go when either goes.
 * @module subwire/lib/doc-cache
 */

/** Documents kept. Query texts are client input: the bound keeps memory bounded. */
const MAX_ENTRIES = 1000;
/** Longer query texts are parsed every time rather than kept. */
const MAX_QUERY_BYTES = 64 * 1024;

/**
 * @typedef {{ document: import('graphql').DocumentNode, normalized: string }} ParsedDoc
 */

class DocCache {
  /** @param {typeof import('graphql')} graphql @param {number} [max] */
  constructor(graphql, max = MAX_ENTRIES) {
    this.graphql = graphql;
    this.max = max;
    /** query text → parsed document, least recently used first. @type {Map<string, ParsedDoc>} */
    this.docs = new Map();
    /** schema → document → validation errors; entries go with their document. @type {WeakMap<object, WeakMap<object, readonly any[]>>} */
    this.validated = new WeakMap();
    this.hits = 0;
    this.misses = 0;
  }

  /**
   * The parsed document for `query`. Throws what `parse` throws (a GraphQLError for a
   * syntax error), as an uncached parse would; failures are not kept.
   * @param {string} query @returns {ParsedDoc}
   */
  parse(query) {
    const hit = typeof query === 'string' ? this.docs.get(query) : undefined;
    if (hit) {
      // Refresh: a Map iterates in insertion order, so the first key is the least recent.
      this.docs.delete(query);
      this.docs.set(query, hit);
      this.hits++;
      return hit;
    }
    this.misses++;
    const document = this.graphql.parse(query);
    /** @type {ParsedDoc} */
    const entry = { document, normalized: this.graphql.print(document) };
    if (typeof query === 'string' && query.length <= MAX_QUERY_BYTES) {
      this.docs.set(query, entry);
      if (this.docs.size > this.max) this.docs.delete(/** @type {string} */ (this.docs.keys().next().value));
    }
    return entry;
  }

  /**
   * graphql-js `validate(schema, document)`, remembered per schema and document.
   * @param {import('graphql').GraphQLSchema} schema @param {import('graphql').DocumentNode} document
   */
  validate(schema, document) {
    let bySchema = this.validated.get(schema);
    if (!bySchema) this.validated.set(schema, (bySchema = new WeakMap()));
    let errors = bySchema.get(document);
    if (!errors) {
      errors = this.graphql.validate(schema, document);
      bySchema.set(document, errors);
    }
    return errors;
  }
}

module.exports = { DocCache, MAX_ENTRIES };
