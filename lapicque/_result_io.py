"""Saving, loading and exporting a :class:`~lapicque.SimulationResult`.

One result is written as a set of named arrays under a key prefix
(:func:`result_arrays` / :func:`result_from_arrays`), so a container of
several results (e.g. one per population of a network) can put each under its
own prefix in one NPZ file.  Everything is stored as plain arrays plus one
JSON string (no pickle): spikes as ``(step, neuron)`` int32 events (or the
per-neuron counts and first/last spike steps of a ``spikes='count'`` run),
each trace as its mantissa with its unit, every model parameter with its
unit, and the run metadata (dt, duration, t0, seed and input when given, and
the versions of Python, lapicque, JAX, brainstate, braintools and saiunit).

Units are written as their name (e.g. ``'mV'``, ``'1 / ms'``) together with
their SI dimension exponents and magnitude, so a unit whose name is not an
attribute of ``saiunit`` is still read back exactly.
"""

from __future__ import annotations

import json
import os
import platform
import time
from importlib import metadata as _md
from typing import Any, Dict, Optional

import numpy as np
import saiunit as u

__all__ = ["result_arrays", "result_from_arrays", "save_result", "load_result", "to_neo_segment",
           "to_neo", "model_metadata", "versions", "save_results", "load_results", "results_to_neo"]

FORMAT = "lapicque.SimulationResult"
FORMAT_VERSION = 1
_PACKAGES = ("lapicque", "jax", "jaxlib", "brainstate", "braintools", "saiunit", "numpy")


# --------------------------------------------------------------------------
# units
# --------------------------------------------------------------------------
def unit_record(unit) -> Optional[Dict[str, Any]]:
    """``mV`` -> ``{'name': 'mV', 'dim': [2, 1, -3, -1, 0, 0, 0], 'magnitude': 0.001}``; None for no unit."""
    if unit is None or unit.is_unitless:
        return None
    return {"name": str(unit), "dim": [int(x) for x in np.asarray(unit.dim._dims)],
            "magnitude": float(unit.magnitude)}


def _parse_unit_name(name: str):
    """``'mV / ms^2'`` -> the saiunit unit, from saiunit's own unit names (None if not readable)."""
    unit, op = None, "*"
    for tok in name.replace("(", " ").replace(")", " ").split():
        if tok in ("*", "/"):
            op = tok
            continue
        base, _, power = tok.partition("^")
        if base == "1":
            term = None
        else:
            term = getattr(u, base, None)
            if not isinstance(term, u.Unit):
                return None
            term = term ** (int(power) if power else 1)
        if term is not None:
            term = term if op == "*" else term ** -1
            unit = term if unit is None else unit * term
        op = "*"
    return unit


def unit_from_record(rec):
    """Inverse of :func:`unit_record`: the named unit when saiunit knows it, else the SI unit scaled."""
    if rec is None:
        return None
    dim = u.get_or_create_dimension(list(rec["dim"]))
    try:
        unit = _parse_unit_name(rec["name"])
    except (ValueError, TypeError):  # pragma: no cover - malformed name
        unit = None
    if unit is not None and unit.dim == dim and np.isclose(unit.magnitude, rec["magnitude"], rtol=1e-12):
        return unit
    return _si_scaled(dim, rec["magnitude"])


def _si_scaled(dim, magnitude):
    """A unit of dimension ``dim`` equal to ``magnitude`` times its SI unit."""
    exp = int(np.round(np.log10(magnitude)))
    if not np.isclose(10. ** exp, magnitude, rtol=1e-12):
        raise ValueError(f"cannot rebuild a unit of magnitude {magnitude} (not a power of ten)")
    return u.Unit(dim, scale=exp)


# --------------------------------------------------------------------------
# metadata
# --------------------------------------------------------------------------
def versions() -> Dict[str, str]:
    """Versions of Python and of the libraries a result depends on."""
    out = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = _md.version(pkg)
        except _md.PackageNotFoundError:  # e.g. lapicque run from a source tree
            if pkg == "lapicque":
                from . import __version__
                out[pkg] = __version__
    return out


def _plain(value):
    """Mantissa of a parameter as a numpy array and its unit (or None)."""
    value = getattr(value, "value", value)  # trainable parameters are brainstate States
    if isinstance(value, u.Quantity):
        return np.asarray(value.mantissa), value.unit
    return np.asarray(value), None


def model_metadata(model) -> Dict[str, Any]:
    """Class, size, parameters (arrays with units) and options of a model.

    Returns a dict ``{'class', 'module', 'in_size', 'options', 'params'}``
    where ``params`` maps each declared parameter to ``(array, unit)``.
    """
    if model is None:
        return {"class": None, "module": None, "in_size": None, "options": {}, "params": {}}
    cls = type(model)
    params = {}
    for name in getattr(cls, "_PARAMS", {}):
        if hasattr(model, name):
            params[name] = _plain(getattr(model, name))
    options = {k: getattr(model, k) for k in ("spk_reset", "ref_var") if isinstance(getattr(model, k, None),
                                                                                    (str, bool))}
    in_size = getattr(model, "in_size", None)
    return {"class": cls.__name__, "module": cls.__module__,
            "in_size": None if in_size is None else [int(x) for x in np.atleast_1d(in_size)],
            "options": options, "params": params}


# --------------------------------------------------------------------------
# arrays <-> result
# --------------------------------------------------------------------------
def result_arrays(result, prefix: str = "") -> Dict[str, np.ndarray]:
    """Everything needed to rebuild ``result``, as named arrays (keys start with ``prefix``)."""
    out: Dict[str, np.ndarray] = {}
    minfo = model_metadata(result.model) if result.model is not None else result.meta.get("model_saved")
    if minfo is None:
        minfo = model_metadata(None)
    for name, (arr, _) in minfo["params"].items():
        out[f"{prefix}param/{name}"] = arr
    traces = {}
    for name, q in result.traces.items():
        arr, unit = _plain(q)
        out[f"{prefix}trace/{name}"] = arr
        traces[name] = unit_record(unit)
    if result.spike_mode == "count":
        out[f"{prefix}spike_count"] = np.asarray(result.spike_count)
        out[f"{prefix}first_step"] = np.asarray(result._first)
        out[f"{prefix}last_step"] = np.asarray(result._last)
    else:
        steps, neurons = result.spike_steps
        out[f"{prefix}spike_steps"] = np.asarray(steps, np.int32)
        out[f"{prefix}spike_neurons"] = np.asarray(neurons, np.int32)
    header = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "model": {k: v for k, v in minfo.items() if k != "params"},
        "param_units": {k: unit_record(unit) for k, (_, unit) in minfo["params"].items()},
        "dt_ms": result._dt_ms, "t0_ms": result._t0_ms, "n_steps": result.n_steps,
        "duration_ms": result.n_steps * result._dt_ms, "shape": list(result.shape),
        "record_every": result.record_every, "spike_mode": result.spike_mode,
        "count_from_step": result._count_from_step, "trace_units": traces,
        "run": {k: v for k, v in result.meta.items() if k not in ("versions", "model_saved", "saved")},
        "versions": result.meta.get("versions") or versions(),
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out[f"{prefix}header"] = np.array(json.dumps(header, default=_json_default))
    return out


def _json_default(x):
    if isinstance(x, (np.generic,)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, u.Quantity):
        return f"{x}"
    return str(x)


def result_from_arrays(arrays, prefix: str = ""):
    """Rebuild a :class:`SimulationResult` from :func:`result_arrays` output (or an open NPZ)."""
    from ._result import SimulationResult

    key = f"{prefix}header"
    if key not in arrays:
        raise ValueError(f"not a lapicque result: no {key!r} entry (found {sorted(arrays)[:6]})")
    header = json.loads(str(arrays[key][()]))
    if header.get("format") != FORMAT or header.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"unsupported result format {header.get('format')!r} version "
                         f"{header.get('format_version')!r} (this lapicque reads {FORMAT} <= {FORMAT_VERSION})")
    traces = {}
    for name, rec in header["trace_units"].items():
        arr = np.asarray(arrays[f"{prefix}trace/{name}"])
        unit = unit_from_record(rec)
        traces[name] = arr if unit is None else u.Quantity(arr, unit=unit)
    params = {name: (np.asarray(arrays[f"{prefix}param/{name}"]), unit_from_record(rec))
              for name, rec in header["param_units"].items()}
    model_saved = dict(header["model"], params=params)
    meta = dict(header["run"], versions=header["versions"], saved=header["saved"], model_saved=model_saved)
    kw = dict(model=_rebuild_model(model_saved), dt_ms=header["dt_ms"], t0_ms=header["t0_ms"],
              n_steps=header["n_steps"], shape=tuple(header["shape"]), record_every=header["record_every"],
              traces=traces, spike_mode=header["spike_mode"], count_from_step=header["count_from_step"], meta=meta)
    if header["spike_mode"] == "count":
        return SimulationResult(counts=arrays[f"{prefix}spike_count"], first_step=arrays[f"{prefix}first_step"],
                                last_step=arrays[f"{prefix}last_step"], **kw)
    return SimulationResult(events=(arrays[f"{prefix}spike_steps"], arrays[f"{prefix}spike_neurons"]), **kw)


def _rebuild_model(info):
    """A fresh lapicque model with the saved parameters (no state); None for other classes."""
    import lapicque

    cls = lapicque.MODELS.get(info.get("class"))
    if cls is None or info.get("in_size") is None:
        return None
    kwargs = {k: (arr if unit is None else u.Quantity(arr, unit=unit)) for k, (arr, unit) in info["params"].items()}
    try:
        return cls(tuple(info["in_size"]), **kwargs, **info.get("options", {}))
    except Exception:  # noqa: BLE001 - a model we cannot rebuild leaves the data readable
        return None


#: the most values a CSV file may hold (larger runs: .npz)
CSV_MAX_VALUES = 2_000_000


def _npz_path(path, allow_csv=False) -> str:
    path = os.fspath(path)
    if not (path.endswith(".npz") or (allow_csv and path.endswith(".csv"))):
        raise ValueError(f"the file name must end in .npz{' or .csv' if allow_csv else ''}; got {path!r}")
    return path


def save_result(result, path) -> str:
    """Write ``result`` to ``path``: ``.npz`` (compressed, everything) or ``.csv`` (small runs); return it."""
    path = _npz_path(path, allow_csv=True)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if path.endswith(".csv"):
        return save_csv(result, path)
    np.savez_compressed(path, **result_arrays(result))
    return path


def save_csv(result, path: str) -> str:
    """Traces as ``path`` (``time_ms`` then one column per state and neuron) and spikes as ``*.spikes.csv``.

    Times are written on the dt grid (``20.7``, not ``20.700001``); the
    spike file has one row ``time_ms,neuron`` per spike (flat neuron index).
    A run with more than :data:`CSV_MAX_VALUES` values is refused (use ``.npz``).
    """
    n_samples = len(result.trace_times)
    n_values = n_samples * result.n_neurons * max(len(result.traces), 1)
    if n_values > CSV_MAX_VALUES:
        raise ValueError(f"{n_values} values are too many for CSV (at most {CSV_MAX_VALUES}); save as .npz")
    dec = _decimals(result._dt_ms)
    steps = np.arange(n_samples) * result.record_every + result.record_every - 1
    t = np.round(result._t0_ms + (steps + 1.0) * result._dt_ms, dec)
    head, cols = ["time_ms"], [np.array([f"{x:.{dec}f}" for x in t], dtype=object)]
    for name, q in result.traces.items():
        arr, unit = _plain(q)
        arr = arr.reshape(n_samples, -1)
        tag = name if unit is None else f"{name}_{str(unit).replace(' ', '')}"
        for j in range(arr.shape[1]):
            head.append(f"{tag}[{j}]")
            cols.append(np.array([f"{x:.7g}" if arr.dtype.kind == "f" else str(int(x)) for x in arr[:, j]],
                                 dtype=object))
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(head) + "\n")
        for row in zip(*cols):
            f.write(",".join(row) + "\n")
    if result.spike_mode == "dense":
        s_steps, neurons = result.spike_steps
        times = np.round(result._t0_ms + (s_steps + 1.0) * result._dt_ms, dec)
        with open(path[:-4] + ".spikes.csv", "w", encoding="utf-8") as f:
            f.write("time_ms,neuron\n")
            f.writelines(f"{x:.{dec}f},{int(j)}\n" for x, j in zip(times, neurons))
    return path


def _decimals(dt_ms: float) -> int:
    for d in range(10):
        if abs(round(dt_ms, d) - dt_ms) <= 1e-9 * max(abs(dt_ms), 1e-12):
            return d
    return 9


def load_result(path):
    """Read a result written by :func:`save_result`."""
    with np.load(_npz_path(path), allow_pickle=False) as f:
        return result_from_arrays({k: f[k] for k in f.files})


# --------------------------------------------------------------------------
# neo
# --------------------------------------------------------------------------
def _pq_unit(unit):
    """saiunit unit -> a ``quantities`` unit (dimensionless for None)."""
    import quantities as pq

    if unit is None:
        return pq.dimensionless
    try:
        return pq.Quantity(1.0, str(unit).replace(" ", "")).units
    except (LookupError, ValueError, SyntaxError, AttributeError):
        # a name quantities does not know: express it in SI base units
        names = ("m", "kg", "s", "A", "K", "mol", "cd")
        expr = "*".join(f"{n}**{int(e)}" for n, e in zip(names, np.asarray(unit.dim._dims)) if e)
        return (pq.Quantity(float(unit.magnitude), expr or "dimensionless")).simplified


def to_neo_segment(result, name: Optional[str] = None):
    """One ``neo.Segment``: a ``SpikeTrain`` per neuron and an ``AnalogSignal`` per trace."""
    import neo
    import quantities as pq

    t0, t_end = result._t0_ms, result._t0_ms + result.n_steps * result._dt_ms
    seg = neo.Segment(name=name or "lapicque run", description=repr(result))
    times = [np.asarray(x.to_decimal(u.ms), np.float64) for x in result.spike_times]
    for i, t in enumerate(times):
        seg.spiketrains.append(neo.SpikeTrain(t, units=pq.ms, t_start=t0 * pq.ms, t_stop=t_end * pq.ms,
                                              sampling_period=result._dt_ms * pq.ms, name=f"neuron {i}",
                                              array_annotations=None, neuron=i))
    k = result.record_every
    for tname, q in result.traces.items():
        arr, unit = _plain(q)
        arr = arr.reshape(arr.shape[0], -1).astype(np.float64)
        # sample j is at t0 + (j + 1) k dt
        seg.analogsignals.append(neo.AnalogSignal(arr, units=_pq_unit(unit), name=tname,
                                                  sampling_period=k * result._dt_ms * pq.ms,
                                                  t_start=(t0 + k * result._dt_ms) * pq.ms))
    return seg


def to_neo(result, name: Optional[str] = None):
    """A ``neo.Block`` holding :func:`to_neo_segment` of ``result`` (needs the ``neo`` extra)."""
    try:
        import neo
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("to_neo needs the optional packages neo and quantities: "
                          "pip install 'lapicque[neo]'") from None
    block = neo.Block(name=name or "lapicque", **{"lapicque_versions": versions()})
    block.segments.append(to_neo_segment(result, name))
    return block


# --------------------------------------------------------------------------
# several results in one file (e.g. the populations of a network)
# --------------------------------------------------------------------------
def save_results(results, path) -> str:
    """Write a mapping ``name -> SimulationResult`` to one ``.npz`` (each under the prefix ``name/``)."""
    path = _npz_path(path)
    names = list(results)
    bad = [n for n in names if not isinstance(n, str) or not n or "/" in n]
    if bad:
        raise ValueError(f"save_results: names must be non-empty strings without '/'; got {bad[0]!r}")
    arrays = {"populations": np.array(json.dumps(names))}
    for name in names:
        arrays.update(result_arrays(results[name], f"{name}/"))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def load_results(path) -> Dict[str, Any]:
    """Read :func:`save_results` output back as ``{name: SimulationResult}`` (in the saved order)."""
    with np.load(_npz_path(path), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    if "populations" not in arrays:
        raise ValueError(f"{os.fspath(path)!r} holds no populations (written by SimulationResult.save? "
                         f"read it with SimulationResult.load)")
    return {name: result_from_arrays(arrays, f"{name}/") for name in json.loads(str(arrays["populations"][()]))}


def results_to_neo(results, name: Optional[str] = None):
    """A ``neo.Block`` of a mapping ``name -> SimulationResult``: one Segment, one ``neo.Group`` per name.

    Every SpikeTrain and AnalogSignal is annotated with ``population=name``;
    the groups collect them per population.
    """
    import neo

    block = neo.Block(name=name or "lapicque network", lapicque_versions=versions())
    seg = neo.Segment(name="run")
    block.segments.append(seg)
    for pop, res in results.items():
        part = to_neo_segment(res, pop)
        group = neo.Group(name=pop)
        for obj in part.spiketrains:
            obj.annotate(population=pop)
            obj.name = f"{pop} {obj.name}"
        for obj in part.analogsignals:
            obj.annotate(population=pop)
            obj.name = f"{pop}.{obj.name}"
        seg.spiketrains.extend(part.spiketrains)
        seg.analogsignals.extend(part.analogsignals)
        group.add(*part.spiketrains, *part.analogsignals)
        block.groups.append(group)
    return block
