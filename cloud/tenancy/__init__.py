"""Tenancy: tenant -> region -> store -> room, every query scoped by the caller's tenant."""
