"""API authentication for the skeleton: bearer tokens resolved to a tenant."""
