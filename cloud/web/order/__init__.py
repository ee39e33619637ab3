"""The page behind every room's ordering QR: a customer calls the staff to the room."""
