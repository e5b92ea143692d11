"""The by-hand path, for comparison with app.py: the app imports
entra:identity/tokens itself, holds the token and puts it on its request. Built
against the `app-by-hand` world and composed with the identity component
(`entra-identity compose`). Composition (app.py as it is) is the recommended path."""

import asyncio
from urllib import parse

import poll_loop
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import tokens
from wit_world.imports.types import IncomingRequest, ResponseOutparam

from app import get, respond

VAULT_SCOPE = "https://vault.azure.net/.default"


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        loop = poll_loop.PollLoop()
        asyncio.set_event_loop(loop)
        loop.run_until_complete(route(request, response_out))


async def route(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    url = parse.urlparse(request.path_with_query() or "/")
    if url.path != "/secret":
        return await respond(response_out, 404, b"routes: /secret?url=<a Key Vault secret URL>\n", "text/plain")
    try:
        token = tokens.get_token([VAULT_SCOPE]).token
    except Err as e:
        # The component's errors never carry secrets.
        return await respond(response_out, 502, f"no token: {e.value}\n".encode(), "text/plain")
    status, body = await get(parse.parse_qs(url.query)["url"][0], (("authorization", f"Bearer {token}".encode()),))
    await respond(response_out, status, body, "text/plain")
