"""An HTTP app with no identity code: whatever token its requests carry is put
there by whoever composes or hosts it, never by the app."""

import asyncio
import json
from urllib import parse

import poll_loop  # bundled with componentize-py: asyncio over wasi:io/poll
from componentize_py_types import Ok
from wit_world import exports
from wit_world.imports.types import (
    Fields, IncomingRequest, OutgoingRequest, OutgoingResponse,
    ResponseOutparam, Scheme_Http, Scheme_Https,
)


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        loop = poll_loop.PollLoop()
        asyncio.set_event_loop(loop)
        loop.run_until_complete(route(request, response_out))


async def route(request: IncomingRequest, response_out: ResponseOutparam) -> None:
    url = parse.urlparse(request.path_with_query() or "/")
    if url.path == "/headers":
        received = {k: v.decode() for k, v in request.headers().entries()}
        return await respond(response_out, 200, json.dumps(received).encode(), "application/json")
    if url.path == "/secret":
        # The caller names the secret's URL: this example has no secrets of its own
        # to leak, and its tests point it at the emulator's vault.
        status, body = await get(parse.parse_qs(url.query)["url"][0])
        return await respond(response_out, status, body, "text/plain")
    await respond(response_out, 404, b"routes: /secret?url=<a Key Vault secret URL>, /headers\n", "text/plain")


async def get(target: str, headers: tuple[tuple[str, bytes], ...] = ()) -> tuple[int, bytes]:
    target = parse.urlparse(target)
    request = OutgoingRequest(Fields.from_list(list(headers)))
    request.set_scheme(Scheme_Https() if target.scheme == "https" else Scheme_Http())
    request.set_authority(target.netloc)
    request.set_path_with_query(target.path + ("?" + target.query if target.query else ""))
    response = await poll_loop.send(request)
    stream, body = poll_loop.Stream(response.consume()), b""
    while (chunk := await stream.next()) is not None:
        body += chunk
    return response.status(), body


async def respond(response_out: ResponseOutparam, status: int, body: bytes, content_type: str) -> None:
    response = OutgoingResponse(Fields.from_list([("content-type", content_type.encode())]))
    response.set_status_code(status)
    sink = poll_loop.Sink(response.body())
    ResponseOutparam.set(response_out, Ok(response))
    await sink.send(body)
    sink.close()
