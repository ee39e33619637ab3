"""Every cloud table, imported once so `Base.metadata` is complete (for Alembic and tests)."""

from __future__ import annotations

from cloud.audit import tables as audit_tables
from cloud.auth import tables as auth_tables
from cloud.booking import tables as booking_tables
from cloud.devices import tables as devices_tables
from cloud.edgelink import tables as edgelink_tables
from cloud.faults import tables as faults_tables
from cloud.orders import tables as orders_tables
from cloud.orm import Base
from cloud.payments import tables as payments_tables
from cloud.pricing import tables as pricing_tables
from cloud.rules import tables as rules_tables
from cloud.servicecalls import tables as servicecalls_tables
from cloud.storekeys import tables as storekeys_tables
from cloud.tenancy import tables as tenancy_tables

TABLE_MODULES = (
    tenancy_tables,
    devices_tables,
    storekeys_tables,
    booking_tables,
    auth_tables,
    audit_tables,
    edgelink_tables,
    faults_tables,
    pricing_tables,
    rules_tables,
    orders_tables,
    payments_tables,
    servicecalls_tables,
)
target_metadata = Base.metadata
