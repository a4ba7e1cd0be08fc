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
import zipfile
import zlib
from importlib import metadata as _md
from typing import Any, Dict, Optional

import numpy as np
import saiunit as u

from .._core.atomic import atomic_write

__all__ = ["result_arrays", "result_from_arrays", "save_result", "load_result", "to_neo_segment",
           "to_neo", "model_metadata", "versions", "save_results", "results_to_neo",
           "save_network", "load_network", "read_npz"]

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
                from .. import __version__
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
        out[f"{prefix}first_step"] = np.asarray(result.first_spike_step)
        out[f"{prefix}last_step"] = np.asarray(result.last_spike_step)
    else:
        steps, neurons = result.spike_steps
        out[f"{prefix}spike_steps"] = np.asarray(steps, np.int32)
        out[f"{prefix}spike_neurons"] = np.asarray(neurons, np.int32)
    header = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "model": {k: v for k, v in minfo.items() if k != "params"},
        "param_units": {k: unit_record(unit) for k, (_, unit) in minfo["params"].items()},
        "dt_ms": result.dt_ms, "t0_ms": result.t0_ms, "n_steps": result.n_steps,
        "duration_ms": result.n_steps * result.dt_ms, "shape": list(result.shape),
        "record_every": result.record_every, "spike_mode": result.spike_mode,
        "count_from_step": result.count_from_step, "trace_units": traces,
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


def _reader_error(where: str, what: str) -> ValueError:
    return ValueError(f"{where}: {what}; the file is damaged or was not written by lapicque's save.")


_HEADER_KEYS = ("trace_units", "param_units", "model", "run", "versions", "saved", "dt_ms", "t0_ms", "n_steps",
                "shape", "record_every", "spike_mode", "count_from_step")


def _read_header(arrays, prefix: str, where: str) -> Dict[str, Any]:
    """The JSON header of the result under ``prefix``, its format and fields checked."""
    key = f"{prefix}header"
    if key not in arrays:
        raise ValueError(f"{where}: not a lapicque result: no {key!r} entry (found {sorted(arrays)[:6]})")
    header = _json_header(arrays[key], f"its {key!r} entry", "result", (FORMAT, FORMAT_VERSION), _HEADER_KEYS, where)
    _check_run_fields(header, where)
    return header


def _json_header(raw, entry: str, what: str, fmt_version, required, where: str) -> Dict[str, Any]:
    """A JSON header entry, parsed, of the format ``fmt_version = (name, newest version)``, with ``required`` keys."""
    try:
        header = json.loads(str(np.asarray(raw)[()]))
    except (ValueError, TypeError) as e:
        raise _reader_error(where, f"{entry} is not valid JSON ({e})") from None
    fmt, version = (header.get("format"), header.get("format_version")) if isinstance(header, dict) else (None, None)
    if fmt != fmt_version[0] or not isinstance(version, int) or version > fmt_version[1]:
        raise ValueError(f"{where}: unsupported {what} format {fmt!r} version {version!r} "
                         f"(this lapicque reads {fmt_version[0]} <= {fmt_version[1]})")
    missing = [k for k in required if k not in header]
    if missing:
        raise _reader_error(where, f"{entry} (format version {version}) lacks {missing}")
    return header


def _check_run_fields(header, where: str) -> None:
    """dt > 0, n_steps >= 0, record_every >= 1, a known spike mode, a shape of non-negative sizes."""
    def bad(name, expected):
        return _reader_error(where, f"its {name} is {header.get(name)!r}; expected {expected}")

    def is_int(x, low):
        return isinstance(x, int) and not isinstance(x, bool) and x >= low

    if not isinstance(header["dt_ms"], (int, float)) or not np.isfinite(header["dt_ms"]) or header["dt_ms"] <= 0:
        raise bad("dt_ms", "a positive number of milliseconds")
    for name, low in (("n_steps", 0), ("record_every", 1), ("count_from_step", 0)):
        if not is_int(header[name], low):
            raise bad(name, f"an integer >= {low}")
    if header["spike_mode"] not in ("dense", "count"):
        raise bad("spike_mode", "'dense' or 'count'")
    if not isinstance(header["shape"], list) or not all(is_int(s, 0) for s in header["shape"]):
        raise bad("shape", "a list of non-negative integers")


def _entry(arrays, key: str, where: str) -> np.ndarray:
    if key not in arrays:
        raise _reader_error(where, f"it has no {key!r} entry")
    return np.asarray(arrays[key])


def _read_traces(arrays, prefix: str, header, where: str) -> Dict[str, Any]:
    """Every trace with its unit; each must hold ``n_steps // record_every`` samples of the run's shape."""
    want = (header["n_steps"] // header["record_every"],) + tuple(header["shape"])
    traces = {}
    for name, rec in header["trace_units"].items():
        arr = _entry(arrays, f"{prefix}trace/{name}", where)
        if arr.shape != want:
            raise _reader_error(where, f"trace {name!r} has shape {arr.shape}, but a run of {header['n_steps']} "
                                       f"steps recorded every {header['record_every']} of shape "
                                       f"{tuple(header['shape'])} has {want}")
        unit = unit_from_record(rec)
        traces[name] = arr if unit is None else u.Quantity(arr, unit=unit)
    return traces


def _read_events(arrays, prefix: str, header, where: str):
    """(steps, neurons) of every spike, checked to lie inside the run, sorted by step then neuron."""
    steps = _entry(arrays, f"{prefix}spike_steps", where)
    neurons = _entry(arrays, f"{prefix}spike_neurons", where)
    if steps.ndim != 1 or steps.shape != neurons.shape or not (
            np.issubdtype(steps.dtype, np.integer) and np.issubdtype(neurons.dtype, np.integer)):
        raise _reader_error(where, f"its spikes are not two 1-D integer arrays of one length (steps "
                                   f"{steps.dtype}{steps.shape}, neurons {neurons.dtype}{neurons.shape})")
    n_steps, n_neurons = header["n_steps"], int(np.prod(header["shape"], dtype=np.int64))
    for values, n, what, size in ((steps, n_steps, "step", f"the run has {n_steps} steps"),
                                  (neurons, n_neurons, "neuron", f"the run has {n_neurons} neurons")):
        outside = np.flatnonzero((values < 0) | (values >= n))
        if outside.size:
            k = int(outside[0])
            raise _reader_error(where, f"{outside.size} spike(s) lie outside the run: spike {k} is at step "
                                       f"{int(steps[k])}, neuron {int(neurons[k])}, but {size} (valid {what}s "
                                       f"0..{n - 1})")
    order = np.lexsort((neurons, steps))
    steps, neurons = steps[order].astype(np.int32), neurons[order].astype(np.int32)
    twice = np.flatnonzero((steps[1:] == steps[:-1]) & (neurons[1:] == neurons[:-1]))
    if twice.size:
        k = int(twice[0])
        raise _reader_error(where, f"neuron {int(neurons[k])} spikes twice at step {int(steps[k])} "
                                   f"({twice.size} such duplicate(s))")
    return steps, neurons


def _read_counts(arrays, prefix: str, header, where: str):
    """(counts, first steps, last steps) of a count-mode run, checked against the run's shape and length."""
    shape, n_steps = tuple(header["shape"]), header["n_steps"]
    size = int(np.prod(shape, dtype=np.int64))
    out = []
    for key in ("spike_count", "first_step", "last_step"):
        arr = _entry(arrays, prefix + key, where)
        if arr.size != size or not np.issubdtype(arr.dtype, np.integer):
            raise _reader_error(where, f"its {key!r} is {arr.dtype}{arr.shape}; the run has {size} neurons "
                                       f"(shape {shape})")
        out.append(arr.reshape(shape))
    count, first, last = out
    problems = [(count < 0) | (count > n_steps), (first < -1) | (first >= n_steps), (last < -1) | (last >= n_steps),
                (count > 0) != (first >= 0), (count > 0) != (last >= 0), first > last]
    what = ["a spike count outside [0, n_steps]", "a first spike step outside the run",
            "a last spike step outside the run", "a count that disagrees with its first spike step",
            "a count that disagrees with its last spike step", "a first spike after the last"]
    for bad, text in zip(problems, what):
        if np.any(bad):
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise _reader_error(where, f"neuron {index} has {text} (count {int(count[index])}, first step "
                                       f"{int(first[index])}, last step {int(last[index])}; the run has "
                                       f"{n_steps} steps)")
    return count, first, last


def result_from_arrays(arrays, make, prefix: str = "", where: str = "SimulationResult.load"):
    """Rebuild a result from :func:`result_arrays` output (or an open NPZ): ``make(**fields)``, ``make`` being
    :class:`SimulationResult` (passed in: this module only knows the fields).

    Everything read is checked first: the header's format and fields, each
    trace's shape, and every spike (inside the run: ``0 <= step < n_steps``,
    ``0 <= neuron < n_neurons``, no neuron twice in a step; count-mode
    counts and first/last steps consistent).  ``where`` starts every error
    message (e.g. the function and the file).
    """
    header = _read_header(arrays, prefix, where)
    traces = _read_traces(arrays, prefix, header, where)
    params = {name: (_entry(arrays, f"{prefix}param/{name}", where), unit_from_record(rec))
              for name, rec in header["param_units"].items()}
    model_saved = dict(header["model"], params=params)
    meta = dict(header["run"], versions=header["versions"], saved=header["saved"], model_saved=model_saved)
    kw = dict(model=_rebuild_model(model_saved), dt_ms=header["dt_ms"], t0_ms=header["t0_ms"],
              n_steps=header["n_steps"], shape=tuple(header["shape"]), record_every=header["record_every"],
              traces=traces, spike_mode=header["spike_mode"], count_from_step=header["count_from_step"], meta=meta)
    if header["spike_mode"] == "count":
        count, first, last = _read_counts(arrays, prefix, header, where)
        return make(counts=count, first_step=first, last_step=last, **kw)
    return make(events=_read_events(arrays, prefix, header, where), **kw)


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
    arrays = result_arrays(result)
    with atomic_write(path) as f:  # a failed write leaves the previous file as it was
        np.savez_compressed(f, **arrays)
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
    dec = _decimals(result.dt_ms)
    steps = np.arange(n_samples) * result.record_every + result.record_every - 1
    t = np.round(result.t0_ms + (steps + 1.0) * result.dt_ms, dec)
    head, cols = ["time_ms"], [np.array([f"{x:.{dec}f}" for x in t], dtype=object)]
    for name, q in result.traces.items():
        arr, unit = _plain(q)
        arr = arr.reshape(n_samples, -1)
        tag = name if unit is None else f"{name}_{str(unit).replace(' ', '')}"
        for j in range(arr.shape[1]):
            head.append(f"{tag}[{j}]")
            cols.append(np.array([f"{x:.7g}" if arr.dtype.kind == "f" else str(int(x)) for x in arr[:, j]],
                                 dtype=object))
    # both files are written to temporary files first: a failure replaces neither
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(",".join(head) + "\n")
        for row in zip(*cols):
            f.write(",".join(row) + "\n")
        if result.spike_mode == "dense":
            s_steps, neurons = result.spike_steps
            times = np.round(result.t0_ms + (s_steps + 1.0) * result.dt_ms, dec)
            with atomic_write(path[:-4] + ".spikes.csv", "w", encoding="utf-8") as g:
                g.write("time_ms,neuron\n")
                g.writelines(f"{x:.{dec}f},{int(j)}\n" for x, j in zip(times, neurons))
    return path


def _decimals(dt_ms: float) -> int:
    for d in range(10):
        if abs(round(dt_ms, d) - dt_ms) <= 1e-9 * max(abs(dt_ms), 1e-12):
            return d
    return 9


def read_npz(path, who: str) -> Dict[str, np.ndarray]:
    """Every array of the NPZ file ``path``; a damaged or truncated file is a ValueError naming it.

    ``who`` (e.g. ``'SimulationResult.load'``) starts the messages.
    """
    path = _npz_path(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{who}: no file at {path!r}")
    damage = (zipfile.BadZipFile, zlib.error, EOFError, ValueError)
    try:  # np.load opens the archive; members are read (and their CRC checked) one by one below
        f = np.load(path, allow_pickle=False)
    except damage as e:
        raise _damaged_npz(who, path, e) from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise ValueError(f"{who}: {path!r} holds a single array (an .npy file), not a lapicque result archive")
    try:
        with f:
            return {k: f[k] for k in f.files}
    except damage as e:
        raise _damaged_npz(who, path, e) from None


def _damaged_npz(who: str, path: str, e: Exception) -> ValueError:
    return ValueError(f"{who}: {path!r} is damaged or truncated: it is not a complete NPZ archive "
                      f"({type(e).__name__}: {e}). Save the result again or restore the file from a copy.")


def load_result(path, make):
    """Read a result written by :func:`save_result` (every entry checked, see :func:`result_from_arrays`)."""
    arrays = read_npz(path, "SimulationResult.load")
    where = f"SimulationResult.load: {os.fspath(path)!r}"
    if "header" not in arrays and "populations" in arrays:  # written by NetworkResult.save
        try:
            names = _population_names(arrays, where)
        except ValueError:
            names = []
        first = names[0] if names else "E"
        raise ValueError(f"{where} holds the result of a network (populations: "
                         f"{', '.join(repr(n) for n in names) or 'none'}), written by NetworkResult.save: read it "
                         f"with lapicque.NetworkResult.load(path), and one population with "
                         f"lapicque.NetworkResult.load(path)[{first!r}]")
    return result_from_arrays(arrays, make, where=where)


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


def _grid_decimals(*values_ms: float) -> Optional[int]:
    """Decimals that write ``values_ms`` exactly (0.1 -> 1, 0.025 -> 3); ``None`` if none up to 12 do."""
    for d in range(13):
        if all(abs(round(v, d) - v) <= 1e-9 * max(abs(v), 1e-12) for v in values_ms):
            return d
    return None


def grid_ms(t0_ms: float, dt_ms: float, steps):
    """The end of step ``steps`` on the time grid, in float64 ms: ``t0 + (steps + 1) dt``, free of float noise.

    The times are computed from the step index in float64 (not taken from float32 times) and rounded
    to the decimals of ``dt`` and ``t0``, so that step 33 at dt = 0.1 ms is 3.4 ms, not 3.4000001.

    Examples
    --------
    >>> grid_ms(0.0, 0.1, np.array([33, 69])).tolist(), grid_ms(0.0, 0.025, 138).tolist()
    ([3.4, 7.0], 3.475)
    """
    t = float(t0_ms) + (np.asarray(steps, dtype=np.float64) + 1.0) * float(dt_ms)
    d = _grid_decimals(float(dt_ms), float(t0_ms))
    return t if d is None else np.round(t, d)


def to_neo_segment(result, name: Optional[str] = None):
    """One ``neo.Segment``: a ``SpikeTrain`` per neuron and an ``AnalogSignal`` per trace."""
    import neo
    import quantities as pq

    t0, t_end = grid_ms(result.t0_ms, result.dt_ms, -1), grid_ms(result.t0_ms, result.dt_ms, result.n_steps - 1)
    seg = neo.Segment(name=name or "lapicque run", description=repr(result))
    result.spike_times  # noqa: B018 - the same checks and errors as the result's own spike times
    steps, offsets = result._steps_by_neuron()
    times = np.split(grid_ms(result.t0_ms, result.dt_ms, steps), offsets[1:-1])
    for i, t in enumerate(times):
        seg.spiketrains.append(neo.SpikeTrain(t, units=pq.ms, t_start=t0 * pq.ms, t_stop=t_end * pq.ms,
                                              sampling_period=result.dt_ms * pq.ms, name=f"neuron {i}",
                                              array_annotations=None, neuron=i))
    k = result.record_every
    for tname, q in result.traces.items():
        arr, unit = _plain(q)
        arr = arr.reshape(arr.shape[0], -1).astype(np.float64)
        # sample j is at t0 + (j + 1) k dt
        seg.analogsignals.append(neo.AnalogSignal(arr, units=_pq_unit(unit), name=tname,
                                                  sampling_period=k * result.dt_ms * pq.ms,
                                                  t_start=grid_ms(result.t0_ms, result.dt_ms, k - 1) * pq.ms))
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
#: key prefix of what belongs to a network run as a whole (no population name may start with '~')
_NET = "~network/"
#: format of the network header
NETWORK_FORMAT, NETWORK_FORMAT_VERSION = "lapicque.NetworkResult", 1
RUN_KEYS = ("dt_ms", "t0_ms", "n_steps", "record_every", "spike_mode", "count_from_step")


def save_results(results, path, network: Optional[Dict[str, Any]] = None) -> str:
    """Write a mapping ``name -> SimulationResult`` to one ``.npz`` (each under the prefix ``name/``).

    ``network`` (optional) is ``{'run': {...}, 'traces': {name: Quantity}}``:
    the run of a network as a whole (the keys of :data:`RUN_KEYS` and
    ``trace_order``) and the traces that belong to no population, stored
    under the prefix ``'~network/'``.  The file is written atomically.
    """
    path = _npz_path(path)
    names = list(results)
    bad = [n for n in names if not isinstance(n, str) or not n or "/" in n or n.startswith("~")]
    if bad:
        raise ValueError(f"save_results: names must be non-empty strings without '/' that do not start with '~'; "
                         f"got {bad[0]!r}")
    arrays = {"populations": np.array(json.dumps(names))}
    for name in names:
        arrays.update(result_arrays(results[name], f"{name}/"))
    if network is not None:
        arrays.update(_network_arrays(network["run"], network["traces"]))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path) as f:  # a failed write leaves the previous file as it was
        np.savez_compressed(f, **arrays)
    return path


def _network_arrays(run: Dict[str, Any], traces: Dict[str, Any]) -> Dict[str, np.ndarray]:
    out, units = {}, {}
    for name, q in traces.items():
        out[f"{_NET}trace/{name}"], unit = _plain(q)
        units[name] = unit_record(unit)
    header = {"format": NETWORK_FORMAT, "format_version": NETWORK_FORMAT_VERSION, "trace_units": units,
              **{k: run[k] for k in RUN_KEYS}, "trace_order": list(run["trace_order"])}
    out[f"{_NET}header"] = np.array(json.dumps(header, default=_json_default))
    return out


def save_network(path, populations, traces, run) -> str:
    """Write a network run: every population's result, the traces of no population, the run's time axis."""
    return save_results(populations, path, network={"run": run, "traces": traces})


def _population_names(arrays, where: str):
    if "populations" not in arrays:
        raise ValueError(f"{where} holds no populations (written by SimulationResult.save? read it with "
                         f"SimulationResult.load)")
    try:
        names = json.loads(str(np.asarray(arrays["populations"])[()]))
    except (ValueError, TypeError):
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise _reader_error(where, "its 'populations' entry is not a list of names")
    return names


def load_network(path, make):
    """Read :func:`save_network` output: ``(populations, traces, run)``.

    ``traces`` holds every recorded trace by its dotted name, in the saved
    order; ``run`` the time axis of the run (``None`` for a file written
    before network headers existed: its populations then carry it).
    """
    arrays = read_npz(path, "NetworkResult.load")
    where = f"NetworkResult.load: {os.fspath(path)!r}"
    pops = {name: result_from_arrays(arrays, make, f"{name}/", f"{where} (population {name!r})")
            for name in _population_names(arrays, where)}
    if f"{_NET}header" not in arrays:  # lapicque before network headers: population traces only
        return pops, {f"{name}.{k}": v for name, r in pops.items() for k, v in r.traces.items()}, None
    run = _network_header(arrays, where)
    own = {}
    for name, rec in run["trace_units"].items():
        arr = _entry(arrays, f"{_NET}trace/{name}", where)
        if arr.ndim < 1 or arr.shape[0] != run["n_steps"] // run["record_every"]:
            raise _reader_error(where, f"trace {name!r} has shape {arr.shape}, but a run of {run['n_steps']} steps "
                                       f"recorded every {run['record_every']} has "
                                       f"{run['n_steps'] // run['record_every']} samples")
        unit = unit_from_record(rec)
        own[name] = arr if unit is None else u.Quantity(arr, unit=unit)
    traces = {}
    for name in run["trace_order"]:
        pop, _, key = name.rpartition(".")
        if name in own:
            traces[name] = own[name]
        elif pop in pops and key in pops[pop].traces:
            traces[name] = pops[pop].traces[key]
        else:
            raise _reader_error(where, f"its trace {name!r} is stored neither for the network nor for a population")
    _check_same_run(pops, run, where)
    return pops, traces, run


def _network_header(arrays, where: str) -> Dict[str, Any]:
    run = _json_header(arrays[f"{_NET}header"], "its network header", "network result",
                       (NETWORK_FORMAT, NETWORK_FORMAT_VERSION), RUN_KEYS + ("trace_units", "trace_order"), where)
    _check_run_fields(dict(run, shape=[]), where)
    return run


def _check_same_run(pops, run, where: str) -> None:
    """Every population must share the network's time axis."""
    for name, r in pops.items():
        mine = {"dt_ms": r.dt_ms, "t0_ms": r.t0_ms, "n_steps": r.n_steps, "record_every": r.record_every,
                "spike_mode": r.spike_mode}
        for key, value in mine.items():
            if value != run[key]:
                raise _reader_error(where, f"population {name!r} has {key} = {value!r}, the network "
                                           f"{run[key]!r}")


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
