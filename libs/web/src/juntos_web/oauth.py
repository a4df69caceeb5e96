"""OAuth 2.0 client credentials (RFC 6749 §4.4): the token endpoint's protocol, and client secrets.

The service that registers partner clients (offer) keeps the registry; what is protocol lives
here: reading a token request (form-encoded; client authentication by HTTP Basic or by form
fields, never both), errors as RFC 6749 §5.2 JSON (not problem+json: OAuth clients parse these),
the token response (§5.1, `no-store`), and the secrets themselves.

Secrets are 256 random bits shown once and stored only as an Argon2id hash (argon2-cffi, the
reference binding of the Password Hashing Competition winner, OWASP's first choice): the PHC
string carries its own salt and parameters, so a stolen table gives no usable credential and the
parameters can be raised later without a migration.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from juntos_web.auth import REALM

FORM = "application/x-www-form-urlencoded"
CLIENT_CREDENTIALS = "client_credentials"
SECRET_PREFIX = "jcs_"
"""Makes a leaked secret easy to find for secret scanners (and for people)."""
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: `error` is one of the RFC's codes, `description` safe to show."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> JSONResponse:
        headers = dict(NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=headers,
        )


def invalid_client() -> OAuthError:
    """One answer for an unknown client, a wrong secret and a revoked client: no oracle."""
    return OAuthError("invalid_client", "client authentication failed", 401)


VSCHAR = re.compile(r"[\x20-\x7e]+")
"""RFC 6749, appendix A.1: the characters of a client_id."""


@dataclass(frozen=True)
class TokenRequest:
    client_id: str
    client_secret: str


async def client_credentials_request(request: Request) -> TokenRequest:
    """The grant's parameters and the client's credentials, or the OAuthError to answer."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        raise OAuthError("invalid_request", f"the body must be {FORM}")
    try:
        pairs = parse_qsl((await request.body()).decode(), strict_parsing=False)
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "the body is not UTF-8") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise OAuthError("invalid_request", f"parameter {name} is repeated")
        params[name] = value
    grant = params.get("grant_type")
    if not grant:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant != CLIENT_CREDENTIALS:
        raise OAuthError("unsupported_grant_type", f"only {CLIENT_CREDENTIALS} is supported")
    if params.get("scope"):
        raise OAuthError("invalid_scope", "no scopes: a token carries its entity's own access")
    basic = _basic(request.headers.get("authorization"))
    in_form = params.get("client_id"), params.get("client_secret")
    if basic and any(in_form):
        raise OAuthError("invalid_request", "authenticate the client one way: Basic or the form")
    client_id, client_secret = basic or in_form
    if not client_id or not client_secret:
        raise invalid_client()
    if not VSCHAR.fullmatch(client_id):  # also keeps a NUL away from the database
        raise OAuthError("invalid_request", "client_id must be printable ASCII (RFC 6749, A.1)")
    return TokenRequest(client_id, client_secret)


def _basic(header: str | None) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: id and secret form-encoded, then `id:secret` in Basic. Other schemes
    (a bearer token sent out of habit) are not client authentication and are ignored."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, sep, secret = (
            base64.b64decode(value.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_request", "malformed Basic credentials") from None
    if not sep:
        raise OAuthError("invalid_request", "malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def token_response(access_token: str, expires_in: int) -> JSONResponse:
    body = {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in}
    return JSONResponse(body, headers=NO_STORE)


class Secrets:
    """New client secrets, their stored form, and their check."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()

    @functools.cached_property
    def _decoy(self) -> str:
        """Checked when the client is unknown, so that answer takes as long as a wrong secret."""
        return self._hasher.hash(secrets.token_urlsafe(32))

    @staticmethod
    def new() -> str:
        return SECRET_PREFIX + secrets.token_urlsafe(32)

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, stored: str | None, secret: str) -> bool:
        """Constant-time check; `stored=None` (unknown client) spends the same effort, fails."""
        try:
            return self._hasher.verify(stored or self._decoy, secret) and stored is not None
        except (VerificationError, InvalidHashError):
            return False


# --- OpenAPI ------------------------------------------------------------------------------------

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "string",
            "enum": [
                "invalid_request",
                "invalid_client",
                "invalid_grant",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
            ],
        },
        "error_description": {"type": "string"},
    },
}

TOKEN_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": [CLIENT_CREDENTIALS]},
                        "client_id": {"type": "string", "description": "unless sent by Basic"},
                        "client_secret": {"type": "string", "description": "unless by Basic"},
                    },
                }
            }
        },
    },
    "responses": {
        "200": {
            "description": "A short-lived bearer token (role ENTIDAD, the client's entity)",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["access_token", "token_type", "expires_in"],
                        "properties": {
                            "access_token": {"type": "string"},
                            "token_type": {"type": "string", "enum": ["Bearer"]},
                            "expires_in": {"type": "integer", "description": "seconds"},
                        },
                    }
                }
            },
        },
        "400": {
            "description": "RFC 6749 §5.2 error",
            "content": {"application/json": {"schema": _ERROR}},
        },
        "401": {
            "description": "invalid_client: unknown, wrong secret or revoked",
            "content": {"application/json": {"schema": _ERROR}},
        },
    },
}
"""The route's documentation: the body is read by hand, so that every fault is an RFC error."""


def document_token_endpoint(app: FastAPI, token_url: str) -> None:
    """Add the OpenAPI `oauth2` scheme that tells partners (and tools) where tokens come from."""
    build = app.openapi
    scheme = {
        "type": "oauth2",
        "description": "Partner systems: client credentials from the JUNTOS operators; the "
        "token is a bearer token like any other",
        "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": {}}},
    }

    def openapi() -> dict[str, Any]:
        schema = build()
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})["partner"] = scheme
        # the RFC's JSON errors, not the problem+json the factory documents for every route
        operation = schema["paths"][token_url]["post"]
        operation["responses"] = {
            **TOKEN_OPENAPI["responses"],
            "500": operation["responses"]["500"],
        }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
