// Instantiates the transpiled identity component (`jco transpile --instantiation async`,
// see transpile.js) with Node's WASI shim, the key-value store and the config store.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';
import { createConfig } from './config.js';
import { createKeyValue } from './keyvalue.js';

export { createConfig, createKeyValue };

/** The directory `npm run transpile` writes to. */
export const GENERATED = new URL('./generated/', import.meta.url).pathname;

// The cache key is a secret: it reaches the component through wasi:config only, not in
// the environment the component sees (which a panic message or a debug dump could list).
const SECRETS = new Set(['ENTRA_IDENTITY_CACHE_KEY']);

/**
 * One instance of the component; its `credentials` export holds `Credential`. Instances
 * given the same `keyValue` share the token cache, as instances of a deployment do.
 */
export async function instantiateIdentity({
  generated = GENERATED,
  env = process.env,
  keyValue = createKeyValue(),
  config = createConfig(env),
} = {}) {
  const module = join(generated, 'entra_identity.js');
  if (!existsSync(module)) {
    throw new Error(`${module} is missing: transpile the component first (npm run transpile --prefix examples/node)`);
  }
  const { instantiate } = await import(pathToFileURL(module).href);
  const wasi = new WASIShim({
    sandbox: {
      env: Object.fromEntries(Object.entries(env).filter(([name]) => !SECRETS.has(name))),
      // Managed identity needs no files: the component gets no view of this machine's.
      preopens: {},
    },
  });
  const imports = {
    ...wasi.getImportObject(),
    'wasi:keyvalue/store': keyValue.store,
    'wasi:keyvalue/atomics': keyValue.atomics,
    'wasi:config/store': config,
  };
  const compile = async (name) => WebAssembly.compile(await readFile(join(generated, name)));
  const instance = await instantiate(compile, imports);
  return instance.credentials;
}
