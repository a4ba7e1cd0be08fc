r"""Event-driven propagation on CPU: spikes (or event values) times a CSR matrix in one native call.

For presynaptic events :math:`s_i` and a sparse matrix stored row-wise (CSR:
row ``i`` holds the entries ``k = indptr[i] .. indptr[i+1]-1`` with column
``indices[k]`` and weight ``w_k``), :func:`event_csr_matvec` returns

.. math::

    y_j = \sum_{i:\, s_i \neq 0} \; s_i \sum_{k:\, \mathrm{indices}[k] = j} w_k ,

visiting only the rows with a non-zero event (cost ~ number of events x
out-degree, not the number of synapses).  A spike (``True``, or a float equal
to 1) adds the weights themselves (the binary path); any other value ``v``
adds ``v * w`` -- e.g. the fraction of resources released by short-term
plasticity (:class:`lapicque.STP`).  Every event is propagated (there is no
cap) and the sum is taken in a fixed order (rows in increasing ``i``,
entries in CSR order), so the result is deterministic run to run.

Why a kernel of its own
-----------------------
brainevent's CPU kernels are numba functions reached through a ``ctypes``
callback: every call takes the GIL, rebuilds NumPy views of the buffers and
dispatches the numba function from Python, about 30-45 us per call, while the
arithmetic of a 4,000-neuron step costs about 1 us.  Here the XLA FFI handler
*itself* is a numba ``cfunc`` compiled to machine code: it reads the call
frame (``xla/ffi/api/c_api.h``) directly, so a call costs about 1-2 us and
never enters Python.  Several projections can share one call by stacking
their matrices with :func:`stack_csr` (one row per presynaptic neuron of the
concatenated input, one column per target element of the concatenated
output).

When the native kernel is used
------------------------------
Because the handler reads XLA's structs by their layout, it is registered only
for the XLA FFI API versions whose layout it was checked against
(:data:`TESTED_FFI_API`; the version is read from the installed jaxlib's
``xla/ffi/api/c_api.h``).  With any other version a one-time ``UserWarning``
names it and the fallback runs, as it does without numba or on another
platform: this function computes the sum with XLA gather/scatter over all
entries (exact, same sums in the same order, not event-driven), and
lapicque's connectivities use brainevent's kernels.

The environment variable ``LAPICQUE_NATIVE_KERNEL``, read at the first use,
can force the fallback: ``LAPICQUE_NATIVE_KERNEL=0 python run.py`` (also
``false``/``off``/``no``); ``1`` (also ``true``/``on``/``yes``) or unset uses
the native kernel where the version was tested.  No value registers it for an
untested layout.

Gradients with respect to the weights and to float events are defined (see
:func:`event_csr_matvec`).
"""

from __future__ import annotations

import functools
import os
import re
import threading
import warnings
from typing import Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["event_csr_matvec", "stack_csr", "check_csr", "row_pointers", "native_available", "native_decision",
           "ffi_api_version", "TESTED_FFI_API", "NATIVE_ENV"]

_TARGET = "lapicque_event_csr_matvec"
_LOCK = threading.Lock()
_STATE = {"registered": None}  # None: not tried; True: registered; False: unavailable

#: XLA FFI API versions (major, minor) whose struct layouts the native handler reads correctly, with the jaxlib
#: release each was checked against (its ``xla/ffi/api/c_api.h``: CallFrame, Args/Rets, Buffer, Extension,
#: Metadata, Api up to ``XLA_FFI_Error_Create``, Error_Create_Args, DataType codes).
TESTED_FFI_API = {(0, 3): "jaxlib 0.10.2", (0, 5): "jaxlib 0.12.0.1"}

#: The environment variable that can force the XLA fallback (``0``) instead of the native kernel.
NATIVE_ENV = "LAPICQUE_NATIVE_KERNEL"
_ENV_OFF, _ENV_ON = ("0", "false", "off", "no"), ("", "1", "true", "on", "yes")


def ffi_api_version() -> Optional[Tuple[int, int]]:
    """``(major, minor)`` of the XLA FFI API of the installed jaxlib, from its header; None if unreadable."""
    found = {}
    try:
        header = os.path.join(jax.ffi.include_dir(), "xla", "ffi", "api", "c_api.h")
        with open(header) as fh:
            for line in fh:
                m = re.match(r"\s*#\s*define\s+XLA_FFI_API_(MAJOR|MINOR)\s+(\d+)", line)
                if m:
                    found[m.group(1)] = int(m.group(2))
    except (OSError, AttributeError):
        return None
    return (found["MAJOR"], found["MINOR"]) if len(found) == 2 else None


def native_decision(env: Optional[str], version: Optional[Tuple[int, int]]) -> Tuple[bool, str]:
    """Whether the native kernel may be registered, and a note saying why not (empty when it may).

    Parameters
    ----------
    env : str or None
        The value of ``LAPICQUE_NATIVE_KERNEL`` (None: unset).
    version : (int, int) or None
        The FFI API version of the installed jaxlib (:func:`ffi_api_version`).

    Raises
    ------
    ValueError
        If ``env`` is none of the accepted values.

    Examples
    --------
    >>> native_decision(None, (0, 3))
    (True, '')
    >>> native_decision("0", (0, 3))[0]
    False
    >>> print(native_decision(None, (0, 99))[1])  # doctest: +ELLIPSIS
    lapicque: the installed jaxlib implements XLA FFI API 0.99, for which the native event kernel was not tested ...
    """
    value = "" if env is None else str(env).strip().lower()
    if value not in _ENV_OFF + _ENV_ON:
        raise ValueError(f"lapicque: the environment variable {NATIVE_ENV} must be 0 (force the XLA fallback) or 1 "
                         f"(use the native kernel where tested; the default); got {env!r}.")
    if value in _ENV_OFF:
        return False, ""
    if version in TESTED_FFI_API:
        return True, ""
    tested = ", ".join(f"{a}.{b} ({j})" for (a, b), j in sorted(TESTED_FFI_API.items()))
    found = ("an unreadable XLA FFI API version (its xla/ffi/api/c_api.h is missing or changed)" if version is None
             else f"XLA FFI API {version[0]}.{version[1]}")
    return False, (f"lapicque: the installed jaxlib implements {found}, for which the native event kernel was not "
                   f"tested (tested: {tested}); event-driven products use the XLA/brainevent fallback (same results, "
                   f"slower). Set {NATIVE_ENV}=0 to silence this note.")


def native_available() -> bool:
    """Whether the native CPU kernel is used in this process (tested FFI version, numba, not forced off).

    Decided once per process, at the first use; see the module docstring.
    """
    if _STATE["registered"] is None:
        with _LOCK:
            if _STATE["registered"] is None:
                _STATE["registered"] = _register()
    return bool(_STATE["registered"])


def _register() -> bool:
    allowed, note = native_decision(os.environ.get(NATIVE_ENV), ffi_api_version())
    if not allowed:
        if note:
            warnings.warn(note, UserWarning, stacklevel=3)
        return False
    try:
        from .native import handler
    except ImportError:  # numba missing: the XLA formulation is used
        return False
    jax.ffi.register_ffi_target(_TARGET, jax.ffi.pycapsule(handler.address), platform="cpu")
    _STATE["handler"] = handler  # keep the compiled function alive as long as XLA may call it
    return True


def check_csr(indptr, indices, n_out, weights=None, name: str = "event_csr_matvec"):
    """Check a CSR structure and return it as ``(indptr int32, indices int32)`` NumPy arrays.

    Parameters
    ----------
    indptr : array of int, shape (n_pre + 1,)
        Row pointers: non-decreasing, from 0 to ``len(indices)``.
    indices : array of int, shape (nnz,)
        Column (target) of every entry, in ``[0, n_out)``.
    n_out : int
        Number of targets (columns).
    weights : array, optional
        If given: one shared value (size 1) or one value per entry (size nnz).
    name : str
        Name used in error messages.

    Raises
    ------
    ValueError
        Naming the array, what was expected and what was given.

    Examples
    --------
    >>> ip, ix = check_csr([0, 2, 3], [1, 0, 1], n_out=2)
    >>> ip.dtype, ix.tolist()
    (dtype('int32'), [1, 0, 1])
    """
    ip = np.asarray(indptr)
    ix = np.asarray(indices)
    if not isinstance(n_out, (int, np.integer)) or isinstance(n_out, bool) or n_out < 0:
        raise ValueError(f"{name}: n_out must be a non-negative int; got {n_out!r}.")
    if ip.ndim != 1 or ip.size < 1 or not np.issubdtype(ip.dtype, np.integer):
        raise ValueError(f"{name}: indptr must be a 1-D integer array of length n_pre + 1 >= 1; got shape "
                         f"{ip.shape} and dtype {ip.dtype}.")
    if ix.ndim != 1 or not (np.issubdtype(ix.dtype, np.integer) or ix.size == 0):
        raise ValueError(f"{name}: indices must be a 1-D integer array; got shape {ix.shape} and dtype {ix.dtype}.")
    if ip[0] != 0 or ip[-1] != ix.size or np.any(np.diff(ip) < 0):
        raise ValueError(f"{name}: indptr must be non-decreasing from 0 to len(indices) = {ix.size}; got values "
                         f"from {ip[0]} to {ip[-1]}" + (" (decreasing somewhere)." if np.any(np.diff(ip) < 0) else "."))
    if ix.size and (ix.min() < 0 or ix.max() >= n_out):
        raise ValueError(f"{name}: indices must lie in [0, n_out = {n_out}); got values in [{ix.min()}, {ix.max()}].")
    if max(ip.size - 1, ix.size, n_out) >= 2 ** 31:
        raise ValueError(f"{name}: sizes must stay below 2**31 (int32 indices); got n_pre = {ip.size - 1}, "
                         f"nnz = {ix.size}, n_out = {n_out}.")
    if weights is not None:
        size = int(np.size(weights))
        if size not in (1, ix.size):
            raise ValueError(f"{name}: weights must hold one shared value or one value per entry ({ix.size}); "
                             f"got {size} values.")
    return ip.astype(np.int32), ix.astype(np.int32)


def row_pointers(rows, n_rows: int) -> np.ndarray:
    """CSR ``indptr`` (int32, ``n_rows + 1``) of entries whose row indices, in row order, are ``rows``.

    >>> row_pointers([0, 0, 2], 4).tolist()
    [0, 2, 2, 3, 3]
    """
    counts = np.bincount(np.asarray(rows, np.int64), minlength=n_rows)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)


def stack_csr(blocks, n_pre: int, n_out: int):
    """Merge several CSR blocks into one matrix so that one call propagates them all.

    Parameters
    ----------
    blocks : sequence of (row0, col0, indptr, indices, weights)
        Block ``b`` maps input rows ``row0 .. row0 + len(indptr) - 2`` to
        output columns ``col0 + indices``; ``weights`` is one shared value or
        one value per entry.  Blocks may share rows (one presynaptic
        population projecting to several targets) and columns.
    n_pre, n_out : int
        Size of the concatenated input and of the concatenated output.

    Returns
    -------
    indptr, indices, weights : numpy arrays
        The merged CSR (int32, int32 and the weights' common float dtype),
        each row's entries in block order.

    Examples
    --------
    E (rows 0-1) excites both targets, I (row 2) inhibits target 1, written as
    ``y = [g_E (2 values), g_I (2 values)]``:

    >>> ip, ix, w = stack_csr([(0, 0, [0, 1, 2], [0, 1], 6.), (2, 2, [0, 1], [1], 67.)], n_pre=3, n_out=4)
    >>> ip.tolist(), ix.tolist(), w.tolist()
    ([0, 1, 2, 3], [0, 1, 3], [6.0, 6.0, 67.0])
    """
    rows, cols, vals = [], [], []
    for b, (row0, col0, indptr, indices, weights) in enumerate(blocks):
        ip, ix = check_csr(indptr, indices, n_out - int(col0), weights, name=f"stack_csr block {b}")
        if row0 < 0 or row0 + ip.size - 1 > n_pre or col0 < 0:
            raise ValueError(f"stack_csr block {b}: rows [{row0}, {row0 + ip.size - 1}) must lie in [0, n_pre = "
                             f"{n_pre}) and col0 must be >= 0; got col0 = {col0}.")
        rows.append(np.repeat(np.arange(ip.size - 1), np.diff(ip)) + int(row0))
        cols.append(ix.astype(np.int64) + int(col0))
        vals.append(np.broadcast_to(np.asarray(weights).reshape(-1), (ix.size,)))
    if not rows:
        raise ValueError("stack_csr: give at least one block.")
    dtype = np.result_type(*[v.dtype for v in vals], np.float32)
    row = np.concatenate(rows)
    order = np.argsort(row, kind="stable")
    indices, weights = np.concatenate(cols)[order].astype(np.int32), np.concatenate(vals)[order].astype(dtype)
    return row_pointers(row, n_pre), indices, weights


def _rows_of_entries(indptr, nnz):
    """The row index of every CSR entry, as a traced int32 array."""
    counts = jnp.diff(indptr)
    return jnp.repeat(jnp.arange(counts.shape[0], dtype=jnp.int32), counts, total_repeat_length=nnz)


def _xla_matvec(active, indptr, indices, weights, n_out):
    """Reference formulation in XLA ops (all entries, not event-driven); ``active`` is float (..., n_pre)."""
    rows = _rows_of_entries(indptr, indices.shape[0])
    contrib = active[..., rows] * (weights if weights.shape[0] == indices.shape[0] else weights[0])
    out = jnp.zeros(active.shape[:-1] + (n_out,), weights.dtype)
    return out.at[..., indices].add(contrib.astype(weights.dtype))


def _as_values(spikes, dtype):
    """Events as numbers of the weights' dtype (a bool is 0 or 1)."""
    return spikes.astype(dtype)


def _native_matvec(spikes, indptr, indices, weights, n_out):
    lead = spikes.shape[:-1]
    batch = int(np.prod(lead)) if lead else 1
    call = jax.ffi.ffi_call(_TARGET, jax.ShapeDtypeStruct((batch * n_out,), weights.dtype), vmap_method="sequential")
    y = call(spikes.reshape(-1), indptr, indices, weights)
    return y.reshape(lead + (n_out,))


def _forward(spikes, indptr, indices, weights, n_out):
    if indices.shape[0] == 0 or n_out == 0 or spikes.size == 0:
        return jnp.zeros(spikes.shape[:-1] + (n_out,), weights.dtype)

    def portable(s):
        return _xla_matvec(_as_values(s, weights.dtype), indptr, indices, weights, n_out)
    if native_available():
        def native(s):  # bool, float32 and float64 events are read as they are; other numbers become values
            s = s if s.dtype in (jnp.bool_, jnp.float32, jnp.float64) else _as_values(s, weights.dtype)
            return _native_matvec(s, indptr, indices, weights, n_out)

        return jax.lax.platform_dependent(spikes, cpu=native, default=portable)
    return portable(spikes)


def event_csr_matvec(spikes, indptr, indices, weights, n_out: int):
    r"""Sum the weights of the rows with an event into their target columns, each times its value (exact).

    .. math::

        y_{\ldots, j} = \sum_{i:\, s_{\ldots, i} \neq 0}\; s_{\ldots, i}
        \sum_{k = \mathrm{indptr}[i]}^{\mathrm{indptr}[i+1]-1} w_k \,[\mathrm{indices}[k] = j]

    Parameters
    ----------
    spikes : array, shape (..., n_pre)
        Events: bool spikes, or numbers -- 0/1 spikes, or values such as the
        fraction released by short-term plasticity (any value, of either sign;
        rows with 0 are skipped).  Leading axes are a batch.
    indptr : int array, shape (n_pre + 1,)
        CSR row pointers (non-decreasing from 0 to ``len(indices)``).
    indices : int array, shape (nnz,)
        Target column of every entry, in ``[0, n_out)``.
    weights : float array or float
        One shared weight, or one weight per entry (shape ``(nnz,)``); the
        result has its dtype (float32 or float64; a Python float gives the
        default float dtype).
    n_out : int
        Number of targets.

    Returns
    -------
    jax.Array, shape (..., n_out)
        ``spikes @ W``; zeros where no row with an event projects.

    Notes
    -----
    On CPU with the native kernel (see the module docstring) this is one XLA
    call, cost ~ (number of non-zero events x out-degree) plus one pass over
    the events (bool, float32 and float64 are read in place, no conversion; a
    spike adds the weights, any other value ``v`` adds ``v * w`` rounded to the
    weights' dtype); otherwise an XLA gather/scatter over all entries, with the
    same sums in the same order.  Concrete ``indptr``/``indices`` are checked
    here (:func:`check_csr`); traced ones are checked by the kernel for the
    rows it visits, which raises an XLA error rather than write out of bounds.
    Derivatives: linear in ``weights`` (``dy_j = sum s_i dw_k``) and, for
    float events, linear in the events (``dy = W^T ds``, the rule
    surrogate-gradient training needs).  NaN or infinite events propagate
    into the result; nothing is checked inside a compiled program.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> y = event_csr_matvec(jnp.array([True, False, True]), [0, 2, 3, 4], [0, 1, 1, 0], jnp.float32(2.), n_out=2)
    >>> y.tolist()
    [4.0, 2.0]
    >>> event_csr_matvec(jnp.array([0.5, 0., 0.25]), [0, 2, 3, 4], [0, 1, 1, 0], jnp.float32(2.), n_out=2).tolist()
    [1.5, 1.0]
    """
    indptr, indices, weights = _as_arrays(indptr, indices, weights, n_out)
    spikes = jnp.asarray(spikes)
    if spikes.ndim < 1 or spikes.shape[-1] != indptr.shape[0] - 1:
        raise ValueError(f"event_csr_matvec: spikes must have shape (..., n_pre) with n_pre = len(indptr) - 1 = "
                         f"{indptr.shape[0] - 1}; got shape {spikes.shape}.")
    if not (spikes.dtype == jnp.bool_ or jnp.issubdtype(spikes.dtype, jnp.integer)
            or jnp.issubdtype(spikes.dtype, jnp.floating)):
        raise TypeError(f"event_csr_matvec: spikes must be bool, integer or real floating; got dtype {spikes.dtype}.")
    return _matvec(spikes, indptr, indices, weights, int(n_out))


def _as_arrays(indptr, indices, weights, n_out):
    concrete = not any(isinstance(a, jax.core.Tracer) for a in (indptr, indices))
    if concrete:
        indptr, indices = check_csr(indptr, indices, n_out, weights)
    elif not isinstance(n_out, (int, np.integer)) or isinstance(n_out, bool) or n_out < 0:
        raise ValueError(f"event_csr_matvec: n_out must be a non-negative int; got {n_out!r}.")
    w = jnp.asarray(weights)
    if not jnp.issubdtype(w.dtype, jnp.floating):
        w = w.astype(jnp.result_type(float))
    w = w.reshape(-1)
    if w.shape[0] not in (1, jnp.shape(indices)[0]):
        raise ValueError(f"event_csr_matvec: weights must hold one shared value or one value per entry "
                         f"({jnp.shape(indices)[0]}); got {w.shape[0]} values.")
    return jnp.asarray(indptr, jnp.int32), jnp.asarray(indices, jnp.int32), w


@functools.partial(jax.custom_jvp, nondiff_argnums=(4,))
def _matvec(spikes, indptr, indices, weights, n_out):
    return _forward(spikes, indptr, indices, weights, n_out)


@_matvec.defjvp
def _matvec_jvp(n_out, primals, tangents):
    spikes, indptr, indices, weights = primals
    t_spikes, _, _, t_weights = tangents
    y = _matvec(spikes, indptr, indices, weights, n_out)
    dy = _xla_matvec(_as_values(spikes, weights.dtype), indptr, indices, t_weights, n_out)
    if jnp.issubdtype(spikes.dtype, jnp.floating):
        dy = dy + _xla_matvec(t_spikes.astype(weights.dtype), indptr, indices, weights, n_out)
    return y, dy

