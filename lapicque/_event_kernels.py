r"""Event-driven spike propagation on CPU: binary spikes times a CSR matrix in one native call.

For presynaptic spikes :math:`s_i \in \{0, 1\}` and a sparse matrix stored
row-wise (CSR: row ``i`` holds the entries ``k = indptr[i] .. indptr[i+1]-1``
with column ``indices[k]`` and weight ``w_k``), :func:`event_csr_matvec`
returns

.. math::

    y_j = \sum_{i:\, s_i = 1} \; \sum_{k:\, \mathrm{indices}[k] = j} w_k ,

visiting only the rows of neurons that spiked (cost ~ number of spikes x
out-degree, not the number of synapses).  Every spike is propagated (there is
no cap) and the sum is taken in a fixed order (rows in increasing ``i``,
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

On other platforms (or without numba) the same function computes the sum with
XLA gather/scatter over all entries (exact, not event-driven).  Gradients with
respect to the weights and to float spikes are defined (see
:func:`event_csr_matvec`).
"""

from __future__ import annotations

import functools
import threading

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["event_csr_matvec", "stack_csr", "check_csr", "row_pointers", "native_available"]

_TARGET = "lapicque_event_csr_matvec"
_LOCK = threading.Lock()
_STATE = {"registered": None}  # None: not tried; True: registered; False: unavailable



def native_available() -> bool:
    """Whether the native CPU kernel is usable in this process (numba importable and the FFI target registered)."""
    if _STATE["registered"] is None:
        with _LOCK:
            if _STATE["registered"] is None:
                _STATE["registered"] = _register()
    return bool(_STATE["registered"])


def _register() -> bool:
    try:
        from ._event_kernels_native import handler
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
        return _xla_matvec((s if s.dtype == jnp.bool_ else s > 0).astype(weights.dtype), indptr, indices, weights,
                           n_out)
    if native_available():
        def native(s):  # bool, float32 and float64 spikes are read as they are (a float spikes when > 0)
            s = s if s.dtype in (jnp.bool_, jnp.float32, jnp.float64) else s > 0
            return _native_matvec(s, indptr, indices, weights, n_out)

        return jax.lax.platform_dependent(spikes, cpu=native, default=portable)
    return portable(spikes)


def event_csr_matvec(spikes, indptr, indices, weights, n_out: int):
    r"""Sum the weights of the rows of spiking neurons into their target columns (event-driven, exact).

    .. math::

        y_{\ldots, j} = \sum_{i:\, s_{\ldots, i} \neq 0}\; \sum_{k = \mathrm{indptr}[i]}^{\mathrm{indptr}[i+1]-1}
        w_k \,[\mathrm{indices}[k] = j]

    Parameters
    ----------
    spikes : array, shape (..., n_pre)
        Binary spikes: bool, or numbers where any value ``> 0`` counts as a
        spike.  Leading axes are a batch.
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
        The summed weights; zeros where no spiking row projects.

    Notes
    -----
    On CPU with numba installed this is one native XLA call (see the module
    docstring), cost ~ (number of spikes x out-degree) plus one pass over the
    spikes (bool, float32 and float64 spikes are read in place, no conversion); otherwise an XLA gather/scatter over all entries.  Concrete
    ``indptr``/``indices`` are checked here (:func:`check_csr`); traced ones
    are checked by the kernel for the rows it visits, which raises an XLA
    error rather than write out of bounds.  Derivatives: linear in ``weights``
    and, for float spikes, linear in the spikes (``dy = W^T ds``, the rule
    surrogate-gradient training needs).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> y = event_csr_matvec(jnp.array([True, False, True]), [0, 2, 3, 4], [0, 1, 1, 0], jnp.float32(2.), n_out=2)
    >>> y.tolist()
    [4.0, 2.0]
    """
    indptr, indices, weights = _as_arrays(indptr, indices, weights, n_out)
    spikes = jnp.asarray(spikes)
    if spikes.ndim < 1 or spikes.shape[-1] != indptr.shape[0] - 1:
        raise ValueError(f"event_csr_matvec: spikes must have shape (..., n_pre) with n_pre = len(indptr) - 1 = "
                         f"{indptr.shape[0] - 1}; got shape {spikes.shape}.")
    if not (spikes.dtype == jnp.bool_ or jnp.issubdtype(spikes.dtype, jnp.number)):
        raise TypeError(f"event_csr_matvec: spikes must be bool or numeric; got dtype {spikes.dtype}.")
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
    active = (spikes if spikes.dtype == jnp.bool_ else spikes > 0).astype(weights.dtype)
    dy = _xla_matvec(active, indptr, indices, t_weights, n_out)
    if jnp.issubdtype(spikes.dtype, jnp.floating):
        dy = dy + _xla_matvec(t_spikes.astype(weights.dtype), indptr, indices, weights, n_out)
    return y, dy

