"""Pricing of room time: price plans by time band and day type, peak surcharges, off-peak discounts."""
