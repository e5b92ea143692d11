// Transpiles the identity component to ES modules with jco.
//
//   node transpile.js [component.wasm [out-dir]]
//
// Without a path it asks cargo for the component the Rust host embeds (the host's build
// script builds it and names it in ENTRA_IDENTITY_WASM), so Node runs the very same
// artifact: there is no JavaScript build of the component.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));

function fail(message) {
  console.error(`transpile: ${message}`);
  process.exit(1);
}

/** Builds the host (a no-op when it is up to date) and reads where its component is. */
function hostComponent() {
  const build = spawnSync(
    'cargo',
    ['build', '--package', 'entra-identity-host', '--message-format', 'json'],
    { cwd: join(here, '../..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 << 20 },
  );
  if (build.error) fail(`cannot run cargo: ${build.error.message}`);
  if (build.status !== 0) fail('cargo build --package entra-identity-host failed (see above)');
  for (const line of build.stdout.split('\n')) {
    if (!line.includes('"build-script-executed"')) continue;
    const message = JSON.parse(line);
    const wasm = message.env?.find(([name]) => name === 'ENTRA_IDENTITY_WASM');
    if (message.package_id.includes('entra-identity-host') && wasm) return wasm[1];
  }
  return fail("cargo built the host but did not say where its component is (ENTRA_IDENTITY_WASM)");
}

const [wasm = hostComponent(), out = join(here, 'generated')] = process.argv.slice(2);
const jco = join(here, 'node_modules/.bin/jco');
if (!existsSync(jco)) fail('jco is not installed: run `npm ci --prefix examples/node` (or scripts/test)');
const transpile = spawnSync(
  jco,
  [
    'transpile', resolve(wasm),
    '--out-dir', resolve(out),
    '--name', 'entra_identity',
    // Imports come from the caller's object (identity.js), not from module specifiers,
    // so the output works from any directory and each instance gets its own stores.
    '--instantiation', 'async',
    '--quiet',
  ],
  { stdio: 'inherit' },
);
if (transpile.error) fail(`cannot run jco: ${transpile.error.message}`);
if (transpile.status !== 0) fail(`jco transpile ${wasm} failed (see above)`);
console.error(`transpile: ${wasm} -> ${resolve(out)}`);
