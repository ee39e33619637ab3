"""Pure model of authentication and authorization: principals, roles, actions, scopes, lockout."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    """A staff role of DESIGN.md; what it may do is in ROLE_ACTIONS, where in the principal's scope."""

    HQ_ADMIN = "hq_admin"
    REGION_MANAGER = "region_manager"
    STORE_MANAGER = "store_manager"
    STAFF = "staff"
    CLEANER = "cleaner"
    MAINTAINER = "maintainer"
    ACCOUNT_MANAGER = "account_manager"
    FINANCE = "finance"


class PrincipalKind(StrEnum):
    """How the caller authenticated."""

    SYSTEM = "system"  # in-process work (seeding, sweepers); acts as HQ admin of its tenant
    API_TOKEN = "api_token"  # a tenant's API bearer token; acts as HQ admin of its tenant
    USER = "user"  # a staff member with a login session
    CUSTOMER = "customer"  # a booking-page token: sees its own bookings only


class Action(StrEnum):
    """Something a principal may do; the resource it is done to is checked separately (scope)."""

    TENANCY_READ = "tenancy.read"  # regions, stores, rooms, availability
    REGIONS_WRITE = "regions.write"  # create regions (tenant level)
    STORES_WRITE = "stores.write"  # create stores, change a store, rotate its key
    ROOMS_WRITE = "rooms.write"  # create, change, delete rooms; blocked time
    DEVICES_READ = "devices.read"
    DEVICES_WRITE = "devices.write"
    BOOKINGS_READ = "bookings.read"
    BOOKINGS_WRITE = "bookings.write"  # book, hold, confirm, reschedule, complete, refund
    BOOKINGS_CANCEL = "bookings.cancel"
    EDGES_READ = "edges.read"  # edges, their events and redemptions
    EDGES_WRITE = "edges.write"  # register and revoke edges
    EDGE_COMMANDS = "edges.command"  # remote unlock, power...
    FAULTS_READ = "faults.read"
    FAULTS_WRITE = "faults.write"
    SETTINGS_READ = "settings.read"  # booking settings, calendar (tenant-level reads allowed)
    STORE_SETTINGS_WRITE = "settings.store.write"
    CHAIN_SETTINGS_WRITE = "settings.chain.write"  # chain and room-type settings, calendar
    USERS_READ = "users.read"
    USERS_WRITE = "users.write"
    AUDIT_READ = "audit.read"
    PAYMENTS_READ = "payments.read"  # orders' payments and refunds
    PAYMENTS_REFUND = "payments.refund"  # pay refunds back (retry a failed one)
    PAYMENTS_AUDIT = "payments.audit"  # rejected provider callbacks (tenant level)
    REPORTS_READ = "reports.read"  # occupancy, revenue, redemption, peak hours, ranking
    SERVICE_CALLS_READ = "service_calls.read"  # customers' calls from rooms' QR codes


A = Action
_READS = frozenset({A.TENANCY_READ, A.SETTINGS_READ})

# The one table of who may do what (inside their scope).
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.HQ_ADMIN: frozenset(Action),
    Role.REGION_MANAGER: _READS
    | {
        A.STORES_WRITE,
        A.ROOMS_WRITE,
        A.DEVICES_READ,
        A.DEVICES_WRITE,
        A.BOOKINGS_READ,
        A.BOOKINGS_WRITE,
        A.BOOKINGS_CANCEL,
        A.EDGES_READ,
        A.EDGES_WRITE,
        A.EDGE_COMMANDS,
        A.FAULTS_READ,
        A.FAULTS_WRITE,
        A.STORE_SETTINGS_WRITE,
        A.USERS_READ,
        A.USERS_WRITE,
        A.PAYMENTS_READ,
        A.PAYMENTS_REFUND,
        A.REPORTS_READ,
        A.SERVICE_CALLS_READ,
    },
    Role.STORE_MANAGER: _READS
    | {
        A.ROOMS_WRITE,
        A.DEVICES_READ,
        A.DEVICES_WRITE,
        A.BOOKINGS_READ,
        A.BOOKINGS_WRITE,
        A.BOOKINGS_CANCEL,
        A.EDGES_READ,
        A.EDGE_COMMANDS,
        A.FAULTS_READ,
        A.FAULTS_WRITE,
        A.STORE_SETTINGS_WRITE,
        A.REPORTS_READ,
        A.PAYMENTS_READ,
        A.PAYMENTS_REFUND,
        A.SERVICE_CALLS_READ,
    },
    Role.STAFF: _READS
    | {
        A.DEVICES_READ,
        A.BOOKINGS_READ,
        A.BOOKINGS_WRITE,
        A.BOOKINGS_CANCEL,
        A.EDGE_COMMANDS,
        A.FAULTS_READ,
        A.SERVICE_CALLS_READ,
    },
    Role.CLEANER: frozenset({A.TENANCY_READ}),
    Role.MAINTAINER: frozenset({A.TENANCY_READ, A.DEVICES_READ, A.FAULTS_READ, A.FAULTS_WRITE}),
    Role.ACCOUNT_MANAGER: _READS | {A.BOOKINGS_READ, A.BOOKINGS_WRITE, A.BOOKINGS_CANCEL},
    Role.FINANCE: _READS
    | {A.BOOKINGS_READ, A.AUDIT_READ, A.REPORTS_READ, A.PAYMENTS_READ, A.PAYMENTS_REFUND, A.PAYMENTS_AUDIT},
}

# What a customer may do, and only to their own bookings.
CUSTOMER_ACTIONS = frozenset({A.BOOKINGS_READ, A.BOOKINGS_CANCEL})

# Roles that see their whole tenant unless given regions or stores; the others see only their scope.
TENANT_WIDE_ROLES = frozenset({Role.HQ_ADMIN, Role.ACCOUNT_MANAGER, Role.FINANCE})
# Roles scoped by region (region_ids) and by store (store_ids).
REGION_ROLES = frozenset({Role.REGION_MANAGER, Role.MAINTAINER})
STORE_ROLES = frozenset({Role.STORE_MANAGER, Role.STAFF, Role.CLEANER})

# Actions on the tenant as a whole: only principals with a tenant-wide reach may take them.
TENANT_LEVEL_ACTIONS = frozenset({A.REGIONS_WRITE, A.CHAIN_SETTINGS_WRITE, A.AUDIT_READ, A.PAYMENTS_AUDIT})

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 10

SYSTEM_ACTOR = "system"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request: tenant, kind, role and reach (regions, stores, own bookings).

    `store_ids` holds every store the principal reaches (those given and those of its regions),
    resolved when the principal is made, so scope checks need no I/O. `Principal(tenant_id, actor)`
    is an in-process system caller acting as HQ admin of the tenant.
    """

    tenant_id: str
    actor: str
    kind: PrincipalKind = PrincipalKind.SYSTEM
    role: Role | None = Role.HQ_ADMIN
    region_ids: frozenset[str] = field(default_factory=frozenset)
    store_ids: frozenset[str] = field(default_factory=frozenset)
    user_id: str | None = None
    booking_refs: frozenset[str] = field(default_factory=frozenset)

    @property
    def tenant_wide(self) -> bool:
        """True when the principal reaches every region and store of its tenant."""
        if self.kind is PrincipalKind.CUSTOMER or self.role is None:
            return False
        return self.role in TENANT_WIDE_ROLES and not self.region_ids and not self.store_ids


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a resource sits: its tenant and, when it has them, region, store and booking."""

    tenant_id: str
    region_id: str | None = None
    store_id: str | None = None
    booking_ref: str | None = None


def actions_of(principal: Principal) -> frozenset[Action]:
    """What the principal's role (or kind) allows, wherever it reaches."""
    if principal.kind is PrincipalKind.CUSTOMER:
        return CUSTOMER_ACTIONS
    if principal.role is None:
        return frozenset()
    return ROLE_ACTIONS[principal.role]


def permits(principal: Principal, action: Action) -> bool:
    """True when the principal may take action somewhere (tenant-level actions need a tenant-wide reach)."""
    if action not in actions_of(principal):
        return False
    return action not in TENANT_LEVEL_ACTIONS or principal.tenant_wide


def reaches(principal: Principal, scope: Scope) -> bool:
    """True when the resource at scope lies inside the principal's reach (no action considered)."""
    if scope.tenant_id != principal.tenant_id:
        return False
    if principal.kind is PrincipalKind.CUSTOMER:
        return scope.booking_ref is not None and scope.booking_ref in principal.booking_refs
    if principal.tenant_wide:
        return True
    if scope.store_id is not None:
        return scope.store_id in principal.store_ids or (
            scope.region_id is not None and scope.region_id in principal.region_ids
        )
    if scope.region_id is not None:
        return scope.region_id in principal.region_ids
    return False  # a tenant-level resource


def can(principal: Principal, action: Action, scope: Scope) -> bool:
    """True when the principal may take action on the resource at scope."""
    if not permits(principal, action):
        return False
    if scope.region_id is None and scope.store_id is None and scope.booking_ref is None:
        # tenant-level resources: readable by anyone of the tenant allowed to read settings/tenancy
        return scope.tenant_id == principal.tenant_id and (principal.tenant_wide or action in _READS)
    return reaches(principal, scope)


def in_reach(
    principal: Principal,
    tenant_id: str,
    *,
    store_id: str | None = None,
    region_id: str | None = None,
    booking_ref: str | None = None,
) -> bool:
    """`reaches` for the services' lookups: the row's tenant, store, region and booking."""
    return reaches(principal, Scope(tenant_id, region_id, store_id, booking_ref))


def user_scope_error(role: Role, region_ids: frozenset[str], store_ids: frozenset[str]) -> str | None:
    """Why a user's role and scope do not fit together, or None (region roles need regions...)."""
    if role in REGION_ROLES and (not region_ids or store_ids):
        return f"a {role.value} is scoped to one or more regions (and no stores)"
    if role in STORE_ROLES and (not store_ids or region_ids):
        return f"a {role.value} is scoped to one or more stores (and no regions)"
    if role is Role.HQ_ADMIN and (region_ids or store_ids):
        return "an hq_admin sees the whole tenant"
    return None


# Roles a region manager may hand out, to stores of their region only.
REGION_MANAGED_ROLES = frozenset({Role.STORE_MANAGER, Role.STAFF, Role.CLEANER})


def can_manage_user(
    principal: Principal, role: Role, region_ids: frozenset[str], store_ids: frozenset[str]
) -> bool:
    """True when principal may create or change a user of this role and scope (HQ: any; region: staff)."""
    if not permits(principal, Action.USERS_WRITE):
        return False
    if principal.tenant_wide:
        return True
    return (
        role in REGION_MANAGED_ROLES
        and not region_ids
        and bool(store_ids)
        and store_ids <= principal.store_ids
    )


def can_see_user(
    principal: Principal, role: Role, region_ids: frozenset[str], store_ids: frozenset[str]
) -> bool:
    """True when principal may list or read a user (HQ: every user; region manager: their stores' staff)."""
    if not permits(principal, Action.USERS_READ):
        return False
    if principal.tenant_wide:
        return True
    return role in REGION_MANAGED_ROLES and bool(store_ids) and store_ids <= principal.store_ids


@dataclass(frozen=True, slots=True)
class LoginState:
    """A user's failed-login counter and lockout deadline."""

    failed_attempts: int = 0
    locked_until: datetime | None = None


def is_locked(state: LoginState, now: datetime) -> bool:
    """True while a lockout lasts."""
    return state.locked_until is not None and now < state.locked_until


def after_failure(state: LoginState, now: datetime) -> LoginState:
    """The state after a wrong password: the MAX_FAILED_LOGINS-th failure in a row locks for LOCKOUT."""
    attempts = 0 if state.locked_until is not None and now >= state.locked_until else state.failed_attempts
    attempts += 1
    if attempts >= MAX_FAILED_LOGINS:
        return LoginState(failed_attempts=0, locked_until=now + LOCKOUT)
    return LoginState(failed_attempts=attempts, locked_until=None)


def after_success() -> LoginState:
    """The state after a good login: counters cleared."""
    return LoginState()


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password has at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 256:
        return "a password has at most 256 characters"
    return None


CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(session_token: str) -> str:
    """The anti-forgery token of a cookie session: pages echo it in a header or form field on writes.

    Derived from the session's secret, so it needs no storage and dies with the session; another
    site can read neither.
    """
    return hashlib.sha256(f"gatehouse-csrf:{session_token}".encode()).hexdigest()[:40]


def csrf_ok(session_token: str, presented: str | None) -> bool:
    """Whether presented is the session's anti-forgery token (compared in constant time)."""
    return presented is not None and hmac.compare_digest(csrf_token(session_token), presented)


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
