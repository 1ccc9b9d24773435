"""The Litestar application factory: `create_app(settings)` wires everything together."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Router
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.static_files import create_static_files_router

from gymgate import __version__, request_lines
from gymgate.api.auth import authenticated_gate
from gymgate.api.controllers.audit_export import AuditExportController
from gymgate.api.controllers.gate import GateController
from gymgate.api.controllers.gate_sync import GateSyncController
from gymgate.api.controllers.gates import GatesController
from gymgate.api.controllers.member import MemberController
from gymgate.api.controllers.meta import MetaController
from gymgate.api.controllers.operator import OperatorController
from gymgate.api.controllers.passes import PassController
from gymgate.api.controllers.payments import PaymentController
from gymgate.api.controllers.wallet import WalletController
from gymgate.api.controllers.webhooks import WebhookController
from gymgate.api.deps import provide_runtime
from gymgate.api.errors import EXCEPTION_HANDLERS
from gymgate.api.gate_lane import GateLane
from gymgate.api.limits import request_limits
from gymgate.api.request_id import RequestIdMiddleware
from gymgate.api.security_headers import add_security_headers
from gymgate.api.web_files import PagesOnly
from gymgate.clock import Clock
from gymgate.logs import logging_plugin
from gymgate.mail import Mailer
from gymgate.metrics import record_keys
from gymgate.payments import PaymentProvider
from gymgate.runtime import Runtime
from gymgate.settings import Settings

__all__ = ["create_app", "create_app_from_env"]

log = logging.getLogger("gymgate")
PROJECT_WEB_DIR = Path(__file__).resolve().parents[3] / "web"
# Young collections ten times rarer than CPython's 700; full ones rarer still (see below).
GC_THRESHOLDS = (7_000, 20, 100)


def _web_dir(settings: Settings) -> Path | None:
    for candidate in (settings.web_dir, PROJECT_WEB_DIR, Path.cwd() / "web"):
        if candidate is not None and (candidate / "index.html").is_file():
            return candidate.resolve()
    return None


def _settle_heap() -> None:
    """Once the server is up: move what start-up allocated out of the collector's sight.

    Every object alive now (modules, the app, its routes, the runtime) lives as long as the
    process. Left in the tracked generations, each full collection walks all of them: 70 ms
    every few seconds under load, the gate's worst tail. Frozen, a full pass walks only
    what requests allocated since.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def _count_keys(request: Request[Any, Any, Any]) -> None:
    """Before /metrics answers: the key gauge reflects the key set in use (CLI rotations too)."""
    runtime: Runtime = request.app.state.runtime
    record_keys(runtime.keys.current())


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    provider: PaymentProvider | None = None,
    mailer: Mailer | None = None,
    settle_heap: bool = False,
) -> Litestar:
    """A gymgate app; the database and keys are opened in its lifespan, not here.

    `settle_heap` tunes the garbage collector for a server process (see _settle_heap);
    tests, which build many apps in one process, leave it off.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with Runtime.open(
            settings, clock=clock, provider=provider, mailer=mailer, create_database=True
        ) as runtime:
            app.state.runtime = runtime
            runtime.say_where_mail_goes()
            if settle_heap:
                _settle_heap()
            try:
                async with (
                    runtime.sweeper.running(),
                    runtime.pass_links.retrying(),
                    runtime.audit_rollup.running(),
                ):
                    yield
            finally:
                request_lines.flush()  # a worker process exits without running atexit

    route_handlers: list[object] = [
        PaymentController,
        PassController,
        MemberController,
        WalletController,
        Router(
            "/",
            route_handlers=[GateController, GateSyncController],
            # Not "gate": a body field of the same name would make Litestar report its
            # validation errors as a 500 (it blames a dependency).
            dependencies={"gate_name": Provide(authenticated_gate)},
        ),
        OperatorController,
        GatesController,
        AuditExportController,
        MetaController,
        WebhookController,
        # Prometheus's text format is for scrapers, not API clients: left out of OpenAPI.
        Router(
            "/",
            route_handlers=[PrometheusController],
            before_request=_count_keys,
            include_in_schema=False,
        ),
    ]
    web_dir = _web_dir(settings)
    if web_dir is not None:
        route_handlers.append(
            create_static_files_router(
                path="/",
                directories=[web_dir],
                file_system=PagesOnly(web_dir),  # not package*.json, not node_modules/
                html_mode=True,
                name="web",
            )
        )
    limits, install_throttle = request_limits(settings, clock)
    return Litestar(
        route_handlers=route_handlers,  # type: ignore[arg-type]
        lifespan=[lifespan],
        on_app_init=[install_throttle],
        middleware=[
            RequestIdMiddleware,
            # Not on /verify: these per-request metrics cost ~45 µs a call, twice Litestar's own
            # overhead, and gymgate_verify_* already count and time every decision. Outside
            # the limits, so their 415s and 429s are counted as such.
            PrometheusConfig(
                app_name="gymgate", prefix="gymgate_http", group_path=True, exclude=["^/verify$"]
            ).middleware,
            *limits,
            GateLane,  # a well-formed /verify is answered here, past every limit
        ],
        before_send=[add_security_headers],  # every response, the router's 404/405 too
        plugins=[logging_plugin(settings.log_level)],
        dependencies={"runtime": Provide(provide_runtime, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        cors_config=(
            CORSConfig(
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
            )
            if settings.cors_origins
            else None
        ),
        openapi_config=OpenAPIConfig(
            title="gymgate",
            version=__version__,
            description="Pay, get a signed QR pass, be let in exactly once.",
            path="/schema",
            # The JSON only: Litestar's browsable UIs load unpinned scripts from a CDN into
            # the origin whose localStorage holds the admin token and gate secrets.
            render_plugins=[JsonRenderPlugin()],
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        debug=False,
    )


def create_app_from_env() -> Litestar:
    """Factory for `uvicorn --factory` (each worker reads the same environment)."""
    return create_app(Settings.from_env(os.environ), settle_heap=True)
