"""What the ``lapicque`` command and its value parsers share: the user-error type and the limits (stdlib only)."""

__all__ = ["CLIError", "MAX_STEPS", "MAX_NEURONS", "RASTER_ROWS", "OTHER_MODELS"]


class CLIError(Exception):
    """A user error on the command line (printed as one line, exit status 2)."""

    __module__ = "lapicque.cli"


#: the longest run, in steps: step indices are int32 in the compiled loop and in the results
MAX_STEPS = 2 ** 31 - 1
#: the largest population (``--n``, ``fi --steps``): neuron indices are int32 in the spike events
MAX_NEURONS = 2 ** 31 - 1
#: at most this many neurons are drawn in the raster of ``run --plot`` (evenly spaced over the population)
RASTER_ROWS = 1000

#: the models the command runs besides ``lapicque.MODELS`` (the 13 integrate-and-fire models, which come first):
#: the one place that says which (``lapicque list``'s data, ``run`` and ``fi`` read it); each takes its input
#: in its own unit (``input_unit``): uA (HH, WangBuzsakiHH, MorrisLecar), mV/ms (Izhikevich), a plain number
#: (FitzHughNagumo, HindmarshRose), mA (CubaLIF, CobaLIF)
OTHER_MODELS = ("HH", "WangBuzsakiHH", "MorrisLecar", "Izhikevich", "IzhikevichRef", "FitzHughNagumo",
                "HindmarshRose", "CubaLIF", "CobaLIF")
