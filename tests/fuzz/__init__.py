"""Helpers shared by the fuzz and fault tests (the tests themselves live in tests/unit and tests/integration)."""
