"""Typed FastAPI dependencies: the app's collaborators, a session per request, the calling tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.auth.model import Principal, bearer_token
from cloud.auth.services import resolve_token
from cloud.clock import Clock
from cloud.crypto import FieldCipher
from cloud.edgelink.commands import LinkRegistry
from cloud.edgelink.notifier import FeedNotifier
from cloud.uow import UnitOfWork


@dataclass(slots=True)
class AppContext:
    """What routes need from the composition root (set on `app.state.gatehouse`)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    cipher: FieldCipher
    notifier: FeedNotifier
    registry: LinkRegistry
    ca_pem: bytes
    grpc_target: str
    enroll_target: str


def get_context(request: Request) -> AppContext:
    """The app's context."""
    context: AppContext = request.app.state.gatehouse
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    """One session per request (services commit; anything uncommitted is rolled back)."""
    async with context.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def get_uow(session: SessionDep, context: ContextDep) -> UnitOfWork:
    """The request's unit of work (its commits wake the store's edge streams)."""
    return UnitOfWork(session, context.notifier)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def get_clock(context: ContextDep) -> Clock:
    """The app's clock."""
    return context.clock


ClockDep = Annotated[Clock, Depends(get_clock)]


def get_cipher(context: ContextDep) -> FieldCipher:
    """The master-key field cipher."""
    return context.cipher


CipherDep = Annotated[FieldCipher, Depends(get_cipher)]


async def get_principal(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """The caller behind `Authorization: Bearer <token>` (401 problem otherwise)."""
    principal = await resolve_token(session, bearer_token(authorization))
    # End the read transaction now: on SQLite every transaction holds the write lock.
    await session.commit()
    return principal


ApiPrincipal = Annotated[Principal, Depends(get_principal)]
CurrentTenant = ApiPrincipal
