"""Fixtures of the door tests."""

from tests.routing.doors.anthropic_helpers import claude

__all__ = ["claude"]
