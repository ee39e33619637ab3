"""Store keys: per-store secrets (versioned, encrypted at rest) from which booking keys derive."""
