'use strict';
// A minimal makeExecutableSchema (SDL + a resolver map), so the example needs no
// @graphql-tools dependency: resolvers go onto the built schema's fields.
const { buildSchema } = require('graphql');

function makeExecutableSchema({ typeDefs, resolvers }) {
  const schema = buildSchema(typeDefs);
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    for (const [name, resolver] of Object.entries(fields)) {
      const field = type.getFields()[name];
      if (typeof resolver === 'function') field.resolve = resolver;
      else Object.assign(field, resolver);
    }
  }
  return schema;
}

module.exports = { makeExecutableSchema };
