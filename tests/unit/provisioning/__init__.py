"""Unit tests of the provisioning tools."""
