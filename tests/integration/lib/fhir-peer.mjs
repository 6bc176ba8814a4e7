// One FHIR operation with fhir-kit-client (an independent FHIR client from npm), run in its own
// process so that Node's fetch trusts the test server's certificate (NODE_EXTRA_CA_CERTS is read
// at start-up only). Usage: node fhir-peer.mjs BASE_URL TOKEN OP JSON_ARGS
// Prints {ok: true, result} or {ok: false, status, outcome} on standard output.
import { Client } from 'fhir-kit-client';

const [baseUrl, bearerToken, op, argsText] = process.argv.slice(2);
const args = JSON.parse(argsText || '{}');
const client = new Client({ baseUrl, bearerToken });
try {
  let result;
  if (op === 'capabilities') result = await client.capabilityStatement();
  else if (op === 'create') result = await client.create({ resourceType: 'Appointment', body: args.body });
  else if (op === 'read') result = await client.read({ resourceType: 'Appointment', id: args.id });
  else if (op === 'update') result = await client.update({ resourceType: 'Appointment', id: args.id, body: args.body });
  else if (op === 'search') result = await client.search({ resourceType: 'Appointment', searchParams: args.params });
  else throw new Error(`unknown op ${op}`);
  process.stdout.write(JSON.stringify({ ok: true, result }));
} catch (e) {
  const status = e.response?.status ?? null;
  process.stdout.write(JSON.stringify({ ok: false, status, outcome: e.response?.data ?? null, message: String(e.message || e) }));
}
