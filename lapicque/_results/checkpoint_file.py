"""The bytes of a lapicque checkpoint file: encoding, checksum, damage detection.

Layout (format 2)
-----------------
The file is one msgpack map with four entries::

    {"format": "lapicque.checkpoint", "format_version": 2,
     "sha256": "<64 hex digits>", "payload": <bytes>}

``payload`` is the msgpack encoding of the content (nested maps, lists,
strings, numbers) in which every array is an extension object holding its
dtype, shape and raw C-order bytes, and every quantity additionally its unit
(dimension exponents, scale, base, factor).  ``sha256`` is the SHA-256 digest
of ``payload``: :func:`read_file` recomputes it, so a single flipped bit
anywhere in the stored values is detected before anything is decoded.
Nothing is pickled, so reading a file never runs code.

Versions
--------
* 3 (this lapicque writes it): the content also records every array held
  outside the states (``fixed``: connectivity, weights, parameters of the
  modules other than neuron groups) by shape, unit and SHA-256 digest.
* 2: the same layout without ``fixed``; read, and the connectivity is not
  checked (with a warning).
* 1 (lapicque 0.1.0 before checksums): plain braintools msgpack
  checkpoints of one neuron group; still read, with a warning that they
  cannot be verified.

A file that lacks an entry its version must have is refused with a
:class:`CheckpointDamagedError` naming the file, its format version, the
missing entries and the versions this lapicque reads.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from typing import Any, Dict

import jax
import msgpack
import numpy as np
import saiunit as u

from .._core.atomic import atomic_write

__all__ = ["FORMAT", "FORMAT_VERSION", "CheckpointDamagedError", "write_file", "read_file"]

#: value of the ``format`` field of every lapicque checkpoint
FORMAT = "lapicque.checkpoint"
#: version of the file layout; bumped on incompatible changes
FORMAT_VERSION = 3
#: the entries the content of each version must hold (and each neuron group's record)
_REQUIRED = {1: ("model", "in_size", "batch_size", "states"),
             2: ("lapicque_version", "module", "dt_ms", "t_ms", "groups", "states"),
             3: ("lapicque_version", "module", "dt_ms", "t_ms", "groups", "states", "param_states", "fixed")}
_GROUP_KEYS = ("model", "in_size", "batch_size", "spk_reset", "params", "trainable")

_EXT_ARRAY, _EXT_QUANTITY = 1, 2


class CheckpointDamagedError(ValueError):
    """A checkpoint file is damaged (checksum mismatch, truncated or unreadable)."""


# --------------------------------------------------------------------------
# arrays and quantities as msgpack extension objects
# --------------------------------------------------------------------------
def _array_fields(x) -> list:
    arr = np.require(np.asarray(x), requirements="C")  # (np.ascontiguousarray would make a scalar 1-d)
    if arr.dtype.hasobject or arr.dtype.fields is not None:
        raise TypeError(f"lapicque.save: cannot store an array of dtype {arr.dtype} (objects or records).")
    return [arr.dtype.str, list(arr.shape), arr.tobytes()]


def _array_from(fields) -> np.ndarray:
    dtype, shape, data = fields
    return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape).copy()


def _encode(x):
    if isinstance(x, u.Quantity):
        unit = x.unit
        dims = np.asarray(unit.dim._dims).tolist()
        fields = _array_fields(x.mantissa) + [dims, unit.scale, unit.base, unit.factor]
        return msgpack.ExtType(_EXT_QUANTITY, msgpack.packb(fields, use_bin_type=True))
    if isinstance(x, (np.ndarray, np.generic, jax.Array)):
        return msgpack.ExtType(_EXT_ARRAY, msgpack.packb(_array_fields(x), use_bin_type=True))
    raise TypeError(f"lapicque.save: cannot store a value of type {type(x).__name__}.")


def _decode(code, data):
    fields = msgpack.unpackb(data, raw=False)
    if code == _EXT_ARRAY:
        return _array_from(fields)
    if code == _EXT_QUANTITY:
        mantissa = _array_from(fields[:3])
        dims, scale, base, factor = fields[3:]
        unit = u.Unit(dim=u.Dimension(np.asarray(dims)), scale=scale, base=base, factor=factor)
        return mantissa if unit.is_unitless else u.Quantity(mantissa, unit=unit)
    raise ValueError(f"unknown extension type {code}")


# --------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------
def write_file(path: str, content: Dict[str, Any], overwrite: bool) -> str:
    """Encode ``content``, add its checksum and write it atomically to ``path``."""
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"lapicque.save: {path!r} exists; pass overwrite=True to replace it.")
    payload = msgpack.packb(content, default=_encode, use_bin_type=True, strict_types=False)
    outer = msgpack.packb({"format": FORMAT, "format_version": FORMAT_VERSION,
                           "sha256": hashlib.sha256(payload).hexdigest(), "payload": payload},
                          use_bin_type=True)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with atomic_write(path) as f:  # an interrupted save never leaves a truncated file
        f.write(outer)
    return path


def _damaged(path: str, why: str) -> CheckpointDamagedError:
    return CheckpointDamagedError(
        f"lapicque.load: {path!r} is damaged or is not a lapicque checkpoint: {why}. "
        f"Restore it from a copy, or save the state again.")


def _outer(path: str) -> dict:
    with open(path, "rb") as f:
        raw = f.read()
    try:
        outer = msgpack.unpackb(raw, raw=False, strict_map_key=False, ext_hook=lambda code, data: None)
    except Exception as e:  # msgpack raises several unrelated types for broken input
        raise _damaged(path, f"its bytes do not decode ({type(e).__name__}: {e})") from None
    if not isinstance(outer, dict) or outer.get("format") != FORMAT:
        raise _damaged(path, f"it has no '{FORMAT}' header (files are written by lapicque.save)")
    return outer


def read_file(path: str) -> Dict[str, Any]:
    """Read, verify and decode a checkpoint file; returns its content (format 2 layout)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"lapicque.load: no checkpoint file at {path!r}.")
    outer = _outer(path)
    version = outer.get("format_version")
    if version == 1 and "payload" not in outer:
        return _read_format_1(path)
    if not isinstance(version, int) or version < 1:
        raise _damaged(path, f"its format version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        raise CheckpointDamagedError(
            f"lapicque.load: {path!r} uses checkpoint format {version}, newer than this lapicque "
            f"understands ({FORMAT_VERSION}); upgrade lapicque (if this lapicque wrote it, it is damaged).")
    payload, stored = outer.get("payload"), outer.get("sha256")
    if not isinstance(payload, bytes) or not isinstance(stored, str):
        raise _damaged(path, "its payload or checksum field is missing")
    computed = hashlib.sha256(payload).hexdigest()
    if computed != stored:
        raise _damaged(path, f"its SHA-256 checksum does not match its content (stored {stored[:16]}..., "
                             f"computed {computed[:16]}...), so some bytes changed after it was written")
    try:
        content = msgpack.unpackb(payload, raw=False, strict_map_key=False, ext_hook=_decode)
    except Exception as e:  # pragma: no cover - a verified payload always decodes
        raise _damaged(path, f"its payload does not decode ({e})") from None
    _require(path, version, content)
    content["format_version"] = version
    return content


def _require(path: str, version: int, content) -> None:
    """Refuse content that lacks an entry of its format version, naming the version and what is missing."""
    if not isinstance(content, dict):
        raise _damaged(path, f"its content is a {type(content).__name__}, not a map")
    missing = [k for k in _REQUIRED[version] if k not in content]
    groups = content.get("groups")
    if isinstance(groups, dict):
        missing += [f"groups[{g!r}].{k}" for g, meta in groups.items() for k in _GROUP_KEYS
                    if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise CheckpointDamagedError(
            f"lapicque.load: {path!r} is a format-{version} checkpoint (written by lapicque "
            f"{content.get('lapicque_version', 'of unknown version')}) but lacks {missing}, which format {version} "
            f"has; this lapicque reads formats 1 to {FORMAT_VERSION}. The file was written by a development "
            f"version with another layout, or is damaged: save the state again.")


def _read_format_1(path: str) -> Dict[str, Any]:
    """Content of a format-1 file (one neuron group, no checksum) in the format-2 layout."""
    import braintools

    warnings.warn(f"lapicque.load: {path!r} is a format-1 checkpoint without a checksum; damage cannot be "
                  f"detected. Save it again to add one.", UserWarning, stacklevel=4)
    raw = braintools.file.msgpack_load(path)
    _require(path, 1, raw)
    trainable = raw.get("trainable") or []
    trainable = [str(n) for n in (trainable.values() if isinstance(trainable, dict) else trainable)]
    group = {"model": raw["model"], "in_size": np.asarray(raw["in_size"]).reshape(-1).tolist(),
             "batch_size": int(raw["batch_size"]), "spk_reset": None,
             "params": _unpack_v1(raw.get("params", {})), "trainable": trainable}
    return {"lapicque_version": raw.get("lapicque_version"), "module": raw["model"],
            "dt_ms": raw.get("dt_ms"), "t_ms": raw.get("t_ms"), "groups": {"": group},
            "states": {k: {"": v} for k, v in _unpack_v1(raw["states"]).items()}, "param_states": [],
            "format_version": 1}


def _unpack_v1(x):
    """Quantities in braintools' dict form (format 1) back to Quantity objects."""
    if isinstance(x, dict) and {"mantissa", "dim", "scale", "base", "factor"} <= set(x):
        unit = u.Unit(dim=u.Dimension(np.asarray(x["dim"])), scale=x["scale"], base=x["base"],
                      factor=x["factor"])
        mantissa = np.asarray(x["mantissa"])
        return mantissa if unit.is_unitless else u.Quantity(mantissa, unit=unit)
    if isinstance(x, dict):
        return {k: _unpack_v1(v) for k, v in x.items()}
    return x
