"""Exception types raised by lapicque.

Every error raised for a user mistake names the offending parameter (or
environment variable) and says what was expected and what was given.
"""

__all__ = ["ParameterError", "EnvironmentNotSetError", "StateNotInitializedError", "NonFiniteStateError",
           "NonFiniteInputError", "CoarseTimeStepWarning"]


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


class NonFiniteStateError(FloatingPointError):
    """A run produced NaN or infinity in a state variable.

    Raised by :func:`lapicque.simulate` instead of returning NaN quietly; the
    message names the state, the first neuron and the first step where it
    happened.  Attributes ``state``, ``index``, ``step`` and ``time_ms`` hold
    the same facts.
    """

    def __init__(self, message, state=None, index=None, step=None, time_ms=None):
        super().__init__(message)
        self.state, self.index, self.step, self.time_ms = state, index, step, time_ms


class NonFiniteInputError(ValueError):
    """An input current or delta input holds NaN or inf where its value is known.

    Raised by ``update`` for a concrete (not traced) input: a single NaN would
    otherwise leave the membrane potential NaN for the rest of the run, with
    no spike and no message.
    """


class CoarseTimeStepWarning(UserWarning):
    """The time step is not small against the model's time scales.

    Issued once per model and ``dt`` (see :mod:`lapicque._neurons.timestep` for the
    rule).  Filter it like any warning, e.g.
    ``warnings.simplefilter("ignore", lapicque.CoarseTimeStepWarning)``.
    """
