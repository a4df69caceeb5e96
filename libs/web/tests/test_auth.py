"""Tokens, roles and territorial scope: who may call what, and see which municipality."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends, FastAPI
from juntos_web import (
    ALL_ROLES,
    Principal,
    Role,
    TokenError,
    TokenVerifier,
    create_service_app,
    mint_token,
    require,
)
from juntos_web.auth import TokenIssuer, public
from juntos_web.testing import (
    TEST_JWT_SECRET,
    assert_access_matrix,
    assert_every_route_declares_roles,
    municipio_access,
    service_client,
    settings_for_tests,
)

SETTINGS = settings_for_tests("demo")
COORDINATORS = (Role.NACIONAL, Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR)


def principal(role: Role, scope: str | None = None) -> Principal:
    return Principal.scoped(role, scope, sub="actor-1")


@pytest.mark.parametrize(
    ("role", "scope", "municipio", "visible"),
    [
        (Role.NACIONAL, None, "05001", True),
        (Role.NACIONAL, None, "99773", True),
        (Role.DEPARTAMENTAL, "05", "05001", True),
        (Role.DEPARTAMENTAL, "05", "05893", True),
        (Role.DEPARTAMENTAL, "05", "50001", False),  # Meta starts with 5, is not Antioquia
        (Role.DEPARTAMENTAL, "05", "08001", False),
        (Role.DEPARTAMENTAL, "50", "05001", False),
        (Role.DEPARTAMENTAL, "05", "05", False),  # a department code is no municipality
        (Role.DEPARTAMENTAL, "05", "0500", False),
        (Role.DEPARTAMENTAL, "05", "050011", False),
        (Role.MUNICIPAL, "05001", "05001", True),
        (Role.MUNICIPAL, "05001", "05002", False),
        (Role.MUNICIPAL, "05001", "50001", False),
        (Role.COGESTOR, "11001", "11001", True),
        (Role.COGESTOR, "11001", "11002", False),
        (Role.ENTIDAD, "icbf", "05001", False),
        (Role.NACIONAL, None, "05a01", False),
    ],
)
def test_can_see_municipio(role: Role, scope: str | None, municipio: str, visible: bool) -> None:
    assert principal(role, scope).can_see_municipio(municipio) is visible


def test_entities_see_municipalities_only_where_the_route_allows() -> None:
    icbf = principal(Role.ENTIDAD, "icbf")
    assert not icbf.can_see_municipio("05001")
    assert icbf.can_see_municipio("05001", allow_entidad=True)
    assert not principal(Role.MUNICIPAL, "05001").can_see_municipio("05002", allow_entidad=True)


@pytest.mark.parametrize(
    ("check", "role", "scope", "target", "visible"),
    [
        ("can_see_entidad", Role.NACIONAL, None, "icbf", True),
        ("can_see_entidad", Role.ENTIDAD, "icbf", "icbf", True),
        ("can_see_entidad", Role.ENTIDAD, "icbf", "sena", False),
        ("can_see_entidad", Role.DEPARTAMENTAL, "05", "icbf", False),
        ("can_see_entidad", Role.MUNICIPAL, "05001", "icbf", False),
        ("can_see_entidad", Role.COGESTOR, "05001", "icbf", False),
        ("can_see_departamento", Role.NACIONAL, None, "05", True),
        ("can_see_departamento", Role.DEPARTAMENTAL, "05", "05", True),
        ("can_see_departamento", Role.DEPARTAMENTAL, "05", "08", False),
        ("can_see_departamento", Role.MUNICIPAL, "05001", "05", False),
        ("can_see_departamento", Role.DEPARTAMENTAL, "05", "5", False),
        ("can_see_departamento", Role.ENTIDAD, "icbf", "05", False),
    ],
)
def test_can_see_entidad_and_departamento(
    check: str, role: Role, scope: str | None, target: str, visible: bool
) -> None:
    assert getattr(principal(role, scope), check)(target) is visible


@pytest.mark.parametrize(
    ("role", "values", "message"),
    [
        (Role.DEPARTAMENTAL, {}, "needs the dpto claim"),
        (Role.DEPARTAMENTAL, {"dpto": "5"}, "2-digit"),
        (Role.MUNICIPAL, {"mpio": "5001"}, "5-digit"),
        (Role.COGESTOR, {}, "needs the mpio claim"),
        (Role.ENTIDAD, {}, "needs the entidad claim"),
        (Role.NACIONAL, {"mpio": "05001"}, "takes no mpio claim"),
        (Role.MUNICIPAL, {"mpio": "05001", "dpto": "05"}, "takes no dpto claim"),
    ],
)
def test_a_principal_cannot_hold_an_inconsistent_scope(
    role: Role, values: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Principal(sub="actor-1", role=role, **values)


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (Role.NACIONAL, None),
        (Role.DEPARTAMENTAL, "05"),
        (Role.COGESTOR, "05001"),
        (Role.ENTIDAD, "sena"),
    ],
)
def test_minted_tokens_round_trip(role: Role, scope: str | None) -> None:
    who = principal(role, scope)
    assert TokenVerifier(SETTINGS).verify(mint_token(SETTINGS, who)) == who


def _claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "actor-1",
        "role": "MUNICIPAL",
        "mpio": "05001",
        "iss": SETTINGS.jwt_issuer,
        "aud": SETTINGS.jwt_audience,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(secret: str = TEST_JWT_SECRET, **overrides: object) -> str:
    return jwt.encode(_claims(**overrides), secret, algorithm="HS256")


@pytest.mark.parametrize(
    ("minted", "message"),
    [
        (
            lambda: mint_token(
                SETTINGS, principal(Role.NACIONAL), expires_in=timedelta(minutes=-5)
            ),
            "token has expired",
        ),
        (
            lambda: _signed(secret="another-secret-of-the-same-length-0123456789abc"),
            "Signature verification failed",
        ),
        (lambda: _signed(role=None), "no role claim"),
        (lambda: _signed(role="ALCALDE"), "unknown role"),
        (lambda: _signed(mpio=None), "string mpio claim"),
        (lambda: _signed(sub=None), 'missing the "sub" claim'),
        (lambda: _signed(exp=None), 'missing the "exp" claim'),
        (lambda: _signed(aud="other-api"), "Audience"),
        (lambda: _signed(iss="someone-else"), "issuer"),
        (lambda: jwt.encode(_claims(), "", algorithm="none"), "alg value is not allowed"),
        (lambda: "not-a-jwt", "invalid token"),
    ],
    ids=[
        "expired",
        "wrong-secret",
        "no-role",
        "unknown-role",
        "no-mpio",
        "no-sub",
        "no-exp",
        "wrong-audience",
        "wrong-issuer",
        "alg-none",
        "garbage",
    ],
)
async def test_bad_tokens_get_401_with_the_reason(
    client: httpx.AsyncClient, minted: Callable[[], str], message: str
) -> None:
    # minted now, not at collection: a long suite outlives a valid token's 5 minutes
    token = minted()
    with pytest.raises(TokenError, match=message):
        TokenVerifier(SETTINGS).verify(token)
    response = await client.get("/v1/info", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert message in response.json()["detail"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="juntos", error="invalid_token"')


async def test_a_non_bearer_scheme_counts_as_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/info", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert response.json()["detail"] == "a bearer token is required"


def _rsa_pair() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def test_rs256_in_production_refuses_dev_tokens() -> None:
    private, public = _rsa_pair()
    production = settings_for_tests("demo", jwt_secret=None, jwt_public_key=public)
    verifier = TokenVerifier(production)
    assert verifier.verify(jwt.encode(_claims(), private, algorithm="RS256")).mpio == "05001"
    with pytest.raises(TokenError):
        verifier.verify(_signed())  # an HS256 dev token
    with pytest.raises(ValueError, match="JUNTOS_JWT_SECRET"):
        mint_token(production, principal(Role.NACIONAL))


def test_an_issuer_signs_what_every_verifier_accepts() -> None:
    """Offer's token endpoint: RS256 with the private key of the services' public key; HS256
    with the dev secret; a private key that is not the pair stops the issuer at start-up."""
    private, public = _rsa_pair()
    production = settings_for_tests(
        "demo", jwt_secret=None, jwt_public_key=public, jwt_private_key=private.decode()
    )
    who = principal(Role.ENTIDAD, "sena")
    token = TokenIssuer(production).issue(who, timedelta(minutes=5), jti="x")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert TokenVerifier(production).verify(token) == who
    assert TokenVerifier(SETTINGS).verify(TokenIssuer(SETTINGS).issue(who, timedelta(1))) == who
    other, _ = _rsa_pair()
    with pytest.raises(ValueError, match="does not match"):
        TokenIssuer(
            settings_for_tests("demo", jwt_public_key=public, jwt_private_key=other.decode())
        )
    with pytest.raises(ValueError, match="JUNTOS_JWT_PRIVATE_KEY"):
        TokenIssuer(settings_for_tests("demo", jwt_public_key=public))


def test_public_routes_are_declared_not_forgotten() -> None:
    router = APIRouter(prefix="/v1")

    @router.post("/oauth/token", dependencies=[Depends(public())])
    async def token() -> dict[str, str]:
        return {}

    assert_every_route_declares_roles(create_service_app(SETTINGS, routers=[router]))


def test_a_public_key_on_one_line_is_accepted() -> None:
    _, public = _rsa_pair()
    one_line = public.replace("\n", "\\n")
    assert settings_for_tests("demo", jwt_public_key=one_line).jwt_public_key == public


def test_no_key_means_no_app() -> None:
    with pytest.raises(ValueError, match="JUNTOS_JWT_SECRET"):
        create_service_app(settings_for_tests("demo", jwt_secret=None))


def test_require_needs_a_role() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        require()


def test_a_route_without_roles_stops_the_factory() -> None:
    router = APIRouter(prefix="/v1")

    @router.get("/abierto")
    async def abierto() -> dict[str, str]:
        return {}

    with pytest.raises(ValueError, match="GET /v1/abierto"):
        create_service_app(SETTINGS, routers=[router])


def test_router_level_requirements_count() -> None:
    router = APIRouter(prefix="/v1", dependencies=[Depends(require(*ALL_ROLES))])

    @router.get("/guarded")
    async def guarded() -> dict[str, str]:
        return {}

    assert_every_route_declares_roles(create_service_app(SETTINGS, routers=[router]))


def test_routes_added_later_are_caught(demo_app: FastAPI) -> None:
    assert_every_route_declares_roles(demo_app)

    @demo_app.get("/v1/late")
    async def late() -> dict[str, str]:
        return {}

    with pytest.raises(AssertionError, match="GET /v1/late"):
        assert_every_route_declares_roles(demo_app)


async def test_scope_matrix_of_a_municipality_route(
    client: httpx.AsyncClient, demo_app: FastAPI
) -> None:
    table = municipio_access("05001", roles=COORDINATORS)
    assert table[Role.DEPARTAMENTAL, "05"] == 200
    assert table[Role.MUNICIPAL, "05002"] == 403
    assert table[Role.ENTIDAD, "entidad-prueba"] == 403
    await assert_access_matrix(client, demo_app, "GET", "/v1/municipios/05001", table)


async def test_scope_matrix_catches_a_route_that_forgets_scope(
    client: httpx.AsyncClient, demo_app: FastAPI
) -> None:
    table = municipio_access("05001", roles=COORDINATORS)
    with pytest.raises(AssertionError, match=r"MUNICIPAL\(05002\) expected 403 got 200"):
        await assert_access_matrix(client, demo_app, "GET", "/v1/leaky/05001", table)


async def test_scope_matrix_of_a_write(client: httpx.AsyncClient, demo_app: FastAPI) -> None:
    body = {"fecha": "2025-03-01", "municipio": "05001"}
    table = municipio_access("05001", roles=[Role.COGESTOR])
    await assert_access_matrix(client, demo_app, "POST", "/v1/visitas", table, json=body)


async def test_a_matrix_must_name_every_role(client: httpx.AsyncClient, demo_app: FastAPI) -> None:
    with pytest.raises(AssertionError, match="no row for"):
        await assert_access_matrix(
            client, demo_app, "GET", "/v1/info", {(Role.NACIONAL, None): 200}
        )


async def test_info_describes_the_caller(demo_app: FastAPI) -> None:
    async with service_client(demo_app, Role.DEPARTAMENTAL, "05") as client:
        response = await client.get("/v1/info")
    assert response.json() == {
        "service": "demo",
        "version": "9.9.9",
        "caller": {"sub": "test-departamental-05", "role": "DEPARTAMENTAL", "scope": "05"},
    }
