"""Schemathesis on the municipality's own routes, as its MUNICIPAL coordinator.

The shared fuzz (tests/test_service_skeletons.py) calls every route as national staff, who may
not write a municipality's records: their writes stop at 403. Here every route of a
municipality is fuzzed in scope (05001), so the bodies reach the domain and the database: no
5xx, and every answer matches the documented schema. Schema-valid requests may still be refused
by rules a schema cannot state (a date after today or before the record's history, a plan
already approved): `positive_data_acceptance` is left out for that reason only.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
from juntos_events.migrate import upgrade
from juntos_web import Role
from juntos_web.testing import bearer, settings_for_tests
from schemathesis import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import positive_data_acceptance
from territorial.main import create_app

from .conftest import MIGRATIONS

EJEMPLOS = 8
MPIO = "05001"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_municipality_routes_conform_in_scope(
    mode: GenerationMode, database_url: str, kafka_bootstrap: str
) -> None:
    asyncio.run(upgrade(database_url, MIGRATIONS))
    app = create_app(
        settings_for_tests(
            "territorial",
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            readiness_timeout_seconds=10,
        )
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    token = bearer(app, Role.MUNICIPAL, MPIO, sub="coord-05001", expires_in=timedelta(hours=1))
    schema.config.update(headers=token)
    estados: dict[str, set[int]] = {}

    def fuzz(operation: schemathesis.APIOperation) -> None:
        @hypothesis.given(case=operation.as_strategy(mode, path_parameters={"municipio": MPIO}))
        @hypothesis.settings(
            max_examples=EJEMPLOS,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(
                headers=token, excluded_checks=[positive_data_acceptance]
            )
            estados.setdefault(case.operation.label, set()).add(response.status_code)

        run()

    try:
        operaciones = [
            op.ok() for op in schema.get_all_operations() if "{municipio}" in op.ok().path
        ]
        assert len(operaciones) >= 20
        for operacion in operaciones:
            try:
                fuzz(operacion)
            except hypothesis.errors.Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
    finally:
        shutdown_lifespans()
    if mode is GenerationMode.POSITIVE:
        # in scope, so nothing may stop at the door: every route answered something else
        puerta = [op for op, codigos in estados.items() if codigos <= {401, 403}]
        assert not puerta, estados
        escrito = [op for op, codigos in estados.items() if codigos & {200, 201}]
        assert len(escrito) >= 15, estados
