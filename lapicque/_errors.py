"""Exception types raised by lapicque.

Every error raised for a user mistake names the offending parameter (or
environment variable) and says what was expected and what was given.
"""

__all__ = ["ParameterError", "EnvironmentNotSetError", "StateNotInitializedError"]


class ParameterError(ValueError):
    """A model parameter has an invalid value (sign, ordering, shape, range)."""


class EnvironmentNotSetError(KeyError, RuntimeError):
    """``dt`` or ``t`` is missing from :mod:`brainstate.environ`.

    Subclasses :class:`KeyError` (what brainstate raises for a missing key)
    so existing ``except KeyError`` handlers keep working.
    """

    def __str__(self):  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ""


class StateNotInitializedError(RuntimeError):
    """``update`` (or a state read) was called before ``init_state``."""
