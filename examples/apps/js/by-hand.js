// The by-hand path, for comparison with app.js: the app imports
// entra:identity/tokens itself, holds the token and puts it on its request. Built
// against the `app-by-hand` world and composed with the identity component
// (`entra-identity compose`). Composition (app.js as it is) is the recommended path.
import { getToken } from 'entra:identity/tokens@0.1.0';

const VAULT_SCOPE = 'https://vault.azure.net/.default';

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname !== '/secret') {
    return new Response('routes: /secret?url=<a Key Vault secret URL>\n', { status: 404 });
  }
  let token;
  try {
    token = getToken([VAULT_SCOPE]).token;
  } catch (e) {
    // The component's errors never carry secrets.
    return new Response(`no token: ${JSON.stringify(e.payload ?? String(e))}\n`, { status: 502 });
  }
  const upstream = await fetch(url.searchParams.get('url'), {
    headers: { authorization: `Bearer ${token}` },
  });
  return new Response(await upstream.text(), { status: upstream.status });
}
