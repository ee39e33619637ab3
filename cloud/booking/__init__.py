"""Booking (skeleton of the availability hub): confirmed bookings of room time, their codes."""
