"""Booking settings: set chain-wide, per room type and per store; resolved store > room type > chain."""
