"""A module tree seen as data: its states, the arrays it holds and its structure.

:func:`lapicque.simulate` compiles a run of any brainstate module (one neuron
group or a network of groups, synapses and projections) into a function of
*arguments only*: the values of every :class:`brainstate.State` and every
array the modules hold in their attributes (parameters, connectivity) enter
the compiled program as arguments, and what is left -- the tree's shape, the
types, the plain Python settings -- makes up a purely structural cache key.
So

* a changed parameter can never be served by a stale program (it is an
  argument, or, for plain Python settings, part of the key);
* two instances of the same network (a parameter sweep, a new seed of the
  same connectivity rule) share one compiled program;
* the compiled program holds no reference to the module, which can be freed.

What counts as what, for each attribute of each module in the tree (looked
into through tuples, lists, dicts, registered pytrees and plain objects, up
to :data:`_MAX_DEPTH` levels):

``State``
    a state of the tree: its value is an argument (found through
    ``module.states()``); a State held where ``module.states()`` does not look
    (inside a plain object) is a *hidden state*, threaded the same way;
a sub-module
    walked in turn (found through ``module.nodes()``), keyed by its path;
a ``jax.Array`` with elements, a NumPy array of more than :data:`SMALL_ARRAY` elements
    data: an argument (a Quantity's unit is structure; one array object held
    in several places is one argument);
a scalar quantity or 0-d ``jax.Array`` (a weight, a time constant)
    data, an argument, so a parameter sweep compiles once -- unless the
    module's class lists the attribute in ``__lapicque_constants__``: then
    it is structure, by value, and XLA folds it into the step (the neuron
    models list their parameters: ``exp(-dt / tau)`` is computed once and a
    division by ``tau`` becomes a multiplication, worth up to 2x in speed;
    a new value compiles anew);
a Python number, a small NumPy array
    structure, by value or content (sizes, settings);
a string
    structure, by value, except that the automatic names brainstate gives
    modules (``'AlignPostProj3'``) are replaced by the module's path, so
    instances differ in no name;
anything else
    structure: functions and other opaque objects by identity (held weakly,
    so a reused ``id`` is detected).

Code that needs a lifted value as a concrete number while it is traced
(``if self.weight > 0``, ``np.asarray(self.indices)``) cannot take it as an
argument; :func:`lapicque.simulate` then builds the tree again with
``conservative=True`` (every scalar and NumPy array by value or content, as
constants of the program) and compiles that.
"""

from __future__ import annotations

import contextlib
import hashlib
import numbers
import re
import weakref
from typing import Any, Callable, Dict, List, Optional, Tuple

import brainstate
import jax
import numpy as np
import saiunit as u

from .._kernels.sharded import DeviceBlocks

__all__ = ["ModuleTree", "SMALL_ARRAY"]

#: NumPy arrays with at most this many elements are structure (keyed by content); larger ones are data
SMALL_ARRAY = 64
#: how deep plain objects (surrogates, initializers, sparse matrices) are looked into
_MAX_DEPTH = 4

_Rebuild = Optional[Callable[[List[Any]], Any]]


def _is_key_array(x) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


class _Walker:
    """Walks attribute values: builds their structure key and lifts their arrays out as arguments.

    ``walk(value)`` returns ``(key, rebuild)``: ``rebuild(values)`` gives the
    value with every lifted array replaced by ``values[i]`` (``None`` when
    nothing inside was lifted).  Plain objects are rebuilt in place (their
    attributes set); :attr:`objects` lists them so the caller can restore them.
    """

    def __init__(self, node_paths: Dict[int, Tuple], state_index: Dict[int, int], names: Dict[str, Tuple],
                 conservative: bool = False):
        self.node_paths, self.state_index = node_paths, state_index
        self.conservative = conservative
        self.fold = False                           # the attribute being walked is a declared constant
        self.leaves: List[Any] = []                 # the lifted arrays, in order
        self.leaf_cast: List[bool] = []             # a Quantity's integer mantissa: passed as a float array
        self.leaf_blocks: List[bool] = []           # found in a DeviceBlocks: one block per device
        self._in_blocks = False
        self._leaf_ids: Dict[int, int] = {}
        self.hidden: List[brainstate.State] = []    # States outside module.states()
        self._hidden_ids: Dict[int, int] = {}
        self.weak: List[Tuple[int, Any]] = []       # (id, weakref or object) of what is keyed by identity
        self.objects: List[Any] = []                # plain objects rebuilt in place
        self._in_quantity = False
        self._names = names
        self._name_re = (re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))
                         if names else None)

    # -------------------------------------------------------------- leaves
    def _identity(self, obj):
        try:
            ref = weakref.ref(obj)
        except TypeError:
            ref = obj  # not weak-referenceable (rare): keep it alive so its id cannot be reused
        self.weak.append((id(obj), ref))
        return ("id", type(obj).__qualname__, id(obj))

    def _lift(self, obj):
        index = self._leaf_ids.get(id(obj))
        if index is None:
            index = self._leaf_ids[id(obj)] = len(self.leaves)
            self.leaves.append(obj)
            self.leaf_cast.append(self._in_quantity and not np.issubdtype(obj.dtype, np.inexact))
            self.leaf_blocks.append(self._in_blocks)
        return ("leaf", index, _leaf_spec(obj)), (lambda values: values[index])

    def _text(self, s: str):
        if self._name_re is None or not self._name_re.search(s):
            return s
        return ("named", self._name_re.sub(lambda m: "\x00" + "/".join(map(str, self._names[m.group(0)])) + "\x00", s))

    # -------------------------------------------------------------- the walk
    def walk(self, obj, depth: int = 0) -> Tuple[Any, _Rebuild]:
        if obj is None or isinstance(obj, (bool, bytes)):
            return obj, None
        if isinstance(obj, str):
            return self._text(obj), None
        if isinstance(obj, numbers.Number) and not isinstance(obj, (np.ndarray, np.generic)):
            return (type(obj).__name__, obj), None
        if id(obj) in self.node_paths:
            return ("node", self.node_paths[id(obj)]), None
        if isinstance(obj, brainstate.State):
            return self._state(obj), None
        if isinstance(obj, u.Unit):
            return ("unit", str(obj), str(obj.dim)), None
        if isinstance(obj, u.Quantity):
            m = obj.mantissa
            if isinstance(m, numbers.Number) and not (self.fold or self.conservative):
                m = np.asarray(m)  # a Python-number mantissa is a value like any other: lifted below
            self._in_quantity = True
            try:
                key, rebuild = self._mantissa(m, depth)
            finally:
                self._in_quantity = False
            unit = obj.unit
            return ("q", str(unit), key), (None if rebuild is None else
                                           (lambda values: u.Quantity(rebuild(values), unit=unit)))
        if isinstance(obj, (np.ndarray, np.generic)):
            return self._numpy(obj)
        if isinstance(obj, jax.Array):
            return self._jax_array(obj)
        if isinstance(obj, (tuple, list, dict)):
            return self._container(obj, depth)
        if callable(obj) and not hasattr(obj, "__dict__") or isinstance(obj, type) or depth >= _MAX_DEPTH:
            return self._identity(obj), None
        if hasattr(obj, "__func__") and hasattr(obj, "__self__"):  # a bound method: its function and its object
            key, rebuild = self.walk(obj.__self__, depth + 1)
            return ("method", obj.__func__.__qualname__, key), (None if rebuild is None else
                                                                (lambda values: (rebuild(values), obj)[1]))
        if hasattr(obj, "__code__"):  # a function: its identity (closures may hold anything)
            return self._identity(obj), None
        pytree = self._pytree(obj, depth)
        if pytree is not None:
            return pytree
        if hasattr(obj, "__dict__"):
            return self._plain(obj, depth)
        return self._identity(obj), None

    def _mantissa(self, m, depth):
        """A quantity's values: an array of them (one per neuron, per edge) is data; a scalar, see below."""
        if np.ndim(m) == 0:
            return self._scalar_quantity(m)
        if (isinstance(m, jax.Array) and not isinstance(m, jax.core.Tracer)
                or isinstance(m, np.ndarray) and m.dtype != object):
            return self._lift(m)
        return self.walk(m, depth + 1)

    def _scalar_quantity(self, m):
        """The scalar mantissa of a quantity: by value when folded, else an argument."""
        if self.fold or self.conservative or isinstance(m, jax.core.Tracer):
            return self.walk(m)
        if isinstance(m, np.ndarray) and m.dtype != object:
            m = jax.numpy.asarray(m)
        return self._lift(m) if isinstance(m, jax.Array) else self.walk(m)

    def _state(self, st):
        if id(st) in self.state_index:
            return ("state", self.state_index[id(st)])
        index = self._hidden_ids.get(id(st))
        if index is None:
            index = self._hidden_ids[id(st)] = len(self.hidden)
            self.hidden.append(st)
        return ("hidden", index, type(st).__name__)

    def _numpy(self, obj):
        arr = np.asarray(obj)
        if arr.dtype == object:
            return self._identity(obj), None
        if arr.size <= SMALL_ARRAY or self.conservative:
            return ("np", arr.dtype.str, arr.shape, hashlib.sha1(np.ascontiguousarray(arr).tobytes()).hexdigest()), None
        return self._lift(obj)

    def _jax_array(self, obj):
        if isinstance(obj, jax.core.Tracer):
            return self._identity(obj), None
        if obj.ndim == 0 and not _is_key_array(obj) and (self.fold or self.conservative):
            return ("scalar", str(obj.dtype), np.asarray(obj).item()), None  # by value, so XLA can fold it
        return self._lift(obj)

    def _container(self, obj, depth):
        if isinstance(obj, DeviceBlocks):
            self._in_blocks, outer = True, self._in_blocks
            try:
                return self._dict(obj, depth)
            finally:
                self._in_blocks = outer
        if isinstance(obj, dict):
            return self._dict(obj, depth)
        return self._sequence(obj, depth)

    def _dict(self, obj, depth):
        parts = [(self.walk(k, depth + 1)[0],) + self.walk(v, depth + 1) for k, v in obj.items()]
        key = ("dict", type(obj).__qualname__) + tuple((k, vk) for k, vk, _ in parts)
        if all(rb is None for _, _, rb in parts):
            return key, None
        items = list(obj.items())

        def rebuild_dict(values):
            return type(obj)((k, v if rb is None else rb(values)) for (k, v), (_, _, rb) in zip(items, parts))
        return key, rebuild_dict

    def _sequence(self, obj, depth):
        parts = [self.walk(x, depth + 1) for x in obj]
        key = (type(obj).__qualname__,) + tuple(k for k, _ in parts)
        if all(rb is None for _, rb in parts):
            return key, None

        def rebuild_seq(values):
            items = [x if rb is None else rb(values) for x, (_, rb) in zip(obj, parts)]
            if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
                return type(obj)(*items)
            return type(obj)(items)
        return key, rebuild_seq

    def _pytree(self, obj, depth):
        """A registered pytree node (e.g. a sparse matrix class): its children, rebuilt by unflattening."""
        try:
            children, treedef = jax.tree_util.tree_flatten(obj, is_leaf=lambda x: x is not obj)
            hash(treedef)
        except Exception:
            return None
        if len(children) == 1 and children[0] is obj:  # not a pytree node
            return None
        parts = [self.walk(c, depth + 1) for c in children]
        key = ("pytree", treedef) + tuple(k for k, _ in parts)
        if all(rb is None for _, rb in parts):
            return key, None
        return key, lambda values: jax.tree_util.tree_unflatten(
            treedef, [c if rb is None else rb(values) for c, (_, rb) in zip(children, parts)])

    def _plain(self, obj, depth):
        """A plain object (a surrogate, an initializer, a matrix wrapper): by type and content; rebuilt in place."""
        parts = [(name,) + self.walk(value, depth + 1) for name, value in sorted(vars(obj).items())]
        key = (type(obj).__module__, type(obj).__qualname__, tuple((n, k) for n, k, _ in parts))
        lifted = [(n, rb) for n, _, rb in parts if rb is not None]
        if not lifted:
            return key, None
        self.objects.append(obj)

        def rebuild_in_place(values):
            for name, rb in lifted:
                object.__setattr__(obj, name, rb(values))
            return obj
        return key, rebuild_in_place


def _auto_names(node_items) -> Dict[str, Tuple]:
    """brainstate's automatic module names (class name + counter) -> the module's path in the tree."""
    out = {}
    for path, node in node_items:
        name = vars(node).get("_name")
        if isinstance(name, str) and re.fullmatch(re.escape(type(node).__name__) + r"\d+", name):
            out[name] = path
    return out


class ModuleTree:
    """The states, lifted arrays and structure key of a brainstate module tree.

    Parameters
    ----------
    root : brainstate.graph.Node
        The module to run (a neuron group or a network).
    conservative : bool, default False
        Keep every scalar and NumPy array as a constant of the program (for
        code that needs them concrete while traced).

    Attributes
    ----------
    states : list of brainstate.State
        Every state of the tree, in a fixed order (``state_paths`` names them).
    hidden_states : list of brainstate.State
        States reached through attributes that ``root.states()`` does not
        look into (a State inside a plain object): threaded like the others.
    key : tuple
        Hashable structure of the tree: equal keys mean one compiled program
        serves both trees.
    identities : list
        The objects the key names by identity, held weakly; see
        :meth:`identities_alive`.
    """

    def __init__(self, root, conservative: bool = False):
        self.root = root
        self.conservative = conservative
        self.node_items: List[Tuple[Tuple, Any]] = [(tuple(p), n) for p, n in root.nodes().items()]
        self.node_paths = {id(n): p for p, n in self.node_items}
        state_items = list(root.states().items())
        self.state_paths = [tuple(p) for p, _ in state_items]
        self.states: List[brainstate.State] = [s for _, s in state_items]
        walker = _Walker(self.node_paths, {id(s): i for i, s in enumerate(self.states)},
                         _auto_names(self.node_items), conservative)
        self._rebinds: List[Tuple[Any, str, Callable]] = []  # (node, attribute, rebuild)
        static = []
        for path, node in self.node_items:
            constants = getattr(type(node), "__lapicque_constants__", ())
            for name, value in sorted(vars(node).items()):
                if isinstance(value, brainstate.State) or id(value) in self.node_paths:
                    continue
                walker.fold = name in constants
                key, rebuild = walker.walk(value)
                static.append((path, name, key))
                if rebuild is not None:
                    self._rebinds.append((node, name, rebuild))
        states = tuple((type(s).__name__, jax.tree.structure(s.value),
                        tuple(_leaf_spec(x) for x in jax.tree.leaves(s.value)))
                       for s in self.states)
        types = tuple((p, type(n).__module__, type(n).__qualname__) for p, n in self.node_items)
        self.hidden_states: List[brainstate.State] = walker.hidden
        self._leaves, self._objects = walker.leaves, walker.objects
        self._leaf_cast, self._leaf_blocks = walker.leaf_cast, walker.leaf_blocks
        hidden = tuple((type(s).__name__, jax.tree.structure(s.value),
                        tuple(_leaf_spec(x) for x in jax.tree.leaves(s.value))) for s in self.hidden_states)
        self.key = (conservative, types, tuple(self.state_paths), states, hidden, tuple(static))
        self.identities = walker.weak

    # ------------------------------------------------------------------ values
    def state_values(self) -> List[Any]:
        return [s.value for s in self.states]

    def param_blocks(self) -> List[bool]:
        """For each of :meth:`param_values`: whether it is cut into one block per device (a
        :class:`~lapicque._kernels.sharded.DeviceBlocks` entry), to be placed block by block."""
        return list(self._leaf_blocks)

    def param_values(self) -> List[Any]:
        """Every lifted array (Quantity mantissas without their unit, integer ones as floats: ``3 * u.ms`` and
        ``3. * u.ms`` are one parameter value; NumPy arrays stay on the host until the call)."""
        dtype = brainstate.environ.dftype()
        return [np.asarray(x, dtype) if cast and isinstance(x, np.ndarray) else x.astype(dtype) if cast else x
                for x, cast in zip(self._leaves, self._leaf_cast)]

    @contextlib.contextmanager
    def bound(self, state_values, param_values):
        """Temporarily give the tree these (traced) values; restore everything on exit.

        Every attribute binding of every module (and of every plain object
        rebuilt in place) is restored too: what a step stores on a module
        while it is traced (a bound conductance, a new input registry) must
        not outlive the trace as a leaked tracer or change the structure the
        next run is keyed by.
        """
        saved_states = [s.value for s in self.states]
        saved_attrs = [(node, dict(vars(node))) for _, node in self.node_items]
        saved_attrs += [(obj, dict(vars(obj))) for obj in self._objects]
        try:
            for s, v in zip(self.states, state_values):
                s.value = v
            values = list(param_values)
            for node, name, rebuild in self._rebinds:
                object.__setattr__(node, name, rebuild(values))
            yield
        finally:
            for obj, saved in saved_attrs:
                d = vars(obj)
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


def _leaf_spec(x):
    """dtype and shape of an array leaf: its part of the structure key."""
    arr = x if hasattr(x, "dtype") else np.asarray(x)
    return (str(arr.dtype), tuple(np.shape(arr)))
