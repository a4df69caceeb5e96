"""JSON bodies that escape an unpaired UTF-16 surrogate are refused with a 400, not a 500.

JSON may spell `"\\ud800"`, which Python decodes to a string no UTF-8 encoder accepts. pydantic
refuses it in `str` fields (422), but not in free values (`Any`, `dict[str, Any]`), and
PostgreSQL refuses the escape in JSONB: a 500 after part of the request had run. It is not
text; the caller is told so, the same way whatever the field, before any route code runs. Only
`application/json` bodies are looked at (the framework buffers those anyway; streamed NDJSON
and CSV uploads pass untouched), and only those whose bytes contain such an escape are decoded
a second time.
"""

from __future__ import annotations

import json
import re

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from juntos_web.problems import Problem

_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def has_unpaired_surrogate(body: bytes) -> bool:
    """True if `body` is JSON whose strings hold a surrogate not paired into a code point."""
    if not _ESCAPE.search(body):
        return False
    try:
        decoded = json.loads(body)
    except ValueError:
        return False  # not JSON: the route's own validation says so
    try:
        json.dumps(decoded, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


class UnpairedSurrogateMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if has_unpaired_surrogate(body):
            problem = Problem(
                400,
                "The JSON body escapes an unpaired UTF-16 surrogate (\\ud800-\\udfff): it is not"
                " text. Send characters as UTF-8, or as a surrogate pair for one code point.",
                title="Body is not valid text",
                type="unpaired-surrogate",
            )
            await problem.response(Request(scope))(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
