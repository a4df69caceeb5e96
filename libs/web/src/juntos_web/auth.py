"""Bearer JWT authentication, roles and territorial scope.

A token says who acts (a pseudonymous `sub`), in which role, and over which territory
(DIVIPOLA department or municipality) or entity. Routes declare their roles with `require(...)`;
scope is data-dependent, so routes check it with the `Principal.can_see_*` helpers once they know
which municipality or entity a request touches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace

from juntos_web.problems import Problem
from juntos_web.settings import ServiceSettings

REALM = "juntos"


class Role(StrEnum):
    """The five kinds of caller in DESIGN.md."""

    NACIONAL = "NACIONAL"
    DEPARTAMENTAL = "DEPARTAMENTAL"
    MUNICIPAL = "MUNICIPAL"
    COGESTOR = "COGESTOR"
    ENTIDAD = "ENTIDAD"


ALL_ROLES: tuple[Role, ...] = tuple(Role)
TERRITORIAL_ROLES = frozenset({Role.DEPARTAMENTAL, Role.MUNICIPAL, Role.COGESTOR})

_DPTO = re.compile(r"\d{2}")
_MPIO = re.compile(r"\d{5}")
_SCOPE_CLAIM: dict[Role, str | None] = {
    Role.NACIONAL: None,
    Role.DEPARTAMENTAL: "dpto",
    Role.MUNICIPAL: "mpio",
    Role.COGESTOR: "mpio",
    Role.ENTIDAD: "entidad",
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller; invalid combinations (a MUNICIPAL without mpio) cannot exist."""

    sub: str
    role: Role
    dpto: str | None = None
    mpio: str | None = None
    entidad: str | None = None

    def __post_init__(self) -> None:
        if not self.sub:
            raise ValueError("sub must not be empty")
        if not isinstance(self.role, Role):
            raise ValueError(f"unknown role {self.role!r}")
        wanted = _SCOPE_CLAIM[self.role]
        for claim in ("dpto", "mpio", "entidad"):
            value = getattr(self, claim)
            if claim == wanted and not value:
                raise ValueError(f"role {self.role} needs the {claim} claim")
            if claim != wanted and value is not None:
                raise ValueError(f"role {self.role} takes no {claim} claim")
        if self.dpto is not None and not _DPTO.fullmatch(self.dpto):
            raise ValueError(f"dpto must be a 2-digit DIVIPOLA code, got {self.dpto!r}")
        if self.mpio is not None and not _MPIO.fullmatch(self.mpio):
            raise ValueError(f"mpio must be a 5-digit DIVIPOLA code, got {self.mpio!r}")

    @classmethod
    def scoped(cls, role: Role, scope: str | None = None, *, sub: str | None = None) -> Principal:
        """A principal of `role` whose scope (dpto, mpio or entidad, by role) is `scope`."""
        claim = _SCOPE_CLAIM[role]
        values = {claim: scope} if claim else {}
        if claim is None and scope is not None:
            raise ValueError(f"role {role} has no scope, got {scope!r}")
        return cls(sub=sub or f"test-{role.lower()}-{scope or 'all'}", role=role, **values)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Only the scope claim of the token's role is read; others are ignored, not trusted."""
        if "role" not in claims:
            raise ValueError("token has no role claim")
        try:
            role = Role(claims["role"])
        except ValueError:
            raise ValueError(f"unknown role {claims['role']!r}") from None
        claim = _SCOPE_CLAIM[role]
        scope = {claim: claims.get(claim)} if claim else {}
        if claim and not isinstance(scope[claim], str):
            raise ValueError(f"role {role} needs a string {claim} claim")
        return cls(sub=str(claims.get("sub") or ""), role=role, **scope)

    @property
    def scope(self) -> str | None:
        """The department, municipality or entity this caller is limited to; None = national."""
        return self.dpto or self.mpio or self.entidad

    def claims(self) -> dict[str, str]:
        """The JWT claims that describe this principal (no registered claims)."""
        claims = {"sub": self.sub, "role": self.role.value}
        claim = _SCOPE_CLAIM[self.role]
        if claim and self.scope:
            claims[claim] = self.scope
        return claims

    def can_see_municipio(self, code: str, *, allow_entidad: bool = False) -> bool:
        """Whether data of municipality `code` (5-digit DIVIPOLA) is in this caller's scope.

        Entities see no territory by default; a route whose data entities may read (their own
        slots in a municipality, say) opts in with `allow_entidad=True`.
        """
        if not _MPIO.fullmatch(code):
            return False
        match self.role:
            case Role.NACIONAL:
                return True
            case Role.DEPARTAMENTAL:
                return code[:2] == self.dpto
            case Role.MUNICIPAL | Role.COGESTOR:
                return code == self.mpio
            case Role.ENTIDAD:
                return allow_entidad
        return False  # pragma: no cover - the match is exhaustive

    def can_see_departamento(self, code: str) -> bool:
        """Department-wide data: national and that department's coordinators only."""
        if not _DPTO.fullmatch(code):
            return False
        return self.role is Role.NACIONAL or (self.role is Role.DEPARTAMENTAL and code == self.dpto)

    def can_see_entidad(self, entidad: str) -> bool:
        """An entity's own data (its programs, slots, deliveries): itself and national staff."""
        return self.role is Role.NACIONAL or (self.role is Role.ENTIDAD and entidad == self.entidad)

    def ensure_municipio(self, code: str, *, allow_entidad: bool = False) -> None:
        """Raise the 403 problem routes give for a municipality outside the caller's scope."""
        if not self.can_see_municipio(code, allow_entidad=allow_entidad):
            raise Problem(403, f"municipality {code} is outside your scope", type="out-of-scope")

    def ensure_entidad(self, entidad: str) -> None:
        if not self.can_see_entidad(entidad):
            raise Problem(403, f"entity {entidad} is outside your scope", type="out-of-scope")


class TokenError(Exception):
    """Why a token was refused; the message is safe to show the caller."""


class TokenVerifier:
    """Checks signature, expiry, issuer and audience, then builds the Principal."""

    def __init__(self, settings: ServiceSettings) -> None:
        key = settings.jwt_verification_key
        if not key:
            raise ValueError(
                "no token key: set JUNTOS_JWT_SECRET (HS256, dev) or JUNTOS_JWT_PUBLIC_KEY (RS256)"
            )
        self._key = key
        self._algorithm = settings.jwt_algorithm
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"invalid token: {exc}") from None
        try:
            return Principal.from_claims(claims)
        except ValueError as exc:
            raise TokenError(f"invalid token: {exc}") from None


def mint_token(
    settings: ServiceSettings,
    principal: Principal,
    *,
    expires_in: timedelta = timedelta(hours=8),
    now: datetime | None = None,
) -> str:
    """An HS256 token for dev and tests; production tokens come from the identity provider."""
    if settings.jwt_secret is None:
        raise ValueError("mint_token needs JUNTOS_JWT_SECRET; production keys are not for minting")
    return _sign(settings, principal, expires_in, now, settings.jwt_secret.get_secret_value())


class TokenIssuer:
    """Signs the tokens a service hands out itself (partners' client credentials).

    RS256 with JUNTOS_JWT_PRIVATE_KEY wherever the services verify with a public key, else
    HS256 with the shared dev secret; refused at start-up when the key would not verify.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        if settings.jwt_public_key:
            if settings.jwt_private_key is None:
                raise ValueError(
                    "issuing tokens needs JUNTOS_JWT_PRIVATE_KEY, the pair of JUNTOS_JWT_PUBLIC_KEY"
                )
            self._key = settings.jwt_private_key.get_secret_value()
        elif settings.jwt_secret is not None:
            self._key = settings.jwt_secret.get_secret_value()
        else:  # pragma: no cover - TokenVerifier refuses these settings first
            raise ValueError("no key to sign tokens with")
        self._settings = settings
        probe = self.issue(Principal(sub="probe", role=Role.NACIONAL), timedelta(minutes=1))
        try:
            TokenVerifier(settings).verify(probe)
        except TokenError:
            raise ValueError(
                "JUNTOS_JWT_PRIVATE_KEY does not match JUNTOS_JWT_PUBLIC_KEY"
            ) from None

    def issue(self, principal: Principal, expires_in: timedelta, **claims: Any) -> str:
        return _sign(self._settings, principal, expires_in, None, self._key, **claims)


def _sign(
    settings: ServiceSettings,
    principal: Principal,
    expires_in: timedelta,
    now: datetime | None,
    key: str,
    **extra: Any,
) -> str:
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        **extra,
        **principal.claims(),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "exp": issued + expires_in,
    }
    return jwt.encode(claims, key, algorithm=settings.jwt_algorithm)


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="JWT with claims sub, role and dpto | mpio | entidad by role",
)


def _unauthorized(detail: str, error: str | None) -> Problem:
    challenge = f'Bearer realm="{REALM}"'
    if error:
        safe = detail.replace('"', "'").replace("\\", "/")
        challenge += f', error="{error}", error_description="{safe}"'
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})


class RoleRequirement:
    """The dependency `require(...)` returns; its type lets tools find undeclared routes."""

    def __init__(self, roles: Iterable[Role]) -> None:
        self.roles = frozenset(roles)
        if not self.roles:
            raise ValueError("require() needs at least one role; use require(*ALL_ROLES)")

    def __repr__(self) -> str:
        return f"require({', '.join(sorted(self.roles))})"

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise _unauthorized("a bearer token is required", None)
        verifier: TokenVerifier = request.app.state.token_verifier
        try:
            principal = verifier.verify(credentials.credentials)
        except TokenError as exc:
            raise _unauthorized(str(exc), "invalid_token") from None
        span = trace.get_current_span()
        span.set_attribute("enduser.id", principal.sub)
        span.set_attribute("enduser.role", principal.role.value)
        if principal.role not in self.roles:
            raise Problem(403, f"role {principal.role} may not call this operation")
        request.state.principal = principal
        return principal


def require(*roles: Role) -> RoleRequirement:
    """Dependency for `Depends(...)`: the caller's Principal, or 401/403 as problems."""
    return RoleRequirement(roles)


class PublicAccess:
    """The dependency `public()` returns: a route that authenticates its callers itself."""

    roles: frozenset[Role] = frozenset()

    def __repr__(self) -> str:
        return "public()"

    async def __call__(self) -> None:
        return None


def public() -> PublicAccess:
    """Dependency for a route anyone may call (a token endpoint): declared, not forgotten."""
    return PublicAccess()


def declared_roles(call: object) -> frozenset[Role] | None:
    """The roles a dependency callable admits (none for `public()`), or None when undeclared."""
    return call.roles if isinstance(call, RoleRequirement | PublicAccess) else None
