// Gets a managed-identity token through the identity component and prints when it
// expires (never the token). The environment says where tokens come from, as on Azure:
// IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service; what `cargo run -p entra-emulator`
// prints), or IMDS by default.
//
//   node token.js [scope]

import { instantiateIdentity } from './identity.js';

const scope = process.argv[2] ?? 'https://vault.azure.net/.default';
const { Credential } = await instantiateIdentity();
try {
  const credential = Credential.managedIdentity({ clientCapabilities: [] });
  const token = credential.getToken({ scopes: [scope], forceRefresh: false });
  const at = (secs) => new Date(Number(secs) * 1000).toISOString();
  console.log(`${credential.describe()}`);
  console.log(`token for ${scope}: expires ${at(token.expiresOn)}, refreshed after ${at(token.refreshOn)}`);
} catch (e) {
  // A result's `err` arrives as jco's ComponentError, the WIT variant in `payload`.
  if (e.payload === undefined) throw e;
  const { tag, val } = e.payload;
  const detail = typeof val === 'object' ? JSON.stringify(val, (_, v) => (typeof v === 'bigint' ? Number(v) : v)) : val;
  console.error(`no token (${tag}): ${detail}`);
  process.exit(1);
}
