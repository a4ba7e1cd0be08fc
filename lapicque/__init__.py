"""lapicque: integrate-and-fire neuron models and networks for JAX with the ``brainpy.state`` API.

Code written for ``brainpy.state`` runs by changing the import::

    import lapicque
    neuron = lapicque.LIF(100, tau=10 * u.ms)

See the README for the model table and ``lapicque.MODELS`` for the registry.

The package is built in layers, each a folder (read its ``__init__`` for its purpose):
``_core`` (errors, units, the environment, declarations, the input registry, files) ->
``_neurons`` (the models) and ``_kernels`` (event-driven products) -> ``_network``
(synapses, projections, connectivity, inputs) -> ``_results`` -> ``_engine``
(``simulate``) -> the public modules ``analysis``, ``plot``, ``checkpoint``, ``report``,
``sharding``, ``patterns`` and the command ``cli`` (with ``_cli``).

Public names are re-exported from those private modules and imported on first use
(PEP 562), so ``import lapicque`` and ``lapicque --help`` do not pay for JAX until a
name that needs it is touched.
"""

import importlib as _importlib
from typing import TYPE_CHECKING

from ._core.xla_flags import add_xla_flags as _add_xla_flags

__version__ = "0.1.0"

_add_xla_flags()  # before JAX starts: a user's own loop gets simulate's copy insertion (see _core/xla_flags.py)

#: public name -> the private module that defines it
_WHERE = {
    # neurons
    "Neuron": "._neurons.base", "Param": "._core.declare", "StateSpec": "._core.declare",
    "Dynamics": "._core.dynamics",
    "IF": "._neurons.lif", "LIF": "._neurons.lif", "LIFRef": "._neurons.lif", "ALIF": "._neurons.lif",
    "ExpIF": "._neurons.exponential", "ExpIFRef": "._neurons.exponential", "AdExIF": "._neurons.exponential",
    "AdExIFRef": "._neurons.exponential",
    "QuaIF": "._neurons.quadratic", "AdQuaIF": "._neurons.quadratic", "AdQuaIFRef": "._neurons.quadratic",
    "Gif": "._neurons.gif", "GifRef": "._neurons.gif",
    "exp_euler": "._neurons.integrate",
    "HH": "._neurons.hh", "WangBuzsakiHH": "._neurons.hh", "MorrisLecar": "._neurons.hh",
    "Izhikevich": "._neurons.izhikevich", "IzhikevichRef": "._neurons.izhikevich",
    "FitzHughNagumo": "._neurons.reduced", "HindmarshRose": "._neurons.reduced",
    "CubaLIF": "._neurons.synaptic_lif", "CobaLIF": "._neurons.synaptic_lif",
    # errors
    "ParameterError": "._core.errors", "EnvironmentNotSetError": "._core.errors",
    "StateNotInitializedError": "._core.errors", "NonFiniteStateError": "._core.errors",
    "NonFiniteInputError": "._core.errors", "CoarseTimeStepWarning": "._core.errors",
    # network
    "Synapse": "._network.synapses", "Expon": "._network.synapses", "DualExpon": "._network.synapses",
    "Alpha": "._network.synapses", "AMPA": "._network.synapses", "GABAa": "._network.synapses",
    "BioNMDA": "._network.synapses",
    "STP": "._network.plasticity", "STD": "._network.plasticity",
    "SynOut": "._network.outputs", "COBA": "._network.outputs", "CUBA": "._network.outputs",
    "MgBlock": "._network.outputs",
    "AlignPostProj": "._network.projections", "CurrentProj": "._network.projections",
    "DeltaProj": "._network.projections", "FusedProj": "._network.projections",
    "Projection": "._network.projections",
    "align_pre_projection": "._network.aligned", "align_post_projection": "._network.aligned",
    "SymmetryGapJunction": "._network.gap_junctions", "AsymmetryGapJunction": "._network.gap_junctions",
    "LeakyRateReadout": "._network.readouts",
    "SpikeTime": "._network.stimuli", "ConstantInput": "._network.stimuli", "StepInput": "._network.stimuli",
    "RampInput": "._network.stimuli", "SectionInput": "._network.stimuli", "SinusoidalInput": "._network.stimuli",
    "OUProcessInput": "._network.stimuli", "WienerProcessInput": "._network.stimuli",
    "Connectivity": "._network.connectivity", "PairwiseBernoulli": "._network.connectivity",
    "FixedInDegree": "._network.connectivity", "FixedOutDegree": "._network.connectivity",
    "EdgeList": "._network.connectivity",
    "PoissonSpike": "._network.inputs", "PoissonEncoder": "._network.inputs", "PoissonInput": "._network.inputs",
    "poisson_input": "._network.inputs",
    # running and results
    "simulate": "._engine.simulate", "SimulationResult": "._results.result", "NetworkResult": "._results.network",
    "SpikeEvents": "._results.result",
    "save": ".checkpoint", "load": ".checkpoint", "CheckpointDamagedError": ".checkpoint",
    "DtChangeWarning": ".checkpoint",
}
#: public submodules
_SUBMODULES = ("analysis", "checkpoint", "patterns", "plot", "presets", "sharding", "report")
#: the 13 models, in the reference's order
_MODEL_NAMES = ("IF", "LIF", "LIFRef", "ALIF", "ExpIF", "ExpIFRef", "AdExIF", "AdExIFRef",
                "QuaIF", "AdQuaIF", "AdQuaIFRef", "Gif", "GifRef")

__all__ = ["MODELS", *_WHERE, *_SUBMODULES]

if TYPE_CHECKING:  # what tools (type checkers, IDEs) see; at run time the names are loaded on first use
    from . import analysis, checkpoint, patterns, plot, presets, report, sharding  # noqa: F401
    from ._network.aligned import align_post_projection, align_pre_projection  # noqa: F401
    from ._network.gap_junctions import AsymmetryGapJunction, SymmetryGapJunction  # noqa: F401
    from ._network.readouts import LeakyRateReadout  # noqa: F401
    from ._network.stimuli import (ConstantInput, OUProcessInput, RampInput, SectionInput,  # noqa: F401
                                   SinusoidalInput, SpikeTime, StepInput, WienerProcessInput)
    from ._neurons.hh import HH, MorrisLecar, WangBuzsakiHH  # noqa: F401
    from ._neurons.izhikevich import Izhikevich, IzhikevichRef  # noqa: F401
    from ._neurons.reduced import FitzHughNagumo, HindmarshRose  # noqa: F401
    from ._neurons.synaptic_lif import CobaLIF, CubaLIF  # noqa: F401
    from ._core.declare import Param, StateSpec  # noqa: F401
    from ._core.dynamics import Dynamics  # noqa: F401
    from ._core.errors import (CoarseTimeStepWarning, EnvironmentNotSetError, NonFiniteInputError,  # noqa: F401
                               NonFiniteStateError, ParameterError, StateNotInitializedError)
    from ._engine.simulate import simulate  # noqa: F401
    from ._network.connectivity import (Connectivity, EdgeList, FixedInDegree, FixedOutDegree,  # noqa: F401
                                        PairwiseBernoulli)
    from ._network.inputs import PoissonEncoder, PoissonInput, PoissonSpike, poisson_input  # noqa: F401
    from ._network.outputs import COBA, CUBA, MgBlock, SynOut  # noqa: F401
    from ._network.plasticity import STD, STP  # noqa: F401
    from ._network.projections import AlignPostProj, CurrentProj, DeltaProj, FusedProj, Projection  # noqa: F401
    from ._network.synapses import AMPA, Alpha, BioNMDA, DualExpon, Expon, GABAa, Synapse  # noqa: F401
    from ._neurons.base import Neuron  # noqa: F401
    from ._neurons.exponential import AdExIF, AdExIFRef, ExpIF, ExpIFRef  # noqa: F401
    from ._neurons.gif import Gif, GifRef  # noqa: F401
    from ._neurons.integrate import exp_euler  # noqa: F401
    from ._neurons.lif import ALIF, IF, LIF, LIFRef  # noqa: F401
    from ._neurons.quadratic import AdQuaIF, AdQuaIFRef, QuaIF  # noqa: F401
    from ._results.network import NetworkResult  # noqa: F401
    from ._results.result import SimulationResult, SpikeEvents  # noqa: F401
    from .checkpoint import CheckpointDamagedError, DtChangeWarning, load, save  # noqa: F401


def __getattr__(name):
    if name in _WHERE:
        value = getattr(_importlib.import_module(_WHERE[name], __name__), name)
    elif name in _SUBMODULES:
        value = _importlib.import_module(f".{name}", __name__)
    elif name == "MODELS":  # every model class by name, in the reference's order
        value = {n: __getattr__(n) for n in _MODEL_NAMES}
    elif name == "__test__":  # for doctest: the public objects not yet loaded (they report __module__ 'lapicque')
        names = [n for n in __all__ if n not in globals() and n not in _SUBMODULES]
        return {n: obj for n in names for obj in [__getattr__(n)] if getattr(obj, "__module__", None) == __name__}
    else:
        raise AttributeError(f"module 'lapicque' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(__all__) | {"__version__"})


from . import _brainpy_paths  # noqa: E402  brainpy.state's submodule paths (lapicque.lif.LIF, ...): aliases, no code
