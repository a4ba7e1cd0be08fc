"""lapicque: integrate-and-fire neuron models and networks for JAX with the ``brainpy.state`` API.

Code written for ``brainpy.state`` runs by changing the import::

    import lapicque
    neuron = lapicque.LIF(100, tau=10 * u.ms)

See the README for the model table and ``lapicque.MODELS`` for the registry.

Public names are re-exported from small private modules and imported on
first use (PEP 562), so ``import lapicque`` and ``lapicque --help`` do not
pay for JAX until a name that needs it is touched.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> private module that defines it
_WHERE = {
    "Neuron": "._base", "Param": "._base", "StateSpec": "._base",
    "Dynamics": "._dynamics",
    "IF": "._lif", "LIF": "._lif", "LIFRef": "._lif", "ALIF": "._lif",
    "ExpIF": "._exponential", "ExpIFRef": "._exponential", "AdExIF": "._exponential", "AdExIFRef": "._exponential",
    "QuaIF": "._quadratic", "AdQuaIF": "._quadratic", "AdQuaIFRef": "._quadratic",
    "Gif": "._gif", "GifRef": "._gif",
    "exp_euler": "._integrate",
    "ParameterError": "._errors", "EnvironmentNotSetError": "._errors", "StateNotInitializedError": "._errors",
    "NonFiniteStateError": "._errors", "NonFiniteInputError": "._errors", "CoarseTimeStepWarning": "._errors",
    "simulate": "._simulate", "SimulationResult": "._result", "NetworkResult": "._network_result",
    "SpikeEvents": "._result",
    "save": ".checkpoint", "load": ".checkpoint", "CheckpointDamagedError": ".checkpoint",
    "DtChangeWarning": ".checkpoint",
}
#: public submodules
_SUBMODULES = ("analysis", "checkpoint", "patterns", "plot", "sharding", "report")
#: the network layer (brainpy.state names): each of these modules lists its public names in ``__all__``
_NETWORK = ("._synapses", "._stp", "._outputs", "._projections", "._connectivity", "._poisson")
#: the 13 models, in the reference's order
_MODEL_NAMES = ("IF", "LIF", "LIFRef", "ALIF", "ExpIF", "ExpIFRef", "AdExIF", "AdExIFRef",
                "QuaIF", "AdQuaIF", "AdQuaIFRef", "Gif", "GifRef")


def _network_names():
    return {name: mod for mod in _NETWORK for name in importlib.import_module(mod, __name__).__all__}


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name == "MODELS":  # every model class by name, in the reference's order
        value = {n: __getattr__(n) for n in _MODEL_NAMES}
    elif name == "__all__":
        value = ["MODELS", *_WHERE, *_SUBMODULES, *_network_names()]
    elif name == "__test__":  # for doctest: the public objects not yet loaded (they report __module__ 'lapicque')
        names = [n for n in __getattr__("__all__") if n not in globals() and n not in _SUBMODULES]
        return {n: obj for n in names for obj in [__getattr__(n)] if getattr(obj, "__module__", None) == __name__}
    elif name.startswith("__"):
        raise AttributeError(name)
    else:
        network = _network_names()
        if name not in network:
            raise AttributeError(f"module 'lapicque' has no attribute {name!r}")
        value = getattr(importlib.import_module(network[name], __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__getattr__("__all__")))
