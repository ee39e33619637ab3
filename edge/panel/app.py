"""The local staff panel: a small FastAPI app (health, state, redeem, clean, alarm) and a room grid."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from edge.faults.model import FaultCode, FaultSpec
from edge.faults.services import FaultService
from edge.panel.views import PanelSources, gather_state
from edge.redemption import RedemptionResult, RedemptionService
from edge.sessions.services import SessionService

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


class CodeRedeem(BaseModel):
    """Redeem a code typed or scanned at the panel."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=512)


class OrderRedeem(BaseModel):
    """Redeem by order number and the last 4 digits of the phone."""

    model_config = ConfigDict(extra="forbid")
    order_no: str = Field(min_length=1, max_length=64)
    phone_last4: str = Field(min_length=1, max_length=8)
    room_id: str | None = Field(default=None, max_length=64)


class CleanedRequest(BaseModel):
    """Staff mark a room clean by hand (the same as the cleaner's scan of its QR)."""

    model_config = ConfigDict(extra="forbid")
    room_id: str = Field(min_length=1, max_length=64)


class AlarmRequest(BaseModel):
    """Staff raise the emergency alarm from the panel: every door opens."""

    model_config = ConfigDict(extra="forbid")
    code: Literal["emergency", "smoke"] = "emergency"
    room_id: str | None = Field(default=None, max_length=64)


class RedeemResponse(BaseModel):
    """The outcome of a redemption at the panel."""

    ok: bool
    reason: str
    outcome: str
    booking_ref: str | None
    room_id: str | None
    known: bool | None

    @classmethod
    def of(cls, result: RedemptionResult) -> RedeemResponse:
        """From the service's result."""
        return cls(
            ok=result.ok,
            reason=result.reason,
            outcome=result.outcome.value,
            booking_ref=result.booking_ref,
            room_id=result.room_id,
            known=result.known,
        )


def _clock_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%H:%M")


TEMPLATES.env.filters["hhmm"] = _clock_time


def create_panel(
    sources: PanelSources,
    redemption: RedemptionService,
    *,
    faults: FaultService | None = None,
    sessions: SessionService | None = None,
) -> FastAPI:
    """The panel app wired to its sources and the redemption, fault and session services."""
    app = FastAPI(title="Gatehouse edge panel", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/state")
    async def state() -> dict[str, Any]:
        return (await gather_state(sources)).as_dict()

    @app.post("/api/redeem")
    async def redeem(body: Annotated[CodeRedeem | OrderRedeem, Body()]) -> RedeemResponse:
        if isinstance(body, CodeRedeem):
            result = await redemption.redeem_code(body.code)
        else:
            result = await redemption.redeem_order(body.order_no, body.phone_last4, body.room_id)
        return RedeemResponse.of(result)

    @app.post("/api/cleaned")
    async def cleaned(body: CleanedRequest) -> dict[str, Any]:
        if sessions is None:
            return {"ok": False, "reason": "unsupported", "room_id": body.room_id}
        result = await sessions.mark_cleaned(body.room_id, actor="panel")
        return {"ok": result.ok, "reason": result.reason, "room_id": result.room_id}

    @app.post("/api/alarm")
    async def alarm(body: AlarmRequest) -> dict[str, Any]:
        if faults is None:
            return {"ok": False, "reason": "unsupported"}
        spec = FaultSpec(FaultCode(body.code), "raised from the staff panel", None, "panel", body.room_id)
        outcome = await faults.alarm(spec)
        return {"ok": True, "opened": list(outcome.opened), "failed": list(outcome.failed)}

    @app.get("/", response_class=HTMLResponse)
    async def grid(request: Request) -> HTMLResponse:
        panel = await gather_state(sources)
        return TEMPLATES.TemplateResponse(request, "grid.html", {"panel": panel})

    return app
