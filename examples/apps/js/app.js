// An HTTP app with no identity code: whatever token its requests carry is put
// there by whoever composes or hosts it, never by the app.
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname === '/headers') {
    return Response.json(Object.fromEntries(request.headers));
  }
  if (url.pathname === '/secret') {
    // The caller names the secret's URL: this example has no secrets of its own to
    // leak, and its tests point it at the emulator's vault.
    const upstream = await fetch(url.searchParams.get('url'));
    return new Response(await upstream.text(), {
      status: upstream.status,
      headers: { 'content-type': 'text/plain' },
    });
  }
  return new Response('routes: /secret?url=<a Key Vault secret URL>, /headers\n', { status: 404 });
}
