"""HTTP kit shared by the five services: app factory, health, metrics, problems, auth, settings.

`juntos_web.testing` (test helpers) is not imported here, so production code never loads it.
"""

from juntos_web.app import (
    EngineDep,
    LifespanHook,
    StartupHook,
    app_factory,
    create_service_app,
    get_engine,
    public_paths,
    routes_without_roles,
    v1_router,
)
from juntos_web.auth import (
    ALL_ROLES,
    Principal,
    Role,
    RoleRequirement,
    TokenError,
    TokenVerifier,
    mint_token,
    require,
)
from juntos_web.health import ReadinessCheck
from juntos_web.problems import (
    PROBLEM_JSON,
    PROBLEM_RESPONSES,
    Problem,
    ProblemDetail,
    problem_doc,
    problema,
)
from juntos_web.settings import ServiceSettings
from juntos_web.wiring import EventWiring

__all__ = [
    "ALL_ROLES",
    "PROBLEM_JSON",
    "PROBLEM_RESPONSES",
    "EngineDep",
    "EventWiring",
    "LifespanHook",
    "Principal",
    "Problem",
    "ProblemDetail",
    "ReadinessCheck",
    "Role",
    "RoleRequirement",
    "ServiceSettings",
    "StartupHook",
    "TokenError",
    "TokenVerifier",
    "app_factory",
    "create_service_app",
    "get_engine",
    "mint_token",
    "problem_doc",
    "problema",
    "public_paths",
    "require",
    "routes_without_roles",
    "v1_router",
]
