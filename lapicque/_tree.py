"""A module tree seen as data: its states, its array parameters and its structure.

:func:`lapicque.simulate` compiles a run of any brainstate module (one neuron
group or a network of groups, synapses and projections) into a function of
*arguments only*: the values of every :class:`brainstate.State` and every
array the modules keep as attributes (their parameters) enter the compiled
program as arguments, and what is left -- the tree's shape, the types, the
plain Python settings -- makes up a purely structural cache key.  So

* a changed parameter can never be served by a stale program (it is an
  argument, or, for plain Python settings, part of the key), and
* the compiled program holds no reference to the module, which can be freed.

What counts as what, for each attribute of each module in the tree:

``State``
    its value is an argument (found through ``module.states()``);
a sub-module
    walked in turn (found through ``module.nodes()``);
a ``jax.Array`` or a ``saiunit.Quantity`` with elements
    its array leaves are arguments (a Quantity's unit is structure), also
    inside lists, tuples, dicts and other pytrees (e.g. sparse matrices);
    a scalar (``tau = 10 * u.ms``) is structure, by value, so XLA can fold it;
anything else
    structure: numbers, strings and containers by value, NumPy arrays by
    content, sub-modules by their path in the tree, functions and other
    objects by identity (held weakly, so a reused ``id`` is detected).
"""

from __future__ import annotations

import contextlib
import hashlib
import numbers
import weakref
from typing import Any, Dict, List, Tuple

import brainstate
import jax
import numpy as np
import saiunit as u

__all__ = ["ModuleTree"]

#: NumPy arrays larger than this many bytes are keyed by identity rather than content
_HASH_BYTES = 1 << 24
#: how deep plain objects (surrogates, initializers) are looked into for the key
_MAX_DEPTH = 4


class _Keyer:
    """Builds hashable structure keys; remembers the objects keyed by identity (weakly)."""

    def __init__(self, node_paths: Dict[int, Tuple]):
        self.node_paths = node_paths
        self.weak: List[Tuple[int, Any]] = []   # (id, weakref or strong ref) to validate on a cache hit

    def _identity(self, obj):
        try:
            ref = weakref.ref(obj)
        except TypeError:
            ref = obj  # not weak-referenceable (rare): keep it alive so its id cannot be reused
        self.weak.append((id(obj), ref))
        return ("id", type(obj).__qualname__, id(obj))

    def key(self, obj, depth: int = 0):
        if obj is None or isinstance(obj, (bool, str, bytes)):
            return obj
        if isinstance(obj, numbers.Number) and not isinstance(obj, np.ndarray):
            return (type(obj).__name__, obj)
        if id(obj) in self.node_paths:
            return ("node", self.node_paths[id(obj)])
        if isinstance(obj, brainstate.State):
            return ("state", type(obj).__name__)
        if isinstance(obj, u.Unit):
            return ("unit", str(obj), str(obj.dim))
        if isinstance(obj, (np.ndarray, np.generic)):
            arr = np.asarray(obj)
            if arr.nbytes > _HASH_BYTES or arr.dtype == object:
                return self._identity(obj)
            return ("np", arr.dtype.str, arr.shape, hashlib.sha1(np.ascontiguousarray(arr).tobytes()).hexdigest())
        if isinstance(obj, jax.Array):
            if obj.ndim == 0 and not isinstance(obj, jax.core.Tracer):  # a scalar: by value
                return ("scalar", str(obj.dtype), np.asarray(obj).item())
            return ("array", str(obj.dtype), tuple(obj.shape), self._identity(obj))
        if isinstance(obj, (tuple, list)):
            return (type(obj).__name__,) + tuple(self.key(x, depth + 1) for x in obj)
        if isinstance(obj, dict):
            return ("dict",) + tuple((repr(k), self.key(v, depth + 1)) for k, v in obj.items())
        if isinstance(obj, u.Quantity):
            return ("q", str(obj.unit), self.key(obj.mantissa, depth + 1))
        if callable(obj) and not hasattr(obj, "__dict__") or isinstance(obj, type) or depth >= _MAX_DEPTH:
            return self._identity(obj)
        if hasattr(obj, "__func__") and hasattr(obj, "__self__"):  # bound method
            return ("method", obj.__func__.__qualname__, self.key(obj.__self__, depth + 1))
        if hasattr(obj, "__code__"):  # a function: its identity (closures may hold anything)
            return self._identity(obj)
        if hasattr(obj, "__dict__"):  # plain objects (surrogates, initializers): by type and content
            return (type(obj).__module__, type(obj).__qualname__,
                    tuple((k, self.key(v, depth + 1)) for k, v in sorted(vars(obj).items())))
        return self._identity(obj)


class ModuleTree:
    """The states, array parameters and structure key of a brainstate module tree.

    Parameters
    ----------
    root : brainstate.graph.Node
        The module to run (a neuron group or a network).

    Attributes
    ----------
    states : list of brainstate.State
        Every state of the tree, in a fixed order (``state_paths`` names them).
    key : tuple
        Hashable structure of the tree: equal keys mean one compiled program
        serves both trees.
    identities : list
        The objects the key names by identity, held weakly; see
        :meth:`identities_alive`.
    """

    def __init__(self, root):
        self.root = root
        self.node_items: List[Tuple[Tuple, Any]] = [(tuple(p), n) for p, n in root.nodes().items()]
        self.node_paths = {id(n): p for p, n in self.node_items}
        state_items = list(root.states().items())
        self.state_paths = [tuple(p) for p, _ in state_items]
        self.states: List[brainstate.State] = [s for _, s in state_items]
        self._attrs: List[Tuple[Any, str, Any, List[int]]] = []  # (node, name, treedef, lifted leaf positions)
        keyer = _Keyer(self.node_paths)
        static = []
        for path, node in self.node_items:
            for name, value in sorted(vars(node).items()):
                if isinstance(value, brainstate.State) or id(value) in self.node_paths:
                    continue
                leaves, treedef = self._flatten(value)
                lifted = [i for i, x in enumerate(leaves) if _is_param_leaf(x)]
                if lifted:
                    self._attrs.append((node, name, treedef, lifted))
                    rest = tuple(_leaf_spec(x) if i in lifted else keyer.key(x) for i, x in enumerate(leaves))
                    static.append((path, name, treedef, rest))
                else:
                    static.append((path, name, keyer.key(value)))
        states = tuple((p, type(s).__name__, jax.tree.structure(s.value),
                        tuple(_leaf_spec(x) for x in jax.tree.leaves(s.value)))
                       for p, s in zip(self.state_paths, self.states))
        types = tuple((p, type(n).__module__, type(n).__qualname__) for p, n in self.node_items)
        self.key = (types, states, tuple(static))
        self.identities = keyer.weak

    def _flatten(self, value):
        return jax.tree.flatten(value, is_leaf=lambda x: isinstance(x, (brainstate.State, u.Quantity))
                                or id(x) in self.node_paths)

    # ------------------------------------------------------------------ values
    def state_values(self) -> List[Any]:
        return [s.value for s in self.states]

    def param_names(self) -> List[str]:
        """The attribute name of each group of :meth:`param_values`."""
        return [name for _, name, _, _ in self._attrs]

    def param_values(self) -> List[List[Any]]:
        """The array leaves of every parameter attribute (Quantity leaves keep their unit)."""
        out = []
        for node, name, _, lifted in self._attrs:
            leaves, _ = self._flatten(getattr(node, name))
            out.append([_as_array_leaf(leaves[i]) for i in lifted])
        return out

    @contextlib.contextmanager
    def bound(self, state_values, param_values):
        """Temporarily give the tree these (traced) values; restore everything on exit.

        Every attribute binding of every module is restored too: what a step
        stores on a module while it is traced (a bound conductance, a new
        input registry) must not outlive the trace as a leaked tracer or
        change the structure the next run is keyed by.
        """
        saved_states = [s.value for s in self.states]
        saved_attrs = [(node, dict(vars(node))) for _, node in self.node_items]
        try:
            for s, v in zip(self.states, state_values):
                s.value = v
            for (node, name, treedef, lifted), vals in zip(self._attrs, param_values):
                leaves, _ = self._flatten(getattr(node, name))
                for i, v in zip(lifted, vals):
                    leaves[i] = v
                object.__setattr__(node, name, jax.tree.unflatten(treedef, leaves))
            yield
        finally:
            for node, saved in saved_attrs:
                d = vars(node)
                for k in [k for k in d if k not in saved]:
                    del d[k]
                d.update(saved)
            for s, v in zip(self.states, saved_states):
                s.value = v

    def write_states(self, values):
        """Store the values a run returned into the tree's states."""
        for s, v in zip(self.states, values):
            s.value = v

    @staticmethod
    def identities_alive(identities) -> bool:
        """Whether the objects a cached key names by identity are still those very objects."""
        for oid, ref in identities:
            obj = ref() if isinstance(ref, weakref.ref) else ref
            if obj is None or id(obj) != oid:
                return False
        return True


def _is_param_leaf(x) -> bool:
    """An attribute leaf that enters the compiled run as an argument: arrays (and Quantities) with elements.

    A scalar (``tau = 10 * u.ms``) stays a compile-time constant, keyed by its value: XLA folds it into the
    step (``exp(-dt / tau)`` computed once, a division by ``tau`` becomes a multiplication), which a runtime
    argument would prevent; a changed scalar compiles anew, never stale.
    """
    if isinstance(x, u.Quantity):
        return np.ndim(x.mantissa) > 0
    return isinstance(x, jax.Array) and x.ndim > 0


def _quantity_mantissa(q):
    """A Quantity's mantissa as a JAX float array (``3 * u.ms`` and ``3. * u.ms`` are one parameter value)."""
    m = jax.numpy.asarray(q.mantissa)
    if not jax.numpy.issubdtype(m.dtype, jax.numpy.inexact):
        m = m.astype(brainstate.environ.dftype())
    return m


def _as_array_leaf(x):
    """A parameter leaf as a JAX array (a Quantity keeps its unit around a JAX float mantissa)."""
    if isinstance(x, u.Quantity):
        return u.Quantity(_quantity_mantissa(x), unit=x.unit)
    return x


def _leaf_spec(x):
    """dtype, shape (and unit) of a leaf: its part of the structure key."""
    if isinstance(x, u.Quantity):
        m = _quantity_mantissa(x)
        return ("q", str(x.unit), str(x.unit.dim), str(m.dtype), tuple(m.shape))
    arr = x if hasattr(x, "dtype") else jax.numpy.asarray(x)
    return (str(arr.dtype), tuple(np.shape(arr)))
