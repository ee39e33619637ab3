"""The HQ admin web app (`/admin`)."""
