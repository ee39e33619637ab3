"""Fault work orders: faults reported by edges, routed by region and severity, resolved on site."""
