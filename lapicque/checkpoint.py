"""Checkpoint files: save a neuron group's state to disk and resume exactly.

A checkpoint holds everything :meth:`Neuron.state_dict` returns -- every
state variable with its unit, including the refractory bookkeeping of the
``*Ref`` models (``last_spike_time``, the integer ``ref_steps_left`` counter
and, with ``ref_var=True``, ``refractory``) -- so that a group restored with
:func:`load` continues *bit for bit* as the saved one would have.

The file is a `braintools` msgpack checkpoint
(:func:`braintools.file.msgpack_save`): arrays are stored as raw bytes with
their dtype and shape, quantities with their unit (dimension exponents and
scale); nothing is pickled, so loading a file never runs code.  Besides the
states it records the model class, the group shape, the parameters, the
lapicque version and, when known, ``dt`` and the simulation time ``t``.
Parameters are restored only on request, and only those held as
``brainstate.State`` (trainable).

What a checkpoint does *not* hold: the simulation clock.  ``t`` lives in
:mod:`brainstate.environ`, not in the model; continue it yourself (step
``i`` of the resumed run uses ``t = i * dt`` with ``i`` counting on from the
saved step).  Pass ``t=`` to :func:`save` to keep it in the file and read it
back with :func:`read`.  The remaining refractory period is stored in steps,
so resume with the same ``dt``.

Examples
--------
>>> import os, tempfile
>>> import brainstate, saiunit as u, lapicque
>>> from lapicque import checkpoint
>>> brainstate.environ.set(dt=0.1 * u.ms)
>>> lif = lapicque.LIF(3)
>>> lif.init_state()
>>> _ = lif.update(12. * u.mA)
>>> path = os.path.join(tempfile.mkdtemp(), "lif.ckpt")
>>> _ = checkpoint.save(path, lif, t=0.1 * u.ms)
>>> fresh = checkpoint.load(path, lapicque.LIF(3))
>>> bool(u.math.all(fresh.V.value == lif.V.value))
True
>>> print(checkpoint.read(path)["t"])
0.1 ms
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict, Optional, Union

import brainstate
import braintools
import jax.numpy as jnp
import numpy as np
import saiunit as u

from ._base import Neuron

__all__ = ["save", "load", "read", "FORMAT", "FORMAT_VERSION"]

#: value of the ``format`` field of every lapicque checkpoint
FORMAT = "lapicque.checkpoint"
#: version of the file layout; bumped on incompatible changes
FORMAT_VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]


# --------------------------------------------------------------------------
# (de)serialization of quantities
# --------------------------------------------------------------------------
def _is_packed_quantity(x) -> bool:
    return isinstance(x, dict) and {"mantissa", "dim", "scale", "base", "factor"} <= set(x)


def _unpack(x):
    """Turn braintools' raw dict form of a quantity back into a Quantity (recursively)."""
    if _is_packed_quantity(x):
        unit = u.Unit(dim=u.Dimension(np.asarray(x["dim"])), scale=x["scale"], base=x["base"],
                      factor=x["factor"])
        mantissa = np.asarray(x["mantissa"])
        return mantissa if unit.is_unitless else u.Quantity(mantissa, unit=unit)
    if isinstance(x, dict):
        return {k: _unpack(v) for k, v in x.items()}
    return x


def _time_ms(value, what: str) -> Optional[float]:
    if value is None:
        return None
    if not isinstance(value, u.Quantity) or not u.have_same_dim(value, u.ms):
        raise TypeError(f"lapicque.save: {what} must be a time quantity such as 12.5 * u.ms; got {value!r}.")
    arr = np.asarray(value.to_decimal(u.ms))
    if arr.size != 1:
        raise ValueError(f"lapicque.save: {what} must be a scalar time; got an array of shape {arr.shape}.")
    return float(arr.reshape(()))


def _env_dt_ms() -> Optional[float]:
    try:
        dt = brainstate.environ.get_dt()
    except KeyError:
        return None
    if isinstance(dt, u.Quantity) and u.have_same_dim(dt, u.ms):
        return float(np.asarray(dt.to_decimal(u.ms)).reshape(()))
    return None


def _batch_size(model, states) -> Optional[int]:
    V = states.get("V")
    if V is None:
        return None
    ndim = np.ndim(u.get_mantissa(V))
    return int(np.shape(u.get_mantissa(V))[0]) if ndim == len(model.varshape) + 1 else None


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def save(path: PathLike, model, *, t=None, overwrite: bool = True) -> str:
    """Write the state of the neuron group ``model`` to the file ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        File to write (parent folders are created).  The write is atomic: a
        temporary file is renamed into place, so an interrupted save never
        leaves a truncated checkpoint.
    model : lapicque.Neuron
        An initialized neuron group (``init_state`` has been called).
    t : Quantity[time], optional
        The simulation time the state corresponds to (the ``t`` of the next
        step), stored for :func:`read`; lapicque never reads it back itself.
    overwrite : bool, default True
        Replace an existing file; with ``False`` an existing file raises
        ``braintools.file.InvalidCheckpointPath``.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    lapicque.StateNotInitializedError
        If the group has no state yet.
    TypeError
        If ``model`` is not a lapicque neuron group or ``t`` is not a time.
    """
    if not isinstance(model, Neuron):
        raise TypeError(f"lapicque.save: model must be a lapicque neuron group; got {type(model).__name__}.")
    states = model.state_dict()
    params, trainable = {}, []
    for name in getattr(model, "_PARAMS", {}):
        value = getattr(model, name, None)
        if value is None:
            continue
        if isinstance(value, brainstate.State):  # a trainable parameter (brainstate.ParamState)
            trainable.append(name)
            value = value.value
        params[name] = value if isinstance(value, u.Quantity) else np.asarray(value)
    from . import __version__  # here, not at import time: __init__ imports this module

    batch = _batch_size(model, states)
    content: Dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lapicque_version": __version__,
        "model": type(model).__name__,
        "in_size": np.asarray(model.varshape, dtype=np.int64),
        "batch_size": -1 if batch is None else batch,
        "dt_ms": _env_dt_ms(),
        "t_ms": _time_ms(t, "t"),
        "states": dict(states),
        "params": params,
        "trainable": trainable,
    }
    return braintools.file.msgpack_save(os.fspath(path), content, overwrite=overwrite)


def read(path: PathLike) -> Dict[str, Any]:
    """Read a checkpoint file without loading it into a model.

    Returns
    -------
    dict
        ``model`` (class name), ``in_size`` (tuple), ``batch_size`` (int or
        None), ``dt`` and ``t`` (time quantities or None), ``states`` and
        ``params`` (name -> quantity or array), ``trainable`` (names of the
        parameters held as ``brainstate.State``), ``lapicque_version`` and
        ``format_version``.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a lapicque checkpoint, or was
        written by a newer, incompatible version.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"lapicque.load: no checkpoint file at {path!r}.")
    try:
        raw = braintools.file.msgpack_load(path)
    except braintools.file.InvalidCheckpointPath as e:
        raise ValueError(f"lapicque.load: {path!r} is not a readable checkpoint file ({e}).") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(
            f"lapicque.load: {path!r} is not a lapicque checkpoint (no '{FORMAT}' header); "
            f"write checkpoints with lapicque.save(path, model).")
    version = int(raw.get("format_version", -1))
    if version > FORMAT_VERSION:
        raise ValueError(
            f"lapicque.load: {path!r} uses checkpoint format {version}, newer than this lapicque "
            f"understands ({FORMAT_VERSION}); upgrade lapicque.")
    batch = int(raw["batch_size"])
    dt, t = raw.get("dt_ms"), raw.get("t_ms")
    return {
        "model": raw["model"],
        "in_size": tuple(int(s) for s in np.asarray(raw["in_size"]).reshape(-1)),
        "batch_size": None if batch < 0 else batch,
        "dt": None if dt is None else float(dt) * u.ms,
        "t": None if t is None else float(t) * u.ms,
        "states": _unpack(raw["states"]),
        "params": _unpack(raw.get("params", {})),
        "trainable": [str(n) for n in (raw.get("trainable") or {}).values()]
        if isinstance(raw.get("trainable"), dict) else list(raw.get("trainable") or []),
        "lapicque_version": raw.get("lapicque_version"),
        "format_version": version,
    }


def _restore_trainable(model, info, path):
    """Write the saved values of the parameters ``model`` holds as brainstate.State."""
    owner = type(model).__name__
    updates = {}
    for name, spec in getattr(model, "_PARAMS", {}).items():
        state = getattr(model, name, None)
        if not isinstance(state, brainstate.State):
            continue
        if name not in info["params"]:
            raise ValueError(f"lapicque.load: {path!r} has no saved value for the trainable parameter '{name}'.")
        saved, current = info["params"][name], state.value
        if isinstance(current, u.Quantity):
            if not isinstance(saved, u.Quantity) or not u.have_same_dim(saved, current):
                raise TypeError(f"lapicque.load: the saved '{name}' ({saved!r}) has not the unit dimension of "
                                f"{owner}.{name} ({current.unit}).")
            dtype = np.asarray(current.mantissa).dtype
            value = u.Quantity(np.asarray(saved.to_decimal(current.unit)).astype(dtype), unit=current.unit)
        else:
            if isinstance(saved, u.Quantity):
                raise TypeError(f"lapicque.load: the saved '{name}' has a unit; {owner}.{name} is dimensionless.")
            value = np.asarray(saved).astype(np.asarray(current).dtype)
        if np.shape(u.get_mantissa(value)) != np.shape(u.get_mantissa(current)):
            raise ValueError(f"lapicque.load: the saved '{name}' has shape {np.shape(u.get_mantissa(value))}; "
                             f"{owner}.{name} has shape {np.shape(u.get_mantissa(current))}.")
        updates[name] = value
    for name, value in updates.items():  # only after every check passed
        getattr(model, name).value = value


def load(path: PathLike, model, *, check_model: bool = True, restore_params: bool = False):
    """Restore the state saved in ``path`` into the neuron group ``model``.

    ``model`` may be freshly constructed (its states are then created with
    the saved shapes, batch axis included) or already initialized (the saved
    shapes must then equal the current ones).  Names, shapes and units are
    checked by :meth:`Neuron.load_state_dict`, which raises a ``ValueError``
    or ``TypeError`` naming the offending state.  Constructor parameters are
    not restored (construct ``model`` with the parameters you want), except
    trainable ones on request (``restore_params``).

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.
    model : lapicque.Neuron
        The group to restore into.
    check_model : bool, default True
        Require ``model`` to be of the saved class (e.g. a ``LIF`` state is
        not loaded into an ``IF`` group, although both hold only ``V``).
    restore_params : bool, default False
        Also restore the parameters that ``model`` holds as
        ``brainstate.State`` (trainable, e.g. ``tau=brainstate.ParamState(10 * u.ms)``)
        from the saved values (same unit dimension and shape required).

    Returns
    -------
    lapicque.Neuron
        ``model`` itself, so that ``net = lapicque.load(path, lapicque.LIF(100))`` works.

    Warns
    -----
    UserWarning
        If the file records a ``dt`` that differs from the current
        ``brainstate.environ`` ``dt`` while some neuron is refractory: the
        remaining refractory period is counted in steps of the saved ``dt``.
    """
    if not isinstance(model, Neuron):
        raise TypeError(f"lapicque.load: model must be a lapicque neuron group; got {type(model).__name__}.")
    info = read(path)
    owner = type(model).__name__
    if check_model and info["model"] != owner:
        raise ValueError(
            f"lapicque.load: {os.fspath(path)!r} holds the state of a {info['model']} group, not of a {owner} "
            f"group; construct a {info['model']} (or pass check_model=False to load the states anyway).")
    shape = tuple(int(s) for s in np.atleast_1d(model.varshape))
    if info["in_size"] != shape:
        raise ValueError(
            f"lapicque.load: {os.fspath(path)!r} holds a group of shape {info['in_size']}; "
            f"the {owner} group has shape {shape}.")
    if restore_params:
        _restore_trainable(model, info, os.fspath(path))
    model.load_state_dict(info["states"])
    left = getattr(model, "ref_steps_left", None)
    now = _env_dt_ms()
    if (info["dt"] is not None and now is not None and left is not None
            and not np.isclose(now, float(info["dt"].to_decimal(u.ms)), rtol=1e-6, atol=0.)
            and bool(jnp.any(left.value > 0))):
        warnings.warn(
            f"lapicque.load: the checkpoint was saved at dt = {info['dt']} and dt is now {now} ms; "
            f"the remaining refractory periods (stored in steps) now last a different time.",
            UserWarning, stacklevel=2)
    return model
