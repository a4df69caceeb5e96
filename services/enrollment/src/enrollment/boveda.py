"""Envelope encryption of personal data, and the keyed hash that finds people by document.

Each family has its own data key (a Fernet key); only its wrapped form, encrypted with the
key-encryption key from settings, is stored. Erasing a family on a legal request destroys its
wrapped key: every sealed field of that family, in every event, becomes unreadable at once
(crypto-shredding), while the pseudonymous events stay valid for every projection.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from juntos_web.text import PRINTABLE, PRINTABLE_NOT_BLANK
from pydantic import BaseModel, ConfigDict, Field

from enrollment.vocabulario import NUIP_FAMILY, TipoDocumento


class DatosPersonales(BaseModel):
    """What only enrollment may hold about a person (Ley 1581 de 2012)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    tipo_documento: TipoDocumento
    numero_documento: str = Field(min_length=3, max_length=20, pattern=r"^[0-9A-Za-z]+$")
    primer_nombre: str = Field(min_length=1, max_length=60, pattern=PRINTABLE_NOT_BLANK)
    segundo_nombre: str | None = Field(None, max_length=60, pattern=PRINTABLE)
    primer_apellido: str = Field(min_length=1, max_length=60, pattern=PRINTABLE_NOT_BLANK)
    segundo_apellido: str | None = Field(None, max_length=60, pattern=PRINTABLE)
    telefono: str | None = Field(None, max_length=20, pattern=r"^[0-9+ ]*$")
    direccion: str | None = Field(None, max_length=200, pattern=PRINTABLE)


class ClaveNoDisponible(Exception):
    """The family's data key was destroyed (erased) or the settings lack the key that wraps it."""


class Boveda:
    """Wraps and unwraps family data keys; seals and opens personal data with them."""

    def __init__(self, keks: str) -> None:
        keys = [k.strip() for k in keks.split(",") if k.strip()]
        if not keys:
            raise ValueError("ENROLLMENT_KEKS is empty: set at least one Fernet key")
        self._kek = MultiFernet([Fernet(k.encode()) for k in keys])

    def nueva_llave(self) -> tuple[Fernet, bytes]:
        """A fresh data key and its wrapped form (what the database keeps)."""
        key = Fernet.generate_key()
        return Fernet(key), self._kek.encrypt(key)

    def abrir_llave(self, envuelta: bytes | None) -> Fernet:
        if envuelta is None:
            raise ClaveNoDisponible("the family's personal data was erased")
        try:
            return Fernet(self._kek.decrypt(envuelta))
        except InvalidToken:
            raise ClaveNoDisponible(
                "no configured key-encryption key opens this data key"
            ) from None

    def reenvolver(self, envuelta: bytes) -> bytes:
        """The same data key wrapped with the newest KEK (key rotation)."""
        return self._kek.rotate(envuelta)

    @staticmethod
    def sellar(llave: Fernet, datos: DatosPersonales) -> str:
        return llave.encrypt(datos.model_dump_json(exclude_none=True).encode()).decode()

    @staticmethod
    def abrir(llave: Fernet, sellado: str) -> DatosPersonales:
        return DatosPersonales.model_validate_json(llave.decrypt(sellado.encode()))


def clave_documento(tipo: TipoDocumento, numero: str) -> str:
    """One key per person: RC, TI, CC and NUIP share the NUIP, so a child stays one person."""
    grupo = "NUIP" if tipo in NUIP_FAMILY else tipo.value
    limpio = unicodedata.normalize("NFKC", numero).strip().upper().lstrip("0")
    return f"{grupo}:{limpio}"


class Huellas:
    """HMAC-SHA256 of document keys: equal documents match, the number itself is never stored."""

    def __init__(self, pepper: str) -> None:
        if len(pepper) < 16:
            raise ValueError("ENROLLMENT_DOCUMENT_PEPPER must be at least 16 characters")
        self._pepper = pepper.encode()

    def de(self, tipo: TipoDocumento, numero: str) -> bytes:
        return hmac.new(
            self._pepper, clave_documento(tipo, numero).encode(), hashlib.sha256
        ).digest()
