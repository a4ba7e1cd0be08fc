"""What the ``lapicque`` command and its value parsers share: the user-error type and the limits (stdlib only)."""

__all__ = ["CLIError", "MAX_STEPS", "MAX_NEURONS", "RASTER_ROWS"]


class CLIError(Exception):
    """A user error on the command line (printed as one line, exit status 2)."""

    __module__ = "lapicque.cli"


#: the longest run, in steps: step indices are int32 in the compiled loop and in the results
MAX_STEPS = 2 ** 31 - 1
#: the largest population (``--n``, ``fi --steps``): neuron indices are int32 in the spike events
MAX_NEURONS = 2 ** 31 - 1
#: at most this many neurons are drawn in the raster of ``run --plot`` (evenly spaced over the population)
RASTER_ROWS = 1000
