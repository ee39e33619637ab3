"""Booking, the availability hub: holds, life cycle, no overlap, timelines, blocked time, edge feed."""
