"""The maintainers' fault work-order app (`/maint`, phone-sized)."""
