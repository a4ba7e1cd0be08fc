"""Every public name of brainpy.state 2.9.0 is in lapicque, with the reference's parameters as a prefix.

A script written for brainpy.state must run by changing its import: each class or function takes the
reference's parameters in the reference's order with the same defaults (lapicque may add parameters after
them), and each submodule path (``brainpy.state.hh``) exists.  The reference's signatures are stored in
``_brainpy290_api.py``; where brainpy 2.9.0 itself is installed they are also read live.
"""

import inspect
import re

import braintools
import numpy as np
import pytest
import saiunit as u

import lapicque

from _brainpy290_api import SIGNATURES

_TOKEN = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[A-Za-z_]+|[/*]")


def _normal(default):
    """A default's repr as tokens (numbers as floats), so ``1.`` and ``1.0`` or spacing do not matter."""
    if default is None:
        return None
    return [float(t) if t[0].isdigit() or t[0] in "+-." else t for t in _TOKEN.findall(default)]


def _parameters(obj):
    fn = obj.__init__ if inspect.isclass(obj) else obj
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    return [(p.name, None if p.default is p.empty else repr(p.default)) for p in params]


def test_the_reference_has_71_public_names_and_lapicque_has_each():
    assert len(SIGNATURES) == 71
    missing = [name for name in SIGNATURES if not hasattr(lapicque, name)]
    assert not missing, f"brainpy.state names lapicque lacks: {missing}"


@pytest.mark.parametrize("name", sorted(n for n, s in SIGNATURES.items() if s != "module"))
def test_the_references_parameters_are_a_prefix_with_the_same_defaults(name):
    ours = _parameters(getattr(lapicque, name))
    ref = SIGNATURES[name]
    assert [p for p, _ in ours[:len(ref)]] == [p for p, _ in ref], f"{name}: parameter names or order differ"
    for (param, mine), (_, theirs) in zip(ours, ref):
        assert _normal(mine) == _normal(theirs), f"{name}({param}=...): default {mine} != reference's {theirs}"


@pytest.mark.parametrize("name", sorted(n for n, s in SIGNATURES.items() if s == "module"))
def test_each_submodule_path_imports(name):
    module = __import__(f"lapicque.{name}", fromlist=["_"])
    assert module is getattr(lapicque, name)
    for public in module.__all__:  # what it offers is the top-level object (lapicque.hh.HH is lapicque.HH)
        assert getattr(module, public) is getattr(lapicque, public)


def test_the_stored_table_is_the_installed_reference_where_it_is_290():
    brainpy = pytest.importorskip("brainpy")
    if not brainpy.__version__.startswith("2.9"):
        pytest.skip(f"brainpy {brainpy.__version__} is not the 2.9 the table was printed from")
    live = {n: "module" if inspect.ismodule(getattr(brainpy.state, n)) else _parameters(getattr(brainpy.state, n))
            for n in dir(brainpy.state) if not n.startswith("_")}
    assert set(live) == set(SIGNATURES)
    for name, sig in SIGNATURES.items():
        if sig != "module":
            assert [(p, _normal(d)) for p, d in live[name]] == [(p, _normal(d)) for p, d in sig], name


def _live_default(p):
    """A live default compared by value: initializers by their constant, surrogates by their kind."""
    d = p.default
    if isinstance(d, braintools.init.Constant):
        return ("Constant", d.value)
    if isinstance(d, braintools.surrogate.Surrogate):
        return type(d).__name__
    return d


def _same(x, y):
    if isinstance(x, tuple):
        return x[0] == y[0] and _same(x[1], y[1])
    if isinstance(x, u.Quantity) or isinstance(y, u.Quantity):
        return u.have_same_dim(x, y) and bool(np.allclose(u.get_mantissa(x), u.get_mantissa(y.in_unit(x.unit))))
    return x == y


@pytest.mark.parametrize("name", ["Izhikevich", "IzhikevichRef", "FitzHughNagumo", "HindmarshRose", "CubaLIF",
                                  "CobaLIF"])
def test_the_installed_references_parameters_are_a_prefix_with_equal_defaults(name):
    """Against the brainpy.state installed here (2.8.2 on Python 3.11, 2.9.0 from 3.12), defaults by value."""
    brainpy = pytest.importorskip("brainpy")
    if not hasattr(brainpy.state, name):
        pytest.skip(f"brainpy {brainpy.__version__} has no {name}")
    ref = list(inspect.signature(getattr(brainpy.state, name).__init__).parameters.values())
    ours = list(inspect.signature(getattr(lapicque, name).__init__).parameters.values())
    assert [p.name for p in ours[:len(ref)]] == [p.name for p in ref]
    for p, q in zip(ours, ref):
        assert _same(_live_default(p), _live_default(q)), p.name


def test_the_namespace_does_not_leak_helpers():
    leaked = {"annotations", "importlib", "typing", "TYPE_CHECKING", "jax", "brainstate"} & set(dir(lapicque))
    assert not leaked
