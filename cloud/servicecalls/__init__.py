"""Service calls: a customer at a room's QR calls the staff; the call goes to the store's edge and is kept."""
