"""Orders: one customer order holding rooms in one or more stores, split into one booking per item."""
