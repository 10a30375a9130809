// Usage: node audit.mjs URL TOKEN
// Runs every graphql-http audit against URL (sending the bearer token), then validates the
// introspection result with graphql-js buildClientSchema. Exits non-zero when a MUST audit
// fails or the schema does not validate.
import { auditServer } from 'graphql-http';
import { buildClientSchema, getIntrospectionQuery, validateSchema } from 'graphql';

const [url, token] = process.argv.slice(2);
const authed = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = await auditServer({ url, fetchFn: authed });
let mustFailures = 0;
for (const r of results) {
  const level = r.name.split(' ')[0];
  if (r.status !== 'ok') {
    console.log(`${r.status.toUpperCase()} ${r.name}: ${r.reason}`);
    if (level === 'MUST' && r.status === 'error') mustFailures++;
  }
}
const counts = results.reduce((acc, r) => ({ ...acc, [r.status]: (acc[r.status] || 0) + 1 }), {});
console.log(`graphql-http audit: ${JSON.stringify(counts)}, MUST failures: ${mustFailures}`);

const res = await authed(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
  body: JSON.stringify({ query: getIntrospectionQuery() }),
});
const body = await res.json();
const schema = buildClientSchema(body.data);
const errors = validateSchema(schema);
console.log(`buildClientSchema: ${Object.keys(schema.getTypeMap()).length} types, ${errors.length} validation errors`);
for (const e of errors) console.log(`  ${e.message}`);
process.exit(mustFailures === 0 && errors.length === 0 ? 0 : 1);
