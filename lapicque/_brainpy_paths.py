"""brainpy.state's submodule paths in lapicque: ``brainpy.state.lif.LIF`` is ``lapicque.lif.LIF``.

Scripts import from brainpy.state's submodules (``from brainpy.state.hh import HH``,
``brainpy.state.synouts.COBA``); changing ``brainpy.state`` to ``lapicque`` must keep
them working.  Importing this module (``lapicque/__init__.py`` does, at its end) puts
one small alias module per submodule in ``sys.modules`` and on the package:
``lapicque.lif``, ``lapicque.hh``, ...  An alias holds no code and imports nothing:
its names resolve, on first use, to lapicque's public names (``lapicque.lif.LIF is
lapicque.LIF``), so the package keeps one place per class, ``import lapicque`` stays
as cheap as before, and ``dir(lapicque)`` does not list the aliases.

The table below is brainpy.state 2.9.0's: each submodule's ``__all__`` plus the
base classes scripts import from it (``Neuron``, ``Synapse``, ``SynOut``, ...).
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
import types

__all__ = ["SUBMODULES", "install"]

_NEURON, _SYNAPSE = ("Neuron",), ("Synapse",)

#: brainpy.state submodule -> the names it offers (its ``__all__``, then base classes it re-exports)
SUBMODULES = {
    "delay": ("InputDelay",),
    "exponential": ("Expon", "DualExpon") + _SYNAPSE,
    "hh": ("HH", "MorrisLecar", "WangBuzsakiHH") + _NEURON,
    "inputs": ("SpikeTime", "PoissonSpike", "PoissonEncoder", "PoissonInput", "poisson_input", "SectionInput",
               "ConstantInput", "StepInput", "RampInput", "SinusoidalInput", "OUProcessInput", "WienerProcessInput"),
    "izhikevich": ("Izhikevich", "IzhikevichRef") + _NEURON,
    "lif": ("IF", "LIF", "ExpIF", "ExpIFRef", "AdExIF", "AdExIFRef", "LIFRef", "ALIF", "QuaIF", "AdQuaIF",
            "AdQuaIFRef", "Gif", "GifRef", "CubaLIF", "CobaLIF") + _NEURON,
    "projection": ("Projection", "AlignPostProj", "DeltaProj", "CurrentProj", "align_pre_projection",
                   "align_post_projection", "Dynamics", "SynOut"),
    "readout": ("LeakyRateReadout",),
    "reduced": ("FitzHughNagumo", "HindmarshRose") + _NEURON,
    "stp": ("STP", "STD") + _SYNAPSE,
    "synapse": ("Alpha", "AMPA", "GABAa", "BioNMDA") + _SYNAPSE,
    "synaptic_projection": ("SymmetryGapJunction", "AsymmetryGapJunction", "Projection"),
    "synouts": ("SynOut", "COBA", "CUBA", "MgBlock"),
}

#: what to do instead, for names of the table that lapicque does not have
_INSTEAD = {
    "InputDelay": "give the projection delay=... (AlignPostProj, CurrentProj and DeltaProj take one; whole steps, "
                  "floor(d/dt + 1/2))",
}


def _where(name: str) -> str:
    """Where else ``name`` is, for an error message."""
    subs = [f"lapicque.{sub}" for sub, names in SUBMODULES.items() if name in names]
    return f" It is in {', '.join(subs)} (and is lapicque.{name})." if subs else ""


def _make(package: str, sub: str) -> types.ModuleType:
    full, names = f"{package}.{sub}", SUBMODULES[sub]
    module = types.ModuleType(full, f"brainpy.state.{sub}'s names in lapicque: {', '.join(names)}.")
    module.__spec__ = importlib.machinery.ModuleSpec(full, None, origin=f"alias of brainpy.state.{sub}")
    module.__package__ = package

    def __getattr__(name):
        top = sys.modules[package]
        if name == "__all__":
            return [n for n in names if n in getattr(top, "__all__", ())]
        if name not in names:
            raise AttributeError(f"module {full!r} has no attribute {name!r} (brainpy.state.{sub} has none)."
                                 f"{_where(name)}")
        try:
            value = getattr(top, name)
        except AttributeError:
            hint = f" Instead, {_INSTEAD[name]}." if name in _INSTEAD else ""
            raise AttributeError(f"module {full!r} has no attribute {name!r}: lapicque has no counterpart of "
                                 f"brainpy.state.{sub}.{name}.{hint}") from None
        module.__dict__[name] = value
        return value

    def __dir__():
        return sorted(set(names) | {"__all__", "__doc__", "__name__"})

    module.__getattr__, module.__dir__ = __getattr__, __dir__
    return module


def install(package: str = __package__) -> None:
    """Put the alias modules in ``sys.modules`` and on ``package`` (idempotent; real submodules win)."""
    top = sys.modules[package]
    here = os.path.dirname(os.path.abspath(top.__file__))
    for sub in SUBMODULES:
        full = f"{package}.{sub}"
        if os.path.exists(os.path.join(here, f"{sub}.py")) or os.path.isdir(os.path.join(here, sub)):
            continue  # a real lapicque module of that name is never shadowed
        module = sys.modules.setdefault(full, _make(package, sub))
        if sub not in vars(top):
            setattr(top, sub, module)


install()
