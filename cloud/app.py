"""The FastAPI application: routers of every domain, problem handlers, health and metrics."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from cloud.booking.routes import router as booking_router
from cloud.deps import AppContext, ContextDep
from cloud.devices.routes import router as devices_router
from cloud.edgelink.routes import router as edgelink_router
from cloud.problems import install_problem_handlers, problem
from cloud.tenancy.routes import router as tenancy_router


def build_app(context: AppContext) -> FastAPI:
    """The cloud's HTTP app wired to context."""
    app = FastAPI(title="Gatehouse cloud", version="0.1.0")
    app.state.gatehouse = context
    install_problem_handlers(app)
    for router in (tenancy_router, devices_router, booking_router, edgelink_router):
        app.include_router(router)

    @app.get("/healthz", tags=["ops"], response_model=None)
    async def healthz(ctx: ContextDep) -> dict[str, str] | Response:
        """Liveness and database reachability."""
        try:
            async with ctx.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
        except Exception as err:  # any database failure means "not healthy"
            return problem(503, "database_unavailable", "Database unavailable", repr(err))
        return {"status": "ok"}

    @app.get("/metrics", tags=["ops"])
    async def metrics() -> Response:
        """Prometheus metrics of this process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
