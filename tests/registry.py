"""The one model registry that drives the shared tests.

Every entry: the model class, a constant input current (mA) that makes it fire
repetitively with its default parameters, and which model it reduces to.
"""

import inspect

import saiunit as u

import lapicque as lq

#: suprathreshold constant current (mA) for each model with its defaults
SPIKING_CURRENT_MA = {
    "IF": 5., "LIF": 5., "LIFRef": 5., "ALIF": 5.,
    "ExpIF": 5., "ExpIFRef": 5., "AdExIF": 30., "AdExIFRef": 30.,
    "QuaIF": 10., "AdQuaIF": 40., "AdQuaIFRef": 40.,
    "Gif": 2., "GifRef": 2.,
}

#: the models whose V diverges in finite time (V_th is a numerical cut-off)
DIVERGENT = ("ExpIF", "ExpIFRef", "AdExIF", "AdExIFRef", "QuaIF", "AdQuaIF", "AdQuaIFRef")

#: Ref model -> the model it equals when tau_ref = 0
REF_BASE = {"LIFRef": "LIF", "ExpIFRef": "ExpIF", "AdExIFRef": "AdExIF", "AdQuaIFRef": "AdQuaIF", "GifRef": "Gif"}

#: adaptive model -> the model it equals with a = b = 0
ADAPTIVE_BASE = {"AdExIF": "ExpIF", "AdQuaIF": "QuaIF"}

NAMES = tuple(lq.MODELS)
REF_NAMES = tuple(REF_BASE)


def params_of(name):
    """Constructor parameter names of a model, in order."""
    return list(inspect.signature(lq.MODELS[name].__init__).parameters)[1:]


def needs_t(name):
    return "tau_ref" in params_of(name)


def make(name, n=4, **kwargs):
    """A model instance with the registry defaults."""
    return lq.MODELS[name](n, **kwargs)


def current(name, scale=1.):
    return SPIKING_CURRENT_MA[name] * scale * u.mA
