"""The FastAPI application: routers of every domain, problem handlers, health and metrics."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from cloud.audit.routes import router as audit_router
from cloud.auth.routes import router as auth_router
from cloud.booking.availability_routes import router as availability_router
from cloud.booking.routes import router as booking_router
from cloud.deps import AppContext, ContextDep
from cloud.devices.routes import router as devices_router
from cloud.edgelink.routes import router as edgelink_router
from cloud.faults.routes import router as faults_router
from cloud.payments.routes import router as payments_router
from cloud.payments.wiring import PaymentsContext
from cloud.pricing.routes import router as pricing_router
from cloud.problems import install_problem_handlers, problem
from cloud.reports.routes import router as reports_router
from cloud.rules.routes import router as rules_router
from cloud.servicecalls.routes import router as servicecalls_router
from cloud.tenancy.routes import router as tenancy_router
from cloud.web.admin.pages import router as admin_router
from cloud.web.booking.pages import STATIC_DIR as BOOKING_STATIC
from cloud.web.booking.pages import router as booking_pages_router
from cloud.web.common import COMMON_STATIC, LoginRequired, login_redirect
from cloud.web.maint.pages import router as maint_router
from cloud.web.order.pages import router as order_pages_router


def build_app(context: AppContext) -> FastAPI:
    """The cloud's HTTP app wired to context."""
    app = FastAPI(title="Gatehouse cloud", version="0.1.0")
    app.state.gatehouse = context
    app.state.payments = PaymentsContext()  # the composition root installs the provider
    install_problem_handlers(app)
    for router in (
        auth_router,
        audit_router,
        tenancy_router,
        devices_router,
        booking_router,
        availability_router,
        rules_router,
        pricing_router,
        edgelink_router,
        faults_router,
        payments_router,
        reports_router,
        booking_pages_router,
        admin_router,
        maint_router,
        servicecalls_router,
        order_pages_router,
    ):
        app.include_router(router)
    app.mount("/book/static", StaticFiles(directory=BOOKING_STATIC), name="booking-static")
    app.mount("/web/static", StaticFiles(directory=COMMON_STATIC), name="web-static")

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, err: LoginRequired) -> Response:
        return login_redirect(request, err)

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
