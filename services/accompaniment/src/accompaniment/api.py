"""Accompaniment's HTTP API under /v1: thin routes that parse, authorize, call a handler."""

from juntos_web import v1_router

router = v1_router()
