"""lapicque: integrate-and-fire neuron models for JAX with the ``brainpy.state`` API.

Code written for ``brainpy.state`` runs by changing the import::

    import lapicque
    neuron = lapicque.LIF(100, tau=10 * u.ms)

See the README for the model table and ``lapicque.MODELS`` for the registry.
"""

from ._base import Neuron
from ._dynamics import Dynamics
from ._errors import EnvironmentNotSetError, NonFiniteStateError, ParameterError, StateNotInitializedError
from ._exponential import AdExIF, AdExIFRef, ExpIF, ExpIFRef
from ._gif import Gif, GifRef
from ._lif import ALIF, IF, LIF, LIFRef
from ._quadratic import AdQuaIF, AdQuaIFRef, QuaIF
from ._simulate import NetworkResult, SimulationResult, simulate
from . import analysis, checkpoint, patterns, plot, sharding
# the network layer (brainpy.state names); each module lists its public names in __all__
from ._synapses import *  # noqa: F401,F403
from ._stp import *  # noqa: F401,F403
from ._outputs import *  # noqa: F401,F403
from ._projections import *  # noqa: F401,F403
from ._connectivity import *  # noqa: F401,F403
from ._poisson import *  # noqa: F401,F403
from . import _synapses, _stp, _outputs, _projections, _connectivity, _poisson
from .checkpoint import CheckpointDamagedError, DtChangeWarning, load, save

__version__ = "0.1.0"

#: every model class by name, in the reference's order
MODELS = {
    cls.__name__: cls
    for cls in (IF, LIF, LIFRef, ALIF, ExpIF, ExpIFRef, AdExIF, AdExIFRef, QuaIF, AdQuaIF, AdQuaIFRef, Gif, GifRef)
}

__all__ = [
    "Neuron", "Dynamics", "MODELS",
    "IF", "LIF", "LIFRef", "ALIF", "ExpIF", "ExpIFRef", "AdExIF", "AdExIFRef",
    "QuaIF", "AdQuaIF", "AdQuaIFRef", "Gif", "GifRef",
    "ParameterError", "EnvironmentNotSetError", "StateNotInitializedError", "NonFiniteStateError",
    "simulate", "SimulationResult", "NetworkResult", "save", "load", "CheckpointDamagedError", "DtChangeWarning",
    "analysis", "checkpoint", "patterns", "plot", "sharding",
]
__all__ += [name for mod in (_synapses, _stp, _outputs, _projections, _connectivity, _poisson) for name in mod.__all__]
# writing a model (examples/izhikevich.py); input and time-step checks of update()
from ._base import Param, StateSpec  # noqa: E402
from ._integrate import exp_euler  # noqa: E402
from ._errors import CoarseTimeStepWarning, NonFiniteInputError  # noqa: E402
__all__ += ["Param", "StateSpec", "exp_euler", "CoarseTimeStepWarning", "NonFiniteInputError"]
