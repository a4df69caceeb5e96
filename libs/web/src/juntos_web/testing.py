"""Test helpers every service uses: clients with minted tokens and the role × territory matrix.

The matrix exists because scope bugs are silent: a MUNICIPAL coordinator who reads a
neighbouring municipality gets a 200 that looks perfectly normal. Each route's test states,
for a standard set of callers inside and outside the data's territory, the status each must get.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from juntos_events import json_types
from pydantic import TypeAdapter

from juntos_web.app import routes_without_roles
from juntos_web.auth import ALL_ROLES, Principal, Role, mint_token
from juntos_web.settings import ServiceSettings

TEST_JWT_SECRET = "juntos-tests-only-hs256-secret-0123456789abcdef"
"""Long enough for HS256 (PyJWT warns under 32 bytes); never used outside tests."""

TEST_ENTIDAD = "entidad-prueba"

Scope = str | None
Caller = tuple[Role, Scope]
AccessTable = Mapping[Caller, int]


def closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released), for 'dependency down' tests."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def settings_for_tests(service_name: str, **values: Any) -> ServiceSettings:
    """Settings with the test secret; database and broker default to closed ports."""
    defaults: dict[str, Any] = {
        "service_name": service_name,
        "jwt_secret": TEST_JWT_SECRET,
        "database_url": f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/postgres",
        "kafka_bootstrap": f"127.0.0.1:{closed_port()}",
        "readiness_timeout_seconds": 1.0,
        "run_backbone": False,
    }
    return ServiceSettings(**(defaults | values))


def bearer(
    app: FastAPI,
    role: Role,
    scope: Scope = None,
    *,
    sub: str | None = None,
    expires_in: timedelta = timedelta(minutes=10),
) -> dict[str, str]:
    """Authorization header with a token the app accepts, for `role` limited to `scope`."""
    token = mint_token(
        app.state.settings, Principal.scoped(role, scope, sub=sub), expires_in=expires_in
    )
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def service_client(
    app: FastAPI, role: Role | None = None, scope: Scope = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client with the app's lifespan running; authenticated when `role` is set."""
    # a consumer leaving its group mid-join can take seconds: more than the default 5
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        headers = bearer(app, role, scope) if role is not None else {}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as client:
            yield client


def _sibling_municipio(code: str) -> str:
    last = int(code[2:])
    return f"{code[:2]}{last + 1 if last < 999 else last - 1:03d}"


def _other_departamento(code: str) -> str:
    return f"{(int(code) + 1) % 100:02d}"


def sample_callers(municipio: str = "05001") -> list[Caller]:
    """One caller per role inside `municipio`'s territory and one outside, plus an entity."""
    dpto = municipio[:2]
    sibling = _sibling_municipio(municipio)
    return [
        (Role.NACIONAL, None),
        (Role.DEPARTAMENTAL, dpto),
        (Role.DEPARTAMENTAL, _other_departamento(dpto)),
        (Role.MUNICIPAL, municipio),
        (Role.MUNICIPAL, sibling),
        (Role.MUNICIPAL, _other_departamento(dpto) + municipio[2:]),
        (Role.COGESTOR, municipio),
        (Role.COGESTOR, sibling),
        (Role.ENTIDAD, TEST_ENTIDAD),
    ]


def uniform_access(status: int, municipio: str = "05001") -> dict[Caller, int]:
    """Every sample caller gets `status` (a route any role may call, whatever its scope)."""
    return dict.fromkeys(sample_callers(municipio), status)


def municipio_access(
    municipio: str,
    *,
    roles: Iterable[Role] = ALL_ROLES,
    ok: int = 200,
    outside: int = 403,
    allow_entidad: bool = False,
) -> dict[Caller, int]:
    """Expected statuses for a route over data of `municipio`, mirroring `can_see_municipio`.

    Callers whose scope covers the municipality get `ok`, others `outside`; roles the route
    does not admit get 403 whatever their scope.
    """
    admitted = frozenset(roles)
    table: dict[Caller, int] = {}
    for role, scope in sample_callers(municipio):
        inside = Principal.scoped(role, scope).can_see_municipio(
            municipio, allow_entidad=allow_entidad
        )
        table[role, scope] = 403 if role not in admitted else ok if inside else outside
    return table


async def assert_access_matrix(
    client: httpx.AsyncClient,
    app: FastAPI,
    method: str,
    url: str,
    table: AccessTable,
    *,
    anonymous: int = 401,
    **request: Any,
) -> None:
    """Call `method url` as each caller of `table` (and anonymously) and compare statuses.

    The table must name every role, so a new role or a forgotten row fails loudly; all
    mismatches are reported together. Only a `public()` route expects anything but 401 from
    an anonymous caller.
    """
    assert "authorization" not in client.headers, "use an anonymous client for the matrix"
    forgotten = set(ALL_ROLES) - {role for role, _ in table}
    assert not forgotten, f"access table has no row for {sorted(forgotten)}"
    extra_headers: Mapping[str, str] = request.pop("headers", {})
    got: dict[str, tuple[int, int]] = {}
    anonymous_response = await client.request(method, url, headers=extra_headers, **request)
    got["anonymous"] = (anonymous, anonymous_response.status_code)
    for (role, scope), expected in table.items():
        headers = {**extra_headers, **bearer(app, role, scope)}
        response = await client.request(method, url, headers=headers, **request)
        got[f"{role}({scope or '*'})"] = (expected, response.status_code)
    wrong = {who: pair for who, pair in got.items() if pair[0] != pair[1]}
    assert not wrong, f"{method} {url}: " + "; ".join(
        f"{who} expected {want} got {status}" for who, (want, status) in wrong.items()
    )


def assert_every_route_declares_roles(app: FastAPI) -> None:
    """Fails naming each route that is neither public nor guarded by `require(...)`."""
    missing = routes_without_roles(app)
    assert not missing, f"routes without require(...): {missing}"


def lax_body_fields(app: FastAPI) -> list[str]:
    """Request-body scalars that do not take exactly JSON Schema's values of their type.

    FastAPI validates a parsed body in pydantic's Python mode, whose lax rules turn `true` into 1
    and `"5"` into 5, while a plain strict int refuses `3.0`, a JSON Schema integer: such fields
    must be `JsonInt`, `JsonNumber` or `JsonBool` (juntos_events.json_types).
    """
    found: set[str] = set()
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        for param in dependant.body_params if dependant else ():
            core = TypeAdapter(param.field_info.annotation).core_schema
            for where in _lax_scalars(core, param.name, {}, set()):
                found.add(f"{route.path}: {where}")
    return sorted(found)


def _lax_scalars(
    node: object, where: str, definitions: dict[str, Any], seen: set[str]
) -> Iterator[str]:
    """Walks a pydantic-core schema; `where` is the last model and field on the way."""
    if isinstance(node, list):
        for item in node:
            yield from _lax_scalars(item, where, definitions, seen)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "definitions":
        definitions.update({d["ref"]: d for d in node["definitions"]})
    if kind == "definition-ref":
        ref = node["schema_ref"]
        if ref not in seen:
            seen.add(ref)
            yield from _lax_scalars(definitions[ref], where, definitions, seen)
        return
    if _is_json_int(node):
        return
    if kind in ("int", "float", "bool") and not node.get("strict"):
        yield f"{where} (lax {kind})"
    elif kind == "int":
        yield f"{where} (refuses integral floats such as 3.0)"
    if kind == "model":
        where = node["cls"].__name__
    for key, child in node.items():
        if key in ("metadata", "serialization", "cls"):
            continue
        if kind == "model-fields" and key == "fields":
            for name, field in child.items():
                yield from _lax_scalars(field, f"{where}.{name}", definitions, seen)
        else:
            yield from _lax_scalars(child, where, definitions, seen)


def _is_json_int(node: dict[str, Any]) -> bool:
    if node.get("type") != "function-before":
        return False
    function, inner = node["function"]["function"], node["schema"]
    return (
        getattr(function, "__module__", None) == json_types.__name__
        and inner.get("type") == "int"
        and inner.get("strict") is True
    )


NON_SCHEMA_KEYWORDS = frozenset({"ge", "gt", "le", "lt"})


def non_schema_keywords(schema: object, where: str = "#") -> list[str]:
    """pydantic's constraint names left in an OpenAPI document (it writes them when it cannot
    push a bound into the type, e.g. beside a union): no client or fuzzer reads them."""
    if isinstance(schema, list):
        return [
            w for i, item in enumerate(schema) for w in non_schema_keywords(item, f"{where}/{i}")
        ]
    if not isinstance(schema, dict):
        return []
    found = [f"{where}/{key}" for key in schema if key in NON_SCHEMA_KEYWORDS]
    for key, child in schema.items():
        if key == "properties" and isinstance(child, dict):  # keys are field names there
            for name, sub in child.items():
                found += non_schema_keywords(sub, f"{where}/properties/{name}")
        else:
            found += non_schema_keywords(child, f"{where}/{key}")
    return found


def assert_request_bodies_are_strict(app: FastAPI) -> None:
    lax = lax_body_fields(app)
    assert not lax, f"request-body fields that are not JSON-typed (use JsonInt, ...): {lax}"
    unread = non_schema_keywords(app.openapi())
    assert not unread, f"bounds the OpenAPI document gives as pydantic names: {unread}"
