"""Integration tests of the provisioning tools against a real cloud."""
