// What the e2e test (tests/e2e/tests/all/node.rs) checks, as one JSON line on stdout.
// The test judges the facts against the emulator's recording; this only gathers them.
//
//   node facts.js <generated-dir> <failing-imds-url>
//
// Environment: the App Service endpoint and header, ENTRA_IDENTITY_CACHE_KEY.

import { createConfig, createKeyValue, instantiateIdentity } from './identity.js';

const [generated, failingImds] = process.argv.slice(2);
const SCOPE = 'https://vault.azure.net/.default';
const request = { scopes: [SCOPE], forceRefresh: false };
const keyValue = createKeyValue();
// Which settings the component asked wasi:config for (the cache key is not in its environment).
const configAsked = new Set();
const environment = createConfig();
const config = { ...environment, get: (key) => (configAsked.add(key), environment.get(key)) };

const { Credential } = await instantiateIdentity({ generated, keyValue, config });
const first = Credential.managedIdentity({ clientCapabilities: [] });
const token = first.getToken(request);
let sameToken = 0;
for (let i = 0; i < 1000; i++) {
  if (first.getToken(request).token === token.token) sameToken++;
}

// A second instance over the same store: the token comes out of it, decrypted.
const second = (await instantiateIdentity({ generated, keyValue })).Credential.managedIdentity({
  clientCapabilities: [],
});
const fromStore = second.getToken(request).token === token.token;

let failure;
try {
  Credential.managedIdentity({ source: 'imds', endpoint: failingImds, clientCapabilities: [] })
    .getToken(request);
  failure = { thrown: false };
} catch (e) {
  failure = {
    thrown: true,
    class: e.constructor.name,
    tag: e.payload?.tag,
    status: e.payload?.val?.status,
    message: e.message,
  };
}

const store = [...keyValue.snapshot('default')].map(([key, value]) => ({
  key,
  value: Buffer.from(value).toString('base64'),
}));

console.log(
  JSON.stringify({
    expiresOn: Number(token.expiresOn),
    tokenType: token.tokenType,
    sameToken,
    fromStore,
    failure,
    configAsked: [...configAsked],
    store,
  }),
);
