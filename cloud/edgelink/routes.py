"""HTTP routes of the edge link: edges and their tokens, revocation, events, redemptions, commands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cloud.deps import ClockDep, ContextDep, EdgeCommands, EdgesRead, EdgesWrite, SessionDep, UowDep
from cloud.edgelink import services
from cloud.edgelink.commands import run_command
from cloud.edgelink.schemas import CommandIn, CommandOut, EdgeCreated, EdgeOut, EventOut, RedemptionOut

router = APIRouter(prefix="/api/v1", tags=["edgelink"])

Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post("/stores/{store_id}/edges", status_code=201)
async def create_edge(
    store_id: str, principal: EdgesWrite, uow: UowDep, clock: ClockDep, context: ContextDep
) -> EdgeCreated:
    """Register an edge for a store; its bootstrap token is shown once."""
    edge, token = await services.create_edge(uow, clock, principal, store_id)
    return EdgeCreated(
        edge_id=edge.id,
        store_id=edge.store_id,
        bootstrap_token=token,
        token_expires_at=edge.token_expires_at,
        ca_pem=context.ca_pem.decode(),
        grpc_target=context.grpc_target,
        enroll_target=context.enroll_target,
    )


@router.get("/stores/{store_id}/edges")
async def list_edges(store_id: str, principal: EdgesRead, session: SessionDep) -> list[EdgeOut]:
    """The edges of a store."""
    return [EdgeOut.model_validate(e) for e in await services.list_edges(session, principal, store_id)]


@router.post("/edges/{edge_id}/revoke")
async def revoke_edge(
    edge_id: str, principal: EdgesWrite, uow: UowDep, clock: ClockDep, context: ContextDep
) -> EdgeOut:
    """Revoke an edge and close its live stream at once."""
    edge = await services.revoke_edge(uow, clock, principal, edge_id)
    context.registry.close_edge(edge.id, "PERMISSION_DENIED", "edge revoked")
    return EdgeOut.model_validate(edge)


@router.get("/stores/{store_id}/events")
async def list_events(
    store_id: str, principal: EdgesRead, session: SessionDep, limit: Limit = 100
) -> list[EventOut]:
    """A store's latest edge events, newest first."""
    return [
        EventOut.model_validate(e) for e in await services.list_events(session, principal, store_id, limit)
    ]


@router.get("/stores/{store_id}/redemptions")
async def list_redemptions(
    store_id: str, principal: EdgesRead, session: SessionDep, limit: Limit = 100
) -> list[RedemptionOut]:
    """A store's latest redemptions, newest first."""
    rows = await services.list_redemptions(session, principal, store_id, limit)
    return [RedemptionOut.model_validate(r) for r in rows]


@router.post("/stores/{store_id}/commands")
async def send_command(
    store_id: str, body: CommandIn, principal: EdgeCommands, clock: ClockDep, context: ContextDep
) -> CommandOut:
    """Send a command to the store's edge and wait for its result (504 edge_timeout, 409 edge_offline)."""
    outcome = await run_command(
        context.sessionmaker,
        clock,
        context.registry,
        principal,
        store_id=store_id,
        kind=body.kind,
        args=body.args,
        timeout_s=body.timeout_s,
    )
    return CommandOut(
        id=outcome.id,
        status=outcome.status.value,
        ok=outcome.ok,
        code=outcome.code,
        message=outcome.message,
        result=outcome.result,
    )
