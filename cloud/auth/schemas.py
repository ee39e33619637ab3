"""Request and response models of login, users and booking tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cloud.auth.model import Role


class LoginIn(BaseModel):
    """A login attempt."""

    login: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=256)


class MeOut(BaseModel):
    """Who the caller is and what they reach."""

    tenant_id: str
    kind: str
    actor: str
    role: Role | None
    user_id: str | None
    region_ids: list[str]
    store_ids: list[str]
    actions: list[str]


class SessionOut(BaseModel):
    """A new session: its opaque token (also set as the HttpOnly cookie) and expiry."""

    token: str
    csrf_token: str  # send as X-CSRF-Token on writes that rely on the cookie
    expires_at: datetime
    me: MeOut


class PasswordChangeIn(BaseModel):
    """A user's change of their own password."""

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class UserCreate(BaseModel):
    """A new user."""

    login: str = Field(min_length=3, max_length=200)
    display_name: str = Field(default="", max_length=200)
    role: Role
    password: str = Field(min_length=1, max_length=256)
    region_ids: list[str] = Field(default_factory=list)
    store_ids: list[str] = Field(default_factory=list)


class UserUpdate(BaseModel):
    """Changes to a user (absent: unchanged)."""

    display_name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    region_ids: list[str] | None = None
    store_ids: list[str] | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=256)
    unlock: bool = False


class UserOut(BaseModel):
    """A user as shown (never its password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    login: str
    display_name: str
    role: Role
    region_ids: list[str]
    store_ids: list[str]
    active: bool
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime


class BookingTokenIn(BaseModel):
    """Ask for a customer's booking-page token."""

    ref: str = Field(min_length=1, max_length=40)


class BookingTokenOut(BaseModel):
    """A customer's booking-page token (shown once)."""

    ref: str
    token: str
    expires_at: datetime
