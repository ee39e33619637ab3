"""The customer's booking pages: store -> room -> slot -> pay -> the booking page with its rotating QR."""
