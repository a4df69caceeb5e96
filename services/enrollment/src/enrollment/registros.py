"""The SISBEN and RUPD files: one row per person, validated row by row, read as a stream.

Both formats share the person's columns; SISBEN adds `nivel_sisben`, RUPD adds
`fecha_declaracion`. CSV (UTF-8, comma-separated, header row, one record per line) and NDJSON
(one JSON object per line with the same names) are read incrementally, so a file of any size
is never held in memory. The columns are documented in the service README.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import AsyncIterable, AsyncIterator
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from juntos_catalogo import divipola
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from enrollment.boveda import DatosPersonales
from enrollment.vocabulario import Etnia, Parentesco, Registro, Sexo, TipoDocumento

NIVEL_ELEGIBLE = 1
FECHA_MINIMA = date(1900, 1, 1)
_SI = {"S", "SI", "SÍ", "1", "TRUE", "Y"}
_NO = {"N", "NO", "0", "FALSE", ""}


class Formato(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


def _bandera(valor: object) -> object:
    """S/N as the registries write them (also SI/NO, 1/0, true/false; empty is N)."""
    if isinstance(valor, str):
        limpio = valor.strip().upper()
        if limpio in _SI:
            return True
        if limpio in _NO:
            return False
    return valor


def _vacio_es_nada(valor: object) -> object:
    return None if isinstance(valor, str) and not valor.strip() else valor


Bandera = Annotated[bool, BeforeValidator(_bandera)]
Opcional = BeforeValidator(_vacio_es_nada)


def _municipio(valor: object) -> object:
    if (
        isinstance(valor, str)
        and valor.strip().isdigit()
        and not divipola().es_municipio(valor.strip())
    ):
        raise ValueError(f"{valor.strip()} is not a DIVIPOLA municipality code")
    return valor.strip() if isinstance(valor, str) else valor


class FilaPersona(BaseModel):
    """One person of a household, as both registries describe it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    hogar: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z_\-]+$")
    tipo_documento: TipoDocumento
    numero_documento: str = Field(min_length=3, max_length=20, pattern=r"^[0-9A-Za-z]+$")
    primer_nombre: str = Field(min_length=1, max_length=60)
    segundo_nombre: Annotated[str | None, Opcional] = Field(None, max_length=60)
    primer_apellido: str = Field(min_length=1, max_length=60)
    segundo_apellido: Annotated[str | None, Opcional] = Field(None, max_length=60)
    fecha_nacimiento: date
    sexo: Sexo
    parentesco: Parentesco
    municipio: Annotated[str, BeforeValidator(_municipio)] = Field(pattern=r"^\d{5}$")
    discapacidad: Bandera = False
    gestante: Bandera = False
    etnia: Annotated[Etnia, BeforeValidator(lambda v: _vacio_es_nada(v) or "NINGUNA")] = (
        Etnia.NINGUNA
    )
    telefono: Annotated[str | None, Opcional] = Field(None, max_length=20, pattern=r"^[0-9+ ]*$")
    direccion: Annotated[str | None, Opcional] = Field(None, max_length=200)

    @model_validator(mode="after")
    def _coherente(self) -> FilaPersona:
        if not FECHA_MINIMA <= self.fecha_nacimiento <= date.today():
            raise ValueError("fecha_nacimiento must be between 1900-01-01 and today")
        if self.gestante and self.sexo is not Sexo.M:
            raise ValueError("gestante is only possible for sexo M")
        return self

    def datos_personales(self) -> DatosPersonales:
        return DatosPersonales.model_validate(
            self.model_dump(include=set(DatosPersonales.model_fields))
        )

    def atributos(self) -> dict[str, Any]:
        return self.model_dump(
            include={"fecha_nacimiento", "sexo", "parentesco", "discapacidad", "gestante", "etnia"}
        )


class FilaSisben(FilaPersona):
    nivel_sisben: int = Field(ge=1, le=6)

    @model_validator(mode="after")
    def _elegible(self) -> FilaSisben:
        if self.nivel_sisben != NIVEL_ELEGIBLE:
            raise ValueError(
                f"nivel_sisben {self.nivel_sisben}: only level {NIVEL_ELEGIBLE} is eligible"
            )
        return self


class FilaRupd(FilaPersona):
    fecha_declaracion: date

    @model_validator(mode="after")
    def _declaracion(self) -> FilaRupd:
        if not FECHA_MINIMA <= self.fecha_declaracion <= date.today():
            raise ValueError("fecha_declaracion must be between 1900-01-01 and today")
        return self


MODELOS: dict[Registro, type[FilaPersona]] = {Registro.SISBEN: FilaSisben, Registro.RUPD: FilaRupd}


def columnas(registro: Registro) -> list[str]:
    return list(MODELOS[registro].model_fields)


def motivo(error: ValidationError) -> str:
    """A readable reason naming the columns, never echoing the values (they may be personal)."""
    partes = []
    for e in error.errors(include_input=False, include_url=False):
        campo = ".".join(str(p) for p in e["loc"])
        mensaje = e["msg"].removeprefix("Value error, ")
        partes.append(f"{campo}: {mensaje}" if campo else mensaje)
    return "; ".join(partes)


class ArchivoInvalido(Exception):
    """The file as a whole cannot be read (header, encoding); nothing was imported."""


async def _lineas(fuente: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, str]]:
    """Numbered text lines from a byte stream, decoded incrementally (a BOM is dropped)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pendiente, numero = "", 0
    try:
        async for trozo in fuente:
            pendiente += decoder.decode(trozo)
            *completas, pendiente = pendiente.split("\n")
            for linea in completas:
                numero += 1
                yield numero, linea.rstrip("\r")
        pendiente += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ArchivoInvalido(f"line {numero + 1}: the file is not UTF-8 ({exc.reason})") from None
    if pendiente.strip():
        yield numero + 1, pendiente.rstrip("\r")


async def filas(
    fuente: AsyncIterable[bytes], formato: Formato, registro: Registro
) -> AsyncIterator[tuple[int, dict[str, Any] | str]]:
    """(line number, raw fields) per record, or (line, reason) when the line cannot be parsed.

    Raises ArchivoInvalido before the first record if the CSV header is wrong.
    """
    esperadas = columnas(registro)
    cabecera: list[str] | None = None
    async for numero, linea in _lineas(fuente):
        if not linea.strip():
            continue
        if formato is Formato.NDJSON:
            try:
                registro_json = json.loads(linea)
            except json.JSONDecodeError as exc:
                yield numero, f"not valid JSON ({exc.msg})"
                continue
            if not isinstance(registro_json, dict):
                yield numero, "each line must be a JSON object"
                continue
            yield numero, registro_json
            continue
        try:
            valores = next(csv.reader([linea]))
        except csv.Error as exc:
            if cabecera is None:
                raise ArchivoInvalido(f"header (line {numero}): {exc}") from None
            yield numero, f"not a CSV record ({exc})"
            continue
        if cabecera is None:
            cabecera = [c.strip().lower() for c in valores]
            faltan = [c for c in esperadas if c not in cabecera and _obligatoria(registro, c)]
            sobran = [c for c in cabecera if c not in esperadas]
            if faltan or sobran:
                detalle = []
                if faltan:
                    detalle.append(f"missing columns {', '.join(faltan)}")
                if sobran:
                    detalle.append(f"unknown columns {', '.join(sobran)}")
                raise ArchivoInvalido(f"header (line {numero}): {'; '.join(detalle)}")
            continue
        if len(valores) != len(cabecera):
            yield numero, f"expected {len(cabecera)} fields, found {len(valores)}"
            continue
        yield numero, dict(zip(cabecera, valores, strict=True))
    if formato is Formato.CSV and cabecera is None:
        raise ArchivoInvalido("the file is empty: a CSV file starts with its header row")


def _obligatoria(registro: Registro, columna: str) -> bool:
    return MODELOS[registro].model_fields[columna].is_required()


def validar(registro: Registro, campos: dict[str, Any]) -> FilaPersona | str:
    try:
        return MODELOS[registro].model_validate(campos)
    except ValidationError as error:
        return motivo(error)
