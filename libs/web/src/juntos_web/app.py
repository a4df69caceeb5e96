"""The one app factory of the five services: the same health, metrics, errors, auth and tracing.

A service brings its routers and, later, its background work (migrations, outbox relay,
consumers) as lifespan hooks; everything an operator or a partner sees around the routes is
decided here once.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from importlib import metadata
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import juntos_events.metrics  # noqa: F401  (registers the backbone's metrics for /metrics)
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from juntos_events.consumer import Subscriptions
from juntos_events.engine import async_engine
from juntos_events.events import EventRegistry
from juntos_events.logs import setup_logging
from juntos_events.telemetry import setup_telemetry
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

from juntos_web import health
from juntos_web.auth import ALL_ROLES, Principal, TokenVerifier, declared_roles, require
from juntos_web.problems import PROBLEM_RESPONSES, install_problem_handlers, problem_schemas
from juntos_web.settings import ServiceSettings
from juntos_web.surrogates import UnpairedSurrogateMiddleware
from juntos_web.wiring import ASYNCAPI_PATH, EventWiring
from juntos_web.wiring import install as install_wiring
from juntos_web.wiring import running as wiring_running

StartupHook = Callable[[FastAPI], Awaitable[None]]
"""Awaited once at start-up, in order, after the engine exists (e.g. run migrations)."""

LifespanHook = Callable[[FastAPI], AbstractAsyncContextManager[Any]]
"""Entered at start-up after the startup hooks, exited in reverse order at shutdown (e.g.
`lambda app: backbone.running(app.state.engine)` for the outbox relay and consumers)."""

OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics", ASYNCAPI_PATH})
_UNTRACED = ",".join(f"{path}$" for path in sorted(OPERATIONS_PATHS))


def create_service_app(
    settings: ServiceSettings,
    *,
    routers: Sequence[APIRouter] = (),
    distribution: str | None = None,
    title: str | None = None,
    description: str | None = None,
    version: str | None = None,
    startup: Sequence[StartupHook] = (),
    lifespans: Sequence[LifespanHook] = (),
    readiness_checks: Mapping[str, health.ReadinessCheck] | None = None,
    wiring: EventWiring | None = None,
) -> FastAPI:
    """Build a service's FastAPI app.

    `distribution` (e.g. "juntos-enrollment") supplies version and description from the
    package metadata, so they are written once, in pyproject.toml; explicit values win.
    `readiness_checks` join (or, by name, replace) the database and Kafka checks of /readyz.
    `wiring` plugs in the service's events: migrations, outbox relay, consumers, /asyncapi.json.
    Raises ValueError when no token key is configured or a route does not declare its roles.
    """
    setup_logging(settings.service_name)
    setup_telemetry(settings.service_name)
    verifier = TokenVerifier(settings)
    meta = metadata.metadata(distribution) if distribution else None

    app = FastAPI(
        title=title or f"JUNTOS {settings.service_name}",
        description=description or (meta["Summary"] if meta else ""),
        version=version or (meta["Version"] if meta else "0.0.0"),
        lifespan=_lifespan(
            settings,
            startup,
            # the backbone first: the service's own background work needs migrated tables
            [*([functools.partial(wiring_running, wiring=wiring)] if wiring else []), *lifespans],
        ),
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.token_verifier = verifier
    app.state.readiness_checks = {**health.DEFAULT_CHECKS, **(readiness_checks or {})}

    app.include_router(health.router)
    if wiring is not None:
        install_wiring(app, wiring, settings)
    for router in routers:
        app.include_router(router, responses=PROBLEM_RESPONSES)
    Instrumentator(excluded_handlers=[f"^{p}$" for p in OPERATIONS_PATHS]).add(
        _request_metrics()
    ).instrument(app).expose(app, endpoint="/metrics", include_in_schema=False)
    install_problem_handlers(app)
    app.add_middleware(UnpairedSurrogateMiddleware)
    FastAPIInstrumentor.instrument_app(app, excluded_urls=_UNTRACED)
    _document_problems(app)

    undeclared = routes_without_roles(app)
    if undeclared:
        raise ValueError(f"routes without require(...): {', '.join(undeclared)}")
    return app


@functools.cache
def _request_metrics() -> Callable[[metrics.Info], None]:
    """The request counters and histograms, created once per process.

    The instrumentator's default set registers its collectors on each call and silently gives
    up when they exist, so a second app in the same process (tests) would go unmeasured.
    """
    instrumentation = metrics.default()
    if instrumentation is None:  # pragma: no cover - only if someone registered them first
        raise RuntimeError("http_requests_total is already registered elsewhere")
    return instrumentation


def database_engine(url: str) -> AsyncEngine:
    """The service's engine; a pooled connection the server has closed is replaced at checkout.

    Not `pool_pre_ping`: SQLAlchemy's asyncpg dialect pings with three round trips (BEGIN, `;`,
    ROLLBACK), each an instrumented statement, at every checkout: 16 % of a baseline POST's CPU
    (bench linea-base). A server restart or a terminated backend closes the socket, which
    asyncpg notices by itself; `is_closed()` reads that flag without a round trip. A connection
    that dies silently (no FIN) still fails its request once, then the pool is invalidated.
    """
    engine = async_engine(url)

    @event.listens_for(engine.sync_engine, "checkout")
    def _cerrada(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")

    return engine


GC_YOUNG_THRESHOLD = 50_000
"""Objects allocated (net) between two collections of the cyclic GC's young generation
(CPython's default: 700)."""

_gc_settled = False


def settle_gc() -> None:
    """Once per process, when its first app has started: the heap so far (modules, schemas,
    validators: ~150,000 objects) frozen out of the cyclic GC, and a young generation of
    GC_YOUNG_THRESHOLD objects.

    Why: a batch decodes a few hundred thousand objects at once (a sync batch loads 200 cases'
    events). With the defaults they outlived the young collections, were promoted, and set off
    full collections over the whole heap (0.1-0.4 s each) about every 70,000 allocations: 23-34 %
    of accompaniment's CPU in the sync stages of `simulate run`, 36 % in bench `seguimientos`
    (bench/README.md). Garbage in cycles now waits longer to be freed; most garbage here has no
    cycle and goes by reference counting, as before.
    """
    global _gc_settled
    if _gc_settled:
        return
    _gc_settled = True
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def _lifespan(
    settings: ServiceSettings, startup: Sequence[StartupHook], lifespans: Sequence[LifespanHook]
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # No connection is opened here: a service whose database is down still starts, says
        # so on /readyz, and recovers by itself (`database_engine` drops dead connections).
        engine = database_engine(settings.database_url)
        app.state.engine = engine
        try:
            async with AsyncExitStack() as stack:
                for hook in startup:
                    await hook(app)
                for enter in lifespans:
                    await stack.enter_async_context(enter(app))
                settle_gc()
                yield
        finally:
            await engine.dispose()

    return lifespan


def _document_problems(app: FastAPI) -> None:
    """Add the ProblemDetail schemas that PROBLEM_RESPONSES refer to."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(problem_schemas())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def public_paths(app: FastAPI) -> frozenset[str]:
    """Paths anyone may call: operations endpoints and the API documentation."""
    docs = {app.docs_url, app.openapi_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    return OPERATIONS_PATHS | {path for path in docs if path}


def routes_without_roles(app: FastAPI) -> list[str]:
    """Routes that are neither public nor guarded by a `require(...)` dependency.

    Walks the effective routes (FastAPI keeps included routers as a tree), so dependencies
    given to `include_router` or `APIRouter(dependencies=...)` count.
    """
    public = public_paths(app)
    missing = []
    for route in iter_route_contexts(app.routes):
        if route.path in public:
            continue
        dependant = getattr(route, "dependant", None)
        if not isinstance(route.original_route, APIRoute) or not _declares_roles(dependant):
            methods = ",".join(sorted(route.methods or ()))
            missing.append(f"{methods} {route.path}".strip())
    return missing


def _declares_roles(dependant: Dependant | None) -> bool:
    return dependant is not None and any(
        declared_roles(dep.call) is not None or _declares_roles(dep)
        for dep in dependant.dependencies
    )


def get_engine(request: Request) -> AsyncEngine:
    """The app's engine, created by its lifespan; for handlers' `Depends`."""
    engine: AsyncEngine = request.app.state.engine
    return engine


EngineDep = Annotated[AsyncEngine, Depends(get_engine)]


class Caller(BaseModel):
    sub: str
    role: str
    scope: str | None


class ServiceInfo(BaseModel):
    service: str
    version: str
    caller: Caller


def v1_router() -> APIRouter:
    """The /v1 router of a service, already answering GET /v1/info (who am I, which build)."""
    router = APIRouter(prefix="/v1")

    @router.get("/info", summary="Service name, version and the caller as the token says")
    async def info(
        request: Request, principal: Annotated[Principal, Depends(require(*ALL_ROLES))]
    ) -> ServiceInfo:
        return ServiceInfo(
            service=request.app.state.settings.service_name,
            version=request.app.version,
            caller=Caller(sub=principal.sub, role=principal.role, scope=principal.scope),
        )

    return router


def app_factory(
    package: str,
    router: APIRouter,
    events: EventRegistry,
    subscriptions: Subscriptions,
    *,
    settings_class: type[ServiceSettings] = ServiceSettings,
    startup: Sequence[StartupHook] = (),
    lifespans: Sequence[LifespanHook] = (),
) -> Callable[[ServiceSettings | None], FastAPI]:
    """The `create_app` of a service package: its router, events, migrations and consumers.

    Every service is wired the same way; its migrations live in `<package>/migrations/versions`.
    A service with settings of its own passes their class: plain ServiceSettings given to
    `create_app` (tests, tools) are completed from the environment.
    """
    migrations = Path(str(files(package) / "migrations" / "versions"))
    wiring = EventWiring(events, migrations, subscriptions)

    def create_app(settings: ServiceSettings | None = None) -> FastAPI:
        """A factory, so that importing the module reads no environment and opens nothing."""
        if settings is None:
            settings = settings_class.for_service(package)
        elif not isinstance(settings, settings_class):
            settings = settings_class(**settings.model_dump())
        return create_service_app(
            settings,
            distribution=f"juntos-{package}",
            routers=[router],
            wiring=wiring,
            startup=startup,
            lifespans=lifespans,
        )

    return create_app
