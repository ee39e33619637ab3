"""Test support: throwaway servers and helpers shared by the suite."""
