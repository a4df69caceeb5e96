"""Closed vocabularies of accompaniment: visit types, LB statuses, evidence, case states."""

from __future__ import annotations

from enum import StrEnum


class EstadoLogro(StrEnum):
    ALCANZADO = "ALCANZADO"
    POR_ALCANZAR = "POR_ALCANZAR"
    NO_APLICA = "NO_APLICA"


class TipoVisita(StrEnum):
    VINCULACION = "VINCULACION"
    LINEA_BASE = "LINEA_BASE"
    PLAN_FAMILIAR = "PLAN_FAMILIAR"
    SEGUIMIENTO = "SEGUIMIENTO"


class TipoEvidencia(StrEnum):
    VISITA = "VISITA"  # the cogestor saw it during a visit (answers of that visit)
    SERVICIO = "SERVICIO"  # a service delivered by an entity (offer's ServicioPrestado)


class EstadoCaso(StrEnum):
    ABIERTO = "ABIERTO"
    CERRADO = "CERRADO"
