"""Devices of a store: locks, power switches, scanners, with their protocol addresses."""
