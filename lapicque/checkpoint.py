"""Checkpoint files: save a neuron group -- or a whole network -- and resume exactly.

:func:`save` writes every state of ``module``, which is either one lapicque
neuron group or any ``brainstate`` module holding several groups and other
stateful modules (a network); :func:`load` puts it back so that the run
continues *bit for bit* as the saved one would have.  States are named by
their path in ``module.states()`` (``"exc.V"``, ``"proj.weight"``; a single
group's states by their own names, ``"V"``), and the refractory bookkeeping
of the ``*Ref`` models (``last_spike_time``, the integer ``ref_steps_left``,
``refractory``) is saved like any other state.

What :func:`load` verifies before it writes anything
----------------------------------------------------
* **Integrity.**  The file carries the SHA-256 digest of its content; a
  file with any changed byte raises :class:`CheckpointDamagedError` naming
  the file and saying it is damaged (see :mod:`lapicque._results.checkpoint_file`).
* **Parameters.**  For every lapicque neuron group, the saved class, shape,
  ``spk_reset`` and every parameter must equal the target group's (to a
  relative 1e-6); a ``tau_ref = 2 ms`` checkpoint does not load into a
  ``tau_ref = 5 ms`` group.  The error names the parameter and both values;
  ``check_params=False`` skips the comparison.  Parameters held as
  ``brainstate.ParamState`` (trainable neuron parameters, the weights of
  ``brainstate.nn.Linear``...) are compared likewise, or restored from the
  file with ``restore_params=True``.
* **Connectivity.**  Every array that a module other than a neuron group
  holds outside its states -- the edges, weights and delays of a
  connectivity (``lapicque.FixedOutDegree``, ``brainstate.nn.EventFixedProb``
  ...), the parameters of synapses, outputs and projections -- is recorded
  (arrays of up to :data:`FIXED_VALUES_MAX` values whole, larger ones by
  shape, unit and SHA-256 digest) and must be equal on load: a checkpoint
  of one network does not load into a network with other edges or weights.
  The error names the array; ``check_params=False`` skips this too.
* **Structure.**  The same groups and the same state paths, each state with
  the saved physical dimension and shape (values are converted to the
  target's unit and dtype).
* **Finite values.**  A state holding NaN or infinity (a diverged run) is
  refused, naming the state and the neuron; no lapicque state is
  legitimately non-finite.

A failed load leaves the module's existing states unchanged.  A change of
``dt`` between save and load raises a :class:`DtChangeWarning`: the state is
restored, but the continued run is not the one that was saved (refractory
periods are stored in steps, rates depend on ``dt``).

What a checkpoint does *not* hold: the simulation clock.  ``t`` lives in
:mod:`brainstate.environ`; continue it yourself (step ``i`` of the resumed
run uses ``t = i * dt`` with ``i`` counting on from the saved step).  Pass
``t=`` to :func:`save` to keep it in the file and get it back from
:func:`read`.

Examples
--------
>>> import os, tempfile
>>> import brainstate, saiunit as u, lapicque
>>> brainstate.environ.set(dt=0.1 * u.ms)
>>> lif = lapicque.LIF(3)
>>> lif.init_state()
>>> _ = lif.update(12. * u.mA)
>>> path = os.path.join(tempfile.mkdtemp(), "lif.ckpt")
>>> _ = lapicque.save(path, lif, t=0.1 * u.ms)
>>> fresh = lapicque.load(path, lapicque.LIF(3))
>>> bool(u.math.all(fresh.V.value == lif.V.value))
True
>>> print(lapicque.checkpoint.read(path)["t"])
0.1 ms
>>> lapicque.load(path, lapicque.LIF(3, tau=20. * u.ms))
Traceback (most recent call last):
...
ValueError: lapicque.load: ...: parameter 'tau' of the LIF group differs: saved 5.0 ms, this one has 20.0 ms...
"""

from __future__ import annotations

import hashlib
import os
import warnings
from typing import Any, Dict, List, Optional, Tuple, Union

import brainstate
import jax
import numpy as np
import saiunit as u

from ._core import environ
from ._core.units import format_value
from ._neurons.base import Neuron
from ._core.errors import StateNotInitializedError
from ._results.checkpoint_file import FORMAT, FORMAT_VERSION, CheckpointDamagedError, read_file, write_file

__all__ = ["save", "load", "read", "FORMAT", "FORMAT_VERSION", "CheckpointDamagedError", "DtChangeWarning",
           "PARAM_RTOL", "FIXED_VALUES_MAX"]

PathLike = Union[str, "os.PathLike[str]"]

#: relative tolerance of the parameter comparison (float32 round-off is 6e-8)
PARAM_RTOL = 1e-6


class DtChangeWarning(UserWarning):
    """A checkpoint is loaded under a different ``dt`` than it was saved with."""


# --------------------------------------------------------------------------
# walking a module
# --------------------------------------------------------------------------
def _join(path: Tuple) -> str:
    return ".".join(str(p) for p in path)


def _groups(module) -> Dict[str, Neuron]:
    """Every lapicque neuron group in ``module`` by its node path ('' for the module itself)."""
    if isinstance(module, Neuron):
        return {"": module}
    return {_join(p): node for p, node in module.nodes().items() if isinstance(node, Neuron)}


def _other_states(module, groups) -> Dict[str, brainstate.State]:
    """The states of ``module`` that are not a neuron group's own, by path.

    Modules a group carries (e.g. the synapses a projection merges into the
    postsynaptic group's before-update hooks) are other states too.
    """
    own = _own_paths(groups)
    return {_join(p): s for p, s in module.states().items() if _join(p) not in own}


def _own_paths(groups) -> set:
    """The paths of the neuron groups' own states: their state variables and trainable parameters."""
    def names(group):
        trainable = [n for n in getattr(group, "_PARAMS", {}) if isinstance(getattr(group, n, None), brainstate.State)]
        return _state_names(group) + trainable
    return {(f"{g}.{name}" if g else name) for g, group in groups.items() for name in names(group)}


def _state_names(group: Neuron) -> List[str]:
    """A group's own states: its state variables, and whatever else its ``state_dict`` holds once initialized."""
    names = list(group.state_names())
    try:
        names += [n for n in group.state_dict() if n not in names]
    except StateNotInitializedError:
        pass
    return names


def _saved_group_states(gpath: str, meta: dict, states: dict) -> Dict[str, Any]:
    """The saved ``state_dict`` of the group at ``gpath`` (by the names the file records for it)."""
    prefix = f"{gpath}." if gpath else ""
    names = meta.get("state_names")
    if names is None:  # files written before the names were recorded: the states right under the group
        names = [p[len(prefix):] for p in states if p.startswith(prefix) and "." not in p[len(prefix):]]
    return {name: states[prefix + name][""] for name in names if prefix + name in states}


def _leaves(value) -> Dict[str, Any]:
    """A state's value as {jax key path: leaf}, quantities kept whole ('' for a single array)."""
    flat, _ = jax.tree_util.tree_flatten_with_path(value, is_leaf=lambda x: isinstance(x, u.Quantity))
    return {jax.tree_util.keystr(p): leaf for p, leaf in flat}


def _in(path: str, spath: str) -> str:
    return f"{path!r} (state '{spath}')"


def _env_dt_ms() -> Optional[float]:
    """The dt set in brainstate.environ, in ms, or None where none is set (a file records it if known)."""
    dt = environ.dt_ms(missing=None)
    return None if dt is None else float(np.asarray(dt).reshape(()))


def _time_ms(value, what: str) -> Optional[float]:
    if value is None:
        return None
    if not isinstance(value, u.Quantity) or not u.have_same_dim(value, u.ms):
        raise TypeError(f"lapicque.save: {what} must be a time quantity such as 12.5 * u.ms; got {value!r}.")
    arr = np.asarray(value.to_decimal(u.ms))
    if arr.size != 1:
        raise ValueError(f"lapicque.save: {what} must be a scalar time; got an array of shape {arr.shape}.")
    return float(arr.reshape(()))


# --------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------
def _group_record(group: Neuron) -> Tuple[dict, dict]:
    """(metadata, states) of one neuron group."""
    states = group.state_dict()
    params, trainable = {}, []
    for name in getattr(group, "_PARAMS", {}):
        value = getattr(group, name, None)
        if value is None:
            continue
        if isinstance(value, brainstate.State):  # a trainable parameter (brainstate.ParamState)
            trainable.append(name)
            value = value.value
        params[name] = value if isinstance(value, u.Quantity) else np.asarray(value)
    V = np.shape(u.get_mantissa(states["V"])) if "V" in states else ()
    batch = int(V[0]) if len(V) == len(group.varshape) + 1 else -1
    meta = {"model": type(group).__name__, "in_size": [int(s) for s in group.varshape], "batch_size": batch,
            "spk_reset": getattr(group, "spk_reset", None), "params": params, "trainable": trainable,
            "state_names": list(states)}
    return meta, states


def save(path: PathLike, module, *, t=None, overwrite: bool = True) -> str:
    """Write every state of ``module`` (a neuron group or a network) to the file ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        File to write (parent folders are created).  The write is atomic: a
        temporary file is renamed into place, so an interrupted save never
        leaves a truncated checkpoint.
    module : lapicque.Neuron or brainstate.nn.Module
        An initialized neuron group, or any brainstate module (a network)
        whose states exist (``brainstate.nn.init_all_states(module)``).
        Each lapicque group inside is stored with its class, shape and
        parameters, and every other array the modules hold outside their
        states (connectivity, weights, parameters) with its shape, unit and
        digest, so that :func:`load` can check them.
    t : Quantity[time], optional
        The simulation time the state corresponds to (the ``t`` of the next
        step), stored for :func:`read`; lapicque never reads it back itself.
    overwrite : bool, default True
        Replace an existing file; with ``False`` an existing file raises
        ``FileExistsError``.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    lapicque.StateNotInitializedError
        If a neuron group has no state yet.
    TypeError
        If ``module`` is not a brainstate module, or ``t`` is not a time.
    """
    if not isinstance(module, brainstate.nn.Module):
        raise TypeError(f"lapicque.save: module must be a lapicque neuron group or a brainstate module "
                        f"(e.g. a network); got {type(module).__name__}.")
    from . import __version__  # here, not at import time: __init__ imports this module

    groups = _groups(module)
    records, states = {}, {}
    for gpath, group in groups.items():
        records[gpath], group_states = _group_record(group)
        states.update({(f"{gpath}.{k}" if gpath else k): {"": v} for k, v in group_states.items()})
    others = _other_states(module, groups)
    states.update({spath: _leaves(s.value) for spath, s in others.items()})
    content: Dict[str, Any] = {
        "lapicque_version": __version__, "module": type(module).__name__,
        "dt_ms": _env_dt_ms(), "t_ms": _time_ms(t, "t"), "groups": records, "states": states,
        "param_states": sorted(p for p, s in others.items() if isinstance(s, brainstate.ParamState)),
        "fixed": {key: _fixed_record(value) for key, value in _fixed_arrays(module, groups).items()},
    }
    return write_file(os.fspath(path), content, overwrite)


# --------------------------------------------------------------------------
# read
# --------------------------------------------------------------------------
def read(path: PathLike) -> Dict[str, Any]:
    """Read and verify a checkpoint file without loading it into a module.

    Returns
    -------
    dict
        ``module`` (class name of the saved module), ``groups`` (node path ->
        dict of ``model``, ``in_size``, ``batch_size``, ``spk_reset``,
        ``params``, ``trainable``), ``states`` (state path -> value; a state
        whose value is a pytree, e.g. ``{'weight': ..., 'bias': ...}``, as
        {key path: leaf}), ``param_states`` (paths of the saved
        ``brainstate.ParamState`` outside neuron groups), ``dt`` and ``t``
        (time quantities or None), ``fixed`` (array path -> dict of
        ``shape``, ``unit``, ``dtype``, ``sha256`` and, for arrays of up to
        :data:`FIXED_VALUES_MAX` values, ``value``: the connectivity, weights
        and parameters held outside the states; None for a format-1 or -2
        file), ``lapicque_version`` and ``format_version``.  For a single
        neuron group its metadata is also given at the top level (``model``,
        ``in_size``, ``batch_size``, ``params``, ``trainable``).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    CheckpointDamagedError (a ValueError)
        If the file is damaged (checksum mismatch, truncated, unreadable),
        is not a lapicque checkpoint, lacks an entry its format version
        has, or was written by a newer lapicque.
    """
    content = read_file(os.fspath(path))
    groups = {g: _group_info(m) for g, m in content["groups"].items()}
    info = {
        "module": content["module"], "groups": groups,
        "states": {k: (v[""] if set(v) == {""} else v) for k, v in content["states"].items()},
        "param_states": list(content.get("param_states", [])),
        "dt": None if content["dt_ms"] is None else float(content["dt_ms"]) * u.ms,
        "t": None if content["t_ms"] is None else float(content["t_ms"]) * u.ms,
        "lapicque_version": content["lapicque_version"],
        "format_version": content["format_version"], "fixed": content.get("fixed"),
    }
    if "" in groups:
        info.update(groups[""])
    return info


def _group_info(meta: dict) -> dict:
    batch = int(meta["batch_size"])
    return {"model": meta["model"], "in_size": tuple(int(s) for s in meta["in_size"]),
            "batch_size": None if batch < 0 else batch, "spk_reset": meta["spk_reset"],
            "params": dict(meta["params"]), "trainable": list(meta["trainable"])}


# --------------------------------------------------------------------------
# load: checks (nothing is written until every check passed)
# --------------------------------------------------------------------------
def _difference(saved, current) -> Optional[str]:
    """How ``saved`` differs from ``current`` (values with units), or None when equal."""
    if isinstance(current, u.Quantity) != isinstance(saved, u.Quantity) or (
            isinstance(current, u.Quantity) and not u.have_same_dim(saved, current)):
        return f"saved {format_value(saved)}, this one has {format_value(current)} (another unit dimension)"
    unit = current.unit if isinstance(current, u.Quantity) else None
    a = np.asarray(saved.to_decimal(unit) if unit is not None else saved, dtype=np.float64)
    b = np.asarray(current.to_decimal(unit) if unit is not None else current, dtype=np.float64)
    try:
        a, b = np.broadcast_arrays(a, b)
    except ValueError:
        return f"saved shape {a.shape}, this one has shape {b.shape}"
    same = np.isclose(a, b, rtol=PARAM_RTOL, atol=0., equal_nan=True)
    if same.all():
        return None
    index = tuple(int(i) for i in np.argwhere(~same)[0])
    where = f" at index {index}" if a.ndim else ""
    suffix = "" if unit is None else f" {unit}"
    return f"saved {float(a[index])!r}{suffix}, this one has {float(b[index])!r}{suffix}{where}"


def _check_group(where: str, gpath: str, group: Neuron, meta: dict, check_model: bool, check_params: bool,
                 restore_params: bool) -> None:
    owner = type(group).__name__
    label = f"the {owner} group" + (f" '{gpath}'" if gpath else "")
    if check_model and meta["model"] != owner:
        raise ValueError(f"lapicque.load: {where} holds the state of a {meta['model']} group, not of a {owner} "
                         f"group; construct a {meta['model']} (or pass check_model=False to load the states "
                         f"anyway).")
    shape = tuple(int(s) for s in np.atleast_1d(group.varshape))
    if tuple(meta["in_size"]) != shape:
        raise ValueError(f"lapicque.load: {where} holds a group of shape {tuple(meta['in_size'])}; {label} has "
                         f"shape {shape}.")
    if not check_params or meta["model"] != owner:  # another class (check_model=False): other parameters
        return
    hint = "construct the group with the saved parameters, or pass check_params=False to load anyway"
    if meta["spk_reset"] is not None and meta["spk_reset"] != getattr(group, "spk_reset", None):
        raise ValueError(f"lapicque.load: {where}: spk_reset of {label} differs: saved {meta['spk_reset']!r}, "
                         f"this group has {group.spk_reset!r}; {hint}.")
    for name in getattr(group, "_PARAMS", {}):
        current = getattr(group, name, None)
        if name not in meta["params"] or current is None:
            continue
        if isinstance(current, brainstate.State):
            if restore_params:
                continue
            current = current.value
        diff = _difference(meta["params"][name], current)
        if diff is not None:
            raise ValueError(f"lapicque.load: {where}: parameter '{name}' of {label} differs: {diff}; {hint}"
                             f"{' (or restore_params=True)' if name in meta['trainable'] else ''}.")


def _converted(where: str, name: str, saved, current):
    """``saved`` in the unit, dtype and shape of ``current``; clear error otherwise."""
    if isinstance(current, u.Quantity):
        if not isinstance(saved, u.Quantity) or not u.have_same_dim(saved, current):
            raise TypeError(f"lapicque.load: {where}: the saved '{name}' ({format_value(saved)}) has not the unit "
                            f"dimension of the target ({current.unit}).")
        mantissa, unit = np.asarray(saved.to_decimal(current.unit)), current.unit
    else:
        if isinstance(saved, u.Quantity) and not saved.is_unitless:
            raise TypeError(f"lapicque.load: {where}: the saved '{name}' has unit {saved.unit}; the target is "
                            f"dimensionless.")
        mantissa, unit = np.asarray(u.get_mantissa(saved)), None
    want = np.shape(u.get_mantissa(current))
    if mantissa.shape != want:
        raise ValueError(f"lapicque.load: {where}: the saved '{name}' has shape {mantissa.shape}; the target has "
                         f"shape {want}.")
    mantissa = mantissa.astype(np.asarray(u.get_mantissa(current)).dtype)
    return mantissa if unit is None else u.Quantity(mantissa, unit=unit)


def _trainable_updates(where: str, gpath: str, group: Neuron, meta: dict) -> List[Tuple[brainstate.State, Any]]:
    """(state, saved value) for the parameters ``group`` holds as brainstate.State."""
    updates = []
    for name in getattr(group, "_PARAMS", {}):
        state = getattr(group, name, None)
        if not isinstance(state, brainstate.State):
            continue
        if name not in meta["params"]:
            raise ValueError(f"lapicque.load: {where} has no saved value for the trainable parameter '{name}'.")
        label = f"{type(group).__name__}.{name}" if not gpath else f"{gpath}.{name}"
        updates.append((state, _converted(where, label, meta["params"][name], state.value)))
    return updates


def _match_names(where: str, what: str, saved, here, hint: str = "") -> None:
    saved, here = set(saved), set(here)
    if saved != here:
        raise ValueError(f"lapicque.load: {where}: the {what} do not match; missing in the module "
                         f"{sorted(saved - here)}, not in the file {sorted(here - saved)}.{hint}")


def _other_updates(where: str, content: dict, others: Dict[str, brainstate.State], check_params: bool,
                   restore_params: bool) -> List[Tuple[brainstate.State, Any]]:
    """(state, value to write) for every state outside the neuron groups."""
    updates = []
    params = set(content.get("param_states", []))
    for spath, state in others.items():
        saved = content["states"][spath]
        flat, treedef = jax.tree_util.tree_flatten_with_path(
            state.value, is_leaf=lambda x: isinstance(x, u.Quantity))
        current = {jax.tree_util.keystr(p): leaf for p, leaf in flat}
        _match_names(where, f"leaves of state '{spath}'", saved, current)
        leaves = [_converted(where, spath + key, saved[key], current[key]) for key in current]
        if spath in params and not restore_params:
            if check_params:
                for key in current:
                    diff = _difference(saved[key], current[key])
                    if diff is not None:
                        raise ValueError(
                            f"lapicque.load: {where}: parameter '{spath}{key}' differs: {diff}; pass "
                            f"restore_params=True to load the saved values (or check_params=False).")
            continue
        updates.append((state, jax.tree_util.tree_unflatten(treedef, leaves)))
    return updates


def _warn_dt(where: str, saved_dt_ms, groups: Dict[str, Neuron]) -> None:
    now = _env_dt_ms()
    if saved_dt_ms is None or now is None or np.isclose(now, float(saved_dt_ms), rtol=1e-6, atol=0.):
        return
    held = sum(int(np.sum(np.asarray(g.ref_steps_left.value) > 0)) for g in groups.values()
               if isinstance(getattr(g, "ref_steps_left", None), brainstate.State))
    extra = f"; {held} neuron(s) are mid-refractory, counted in steps of the saved dt" if held else ""
    warnings.warn(f"lapicque.load: {where} was saved at dt = {float(saved_dt_ms)} ms and dt is now {now} ms: "
                  f"the state is restored but the continued run differs from the saved one{extra}.",
                  DtChangeWarning, stacklevel=3)


# --------------------------------------------------------------------------
# fixed arrays: connectivity, weights and parameters held outside states
# --------------------------------------------------------------------------
#: arrays of at most this many values are stored whole (compared to PARAM_RTOL); larger ones by digest
FIXED_VALUES_MAX = 16
_ARRAY_KINDS = "biufc"  # bool, integer, unsigned, float, complex (not objects or strings)


def _fixed_arrays(module, groups: Dict[str, Neuron]) -> Dict[str, Any]:
    """Every array a module of ``module`` holds outside its states, by ``'<node path>.<attribute>'``.

    Found generically: for every node except the lapicque neuron groups
    (whose parameters are compared by name), each public attribute that is an
    array or quantity, or a dict/list/tuple of them, or a plain object (not a
    module, not callable) holding them in its public attributes (e.g. the
    ``conn`` of ``brainstate.nn.EventFixedProb``).  States, sub-modules
    (their own nodes) and callables (initializers, surrogate functions,
    kernels: derived or only shaping starting states) are not followed.
    """
    skip = {id(g) for g in groups.values()}
    out: Dict[str, Any] = {}
    for path, node in module.nodes().items():
        if id(node) in skip or isinstance(node, Neuron):
            continue
        prefix = _join(path)
        for name, value in vars(node).items():
            if not name.startswith("_"):
                _collect(value, f"{prefix}.{name}" if prefix else name, out, plain_object=True)
    return out


def _collect(value, key: str, out: Dict[str, Any], plain_object: bool, depth: int = 0) -> None:
    if isinstance(value, (brainstate.State, brainstate.graph.Node, type)) or depth > 8:
        return
    if isinstance(value, (u.Quantity, np.ndarray, np.generic, jax.Array)):
        if np.asarray(u.get_mantissa(value)).dtype.kind in _ARRAY_KINDS:
            out[key] = value
    elif isinstance(value, dict):
        for k, v in value.items():
            _collect(v, f"{key}[{k!r}]", out, plain_object, depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _collect(v, f"{key}[{i}]", out, plain_object, depth + 1)
    elif plain_object and hasattr(value, "__dict__") and not callable(value):
        for name, v in vars(value).items():
            if not name.startswith("_"):
                _collect(v, f"{key}.{name}", out, False, depth + 1)


def _plain_value(value):
    """A quantity with a unit as it is; anything else (unitless quantities too) as a numpy array."""
    if isinstance(value, u.Quantity) and not value.unit.is_unitless:
        return value
    return np.asarray(u.get_mantissa(value))


#: values hashed per chunk (bounds the memory of the canonical copy)
_HASH_CHUNK = 1 << 20


def _digest(value) -> Tuple[list, str, str, str]:
    """(shape, unit name, dtype, SHA-256 of the values as float64 / int64 / bool / complex128 in C order).

    The canonical dtype makes the digest independent of the integer width
    and of float32 vs float64 storage of the same (representable) values.
    """
    mantissa = np.asarray(u.get_mantissa(value))
    canon = {"f": np.float64, "c": np.complex128, "b": np.bool_}.get(mantissa.dtype.kind, np.int64)
    flat, h = mantissa.reshape(-1), hashlib.sha256()
    for i in range(0, flat.size, _HASH_CHUNK):
        h.update(np.ascontiguousarray(flat[i:i + _HASH_CHUNK], dtype=canon).tobytes())
    unit = u.get_unit(value)
    return list(mantissa.shape), ("" if unit.is_unitless else str(unit)), mantissa.dtype.name, h.hexdigest()


def _fixed_record(value) -> dict:
    shape, unit, dtype, digest = _digest(value)
    record = {"shape": shape, "unit": unit, "dtype": dtype, "sha256": digest}
    if int(np.prod(shape, dtype=np.int64)) <= FIXED_VALUES_MAX:
        record["value"] = _plain_value(value)
    return record


def _fixed_difference(saved: dict, current) -> Optional[str]:
    """How the array ``current`` differs from its saved record, or None."""
    shape, unit, dtype, digest = _digest(current)
    if list(saved["shape"]) != shape:
        return f"saved shape {tuple(saved['shape'])}, this one has shape {tuple(shape)}"
    if "value" in saved:
        return _difference(_plain_value(saved["value"]), _plain_value(current))
    if saved["unit"] != unit:
        return f"saved in {saved['unit'] or 'no unit'}, this one in {unit or 'no unit'}"
    if saved["sha256"] != digest:
        dtypes = f"; saved as {saved['dtype']}, this one is {dtype}" if saved["dtype"] != dtype else ""
        return (f"the values differ (SHA-256 of the saved values {saved['sha256'][:12]}..., of this one's "
                f"{digest[:12]}...{dtypes})")
    return None


def _check_fixed(where: str, content: dict, module, groups: Dict[str, Neuron]) -> None:
    """Compare every fixed array of ``module`` with the file's record of it."""
    saved = content.get("fixed")
    here = _fixed_arrays(module, groups)
    if saved is None:  # format 1 or 2: no record to compare with
        if here and content.get("format_version") == 2:
            warnings.warn(f"lapicque.load: {where} is a format-2 checkpoint, written before the connectivity was "
                          f"recorded: {len(here)} array(s) outside the neuron groups (connectivity, weights, "
                          f"parameters) are not checked. Save it again to record them.", UserWarning, stacklevel=3)
        return
    hint = ("build the network with the saved connectivity, weights and parameters (same seeds), or pass "
            "check_params=False to load anyway")
    _match_names(where, "arrays outside the neuron groups (connectivity, weights, parameters)", saved, here,
                 f" {hint[0].upper()}{hint[1:]}.")
    for key, value in here.items():
        diff = _fixed_difference(saved[key], value)
        if diff is not None:
            raise ValueError(f"lapicque.load: {where}: '{key}' (connectivity, weights or parameters outside the "
                             f"neuron groups) differs: {diff}; {hint}.")


# --------------------------------------------------------------------------
# non-finite values
# --------------------------------------------------------------------------
def _check_finite(where: str, content: dict, groups: Dict[str, Neuron], restore_params: bool) -> None:
    """Refuse a file whose states (or parameters to restore) hold NaN or inf, naming the state and the neuron.

    No lapicque state takes a non-finite value legitimately (a neuron that
    never spiked has ``last_spike_time = -1e7 ms``, not ``-inf``).
    """
    values = [(spath, key, leaf) for spath, leaves in content["states"].items() for key, leaf in leaves.items()]
    if restore_params:
        values += [(f"{g}.{name}" if g else name, "", content["groups"][g]["params"][name])
                   for g in groups for name in content["groups"][g]["trainable"]]
    for spath, key, leaf in values:
        arr = np.asarray(u.get_mantissa(leaf))
        if arr.dtype.kind not in "fc":
            continue
        bad = ~np.isfinite(arr)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"lapicque.load: {where}: the saved state '{spath}{key}' holds {arr[index]} "
                             f"{_position(spath, index, groups)} ({int(bad.sum())} of {arr.size} values are NaN "
                             f"or infinite); a diverged state cannot be resumed. Save a state from before the "
                             f"divergence.")


def _position(spath: str, index: Tuple[int, ...], groups: Dict[str, Neuron]) -> str:
    """'at neuron 5 of the group 'E' (batch 1)' for a neuron group's state, else 'at index (..)'."""
    gpath, _, _ = spath.rpartition(".")
    group = groups.get(gpath)
    if group is None or not index or len(index) < len(group.varshape):
        return f"at index {index}" if index else ""
    n = len(group.varshape)
    neuron = int(np.ravel_multi_index(index[len(index) - n:], group.varshape))
    label = f"the {type(group).__name__} group" + (f" '{gpath}'" if gpath else "")
    batch = f" (batch {index[0]})" if len(index) > n else ""
    return f"at neuron {neuron} of {label}{batch}"


# --------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------
def load(path: PathLike, module, *, check_model: bool = True, check_params: bool = True,
         restore_params: bool = False):
    """Restore the states saved in ``path`` into ``module`` (a neuron group or a network).

    ``module`` must have the saved structure: the same lapicque neuron groups
    (by path) and the same other states.  A neuron group may be freshly
    constructed (its states are then created with the saved shapes, batch
    axis included); the other states of a network must exist
    (``brainstate.nn.init_all_states(module)``).  Every check runs before
    anything is written, and a failed load leaves the existing states as
    they were.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.
    module : lapicque.Neuron or brainstate.nn.Module
        The group or network to restore into.
    check_model : bool, default True
        Require each neuron group to be of the saved class (e.g. a ``LIF``
        state is not loaded into an ``IF`` group, although both hold only
        ``V``).
    check_params : bool, default True
        Require each neuron group's parameters and ``spk_reset`` (when the
        group is of the saved class), and every saved
        ``brainstate.ParamState``, to equal the saved values (relative
        tolerance :data:`PARAM_RTOL`); ``False`` loads the states whatever
        the parameters.  The same switch covers every array held outside
        the states by the modules other than neuron groups -- connectivity
        (edges, weights, delays), synapse and projection parameters -- which
        must equal the saved ones (small arrays to :data:`PARAM_RTOL`, larger
        ones exactly, by their SHA-256 digest).
    restore_params : bool, default False
        Write the saved values into every ``brainstate.ParamState`` instead
        of comparing them: trainable neuron parameters (e.g.
        ``tau=brainstate.ParamState(10 * u.ms)``) and the parameters of other
        modules (e.g. ``brainstate.nn.Linear`` weights).

    Returns
    -------
    module
        ``module`` itself, so that ``net = lapicque.load(path, lapicque.LIF(100))`` works.

    Raises
    ------
    CheckpointDamagedError (a ValueError)
        If the file is damaged or is not a lapicque checkpoint.
    ValueError, TypeError
        On any mismatch, naming the group, parameter or state, the saved
        value and the module's.

    Warns
    -----
    DtChangeWarning
        If the file records a ``dt`` other than the current
        ``brainstate.environ`` ``dt``.
    """
    if not isinstance(module, brainstate.nn.Module):
        raise TypeError(f"lapicque.load: module must be a lapicque neuron group or a brainstate module; "
                        f"got {type(module).__name__}.")
    where = repr(os.fspath(path))
    content = read_file(os.fspath(path))
    groups = _groups(module)
    _match_names(where, "neuron groups", content["groups"], groups)
    updates = []
    for gpath, group in groups.items():
        _check_group(where, gpath, group, content["groups"][gpath], check_model, check_params, restore_params)
        if restore_params:
            updates += _trainable_updates(where, gpath, group, content["groups"][gpath])
    others = _other_states(module, groups)
    own = _own_paths(groups) | {(f"{g}.{name}" if g else name) for g in groups
                                for name in _saved_group_states(g, content["groups"][g], content["states"])}
    saved_others = [p for p in content["states"] if p not in own]
    _match_names(where, "states outside the neuron groups", saved_others, others,
                 " Initialize the module first (brainstate.nn.init_all_states(module)) with the saved batch size.")
    updates += _other_updates(where, content, others, check_params, restore_params)
    if check_params:
        _check_fixed(where, content, module, groups)
    _check_finite(where, content, groups, restore_params)
    _write(module, groups, {g: _saved_group_states(g, content["groups"][g], content["states"]) for g in groups},
           updates)
    _warn_dt(where, content["dt_ms"], groups)
    return module


def _write(module, groups: Dict[str, Neuron], group_states: Dict[str, dict], updates) -> None:
    """Write each group's saved states and ``updates``; on any error, put every existing state back."""
    before = [(s, s.value) for s in module.states().values()]
    try:
        for gpath, group in groups.items():
            group.load_state_dict(group_states[gpath])
        for state, value in updates:
            state.value = value
    except Exception:
        for state, value in before:
            state.value = value
        raise
