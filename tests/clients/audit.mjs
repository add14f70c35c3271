// graphql-http's audit of the GraphQL-over-HTTP spec against the live server: every
// MUST and SHOULD it checks. Prints each finding that is not "ok" and the counts; exits
// non-zero on any error or warning.
import { serverAudits } from 'graphql-http';

const url = `${process.env.MALLFORUM_URL}/graphql`;
const counts = { ok: 0, warn: 0, error: 0 };
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  counts[result.status] += 1;
  if (result.status !== 'ok') {
    console.log(`${result.status.toUpperCase()} ${audit.name}: ${result.reason}`);
  }
}
console.log(
  `graphql-http audit: ${counts.ok} passed, ${counts.error + counts.warn} failed ` +
    `(${counts.error} errors, ${counts.warn} warnings)`,
);
process.exit(counts.error + counts.warn === 0 ? 0 : 1);
