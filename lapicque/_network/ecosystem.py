r"""brainstate's sparse comms on lapicque's native event kernel: the same edges, weights and result, faster.

A brainpy.state script ported by changing its import keeps its own comm, e.g.
``brainstate.nn.EventFixedProb``; on CPU each call of that comm goes through
brainevent's numba kernel behind a Python callback (~20-45 us), while
lapicque's native kernel (:func:`lapicque._kernels.event.event_csr_matvec`)
does the same product in ~1-5 us.  lapicque's projections (``AlignPostProj``,
``DeltaProj``, ``CurrentProj``) pass every comm they are given through
:func:`adopt_comm`, so the script needs no change.  :func:`adopt_comm` reads the comm's
sparse structure once, through its public attributes, and returns an
:class:`AdoptedComm` that computes, for the presynaptic input :math:`x`,

.. math::

    y_j = \sum_{i} e(x_i) \sum_{k:\,(i, j) = \mathrm{edge}_k} w_k \;(+\, b_j),

on the native kernel, where :math:`w_k` are the weights the comm holds *now*
(one shared value or one per edge, in its unit, e.g. nS), :math:`b` the bias
of a ``SparseLinear`` (if any), and :math:`e` the comm's own reading of its
input:

* **event comms** (``EventFixedProb`` = ``EventFixedNumConn``,
  ``EventLinear(float_as_event=True)``) count each element as a whole spike
  or nothing: :math:`e(x) = [x > 0]` with brainevent 0.2 (but :math:`[x \neq 0]`
  for integer input to ``EventLinear``), :math:`[x \neq 0]` with brainevent
  >= 0.3 (:func:`event_rule`; the rules agree on bool and 0/1 spikes).
  Graded values such as STP's released fraction do *not* scale the weights,
  exactly as in brainstate (use a lapicque connectivity for that); the
  derivative with respect to :math:`x` is :math:`W^\top`, as brainevent's;
* **value comms** (``FixedNumConn``, ``SparseLinear``,
  ``EventLinear(float_as_event=False)``): :math:`e(x) = x`, any sign (a bool
  is 0 or 1).

The sums are the same up to summation order (rows in increasing :math:`i`,
edges in the comm's order): for the event comms bitwise identical to
brainevent's kernels in every case tested, for value comms within float
rounding.  Where brainevent's batched binary fixed-number product is wrong
(a batch of as many vectors as there are postsynaptic elements: brainevent
0.2.1 and 0.3.0), the adopted comm gives the correct sum.

Accepted comms (brainstate 0.5.4 / 0.6.0 with brainevent 0.2.1 / 0.3.0)
----------------------------------------------------------------------
==================================  ===============================================================
comm                                structure read (public attributes)
==================================  ===============================================================
``FixedNumConn``,                   ``conn`` (``brainevent.FixedNumPerPre``: ``indices`` (n_pre, k);
``EventFixedNumConn``               with ``afferent_ratio < 1`` a ``brainevent.CSR``), ``weight``
(``EventFixedProb``)                (a State: per-edge ``(n_pre, k)`` / ``(nnz,)`` or shared)
``SparseLinear``                    ``spar_mat`` (``saiunit.sparse`` CSR / CSC / COO, brainevent CSR /
                                    CSC / FixedNumPerPre / FixedNumPerPost), ``weight.value['weight']``
                                    and ``['bias']``
``EventLinear``                     ``weight`` (dense ``(n_pre, n_post)``), ``float_as_event``; at most
                                    :data:`DENSE_LIMIT` entries; a scalar weight stays brainstate's
==================================  ===============================================================

Only these classes, and subclasses that override neither ``update`` nor
``__call__``, are adopted; anything else, a comm without connections
(``conn_num < 1``), a comm built inside a trace, or any process where the
native kernel is not used (another platform, ``LAPICQUE_NATIVE_KERNEL=0``,
an untested jaxlib) is returned unchanged.

Weights: the original stays the source of truth
-----------------------------------------------
The :class:`AdoptedComm` holds the original's own ``weight`` State (the same
object, under the same name) and reads it at every call: training it
(brainstate's ``grad``, optimizers) or writing ``proj.comm.weight.value``
acts on the adopted product, gradients with respect to the weights and to
float inputs are those of the original, and the network's state paths and
checkpoints are those of the unadopted network.  Other attributes
(``conn``, ``conn_num``, ...) are the original's.  Only the structure (which
pre-post pairs are connected) is copied, once: replacing ``conn`` after
adoption is not seen.  An input the kernel does not take (a quantity with
units, an event-array wrapper, half-precision weights, a weight whose size
has changed, the wrong last axis) is passed to the original unchanged.
"""

from __future__ import annotations

import re
import warnings
from typing import Optional

import brainevent
import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._kernels.event import event_csr_matvec, native_available, row_pointers

__all__ = ["adopt_comm", "AdoptedComm", "event_rule", "DENSE_LIMIT"]

#: The largest dense ``EventLinear`` (``n_pre * n_post`` entries) adopted: its CSR indices (4 bytes per entry) are
#: embedded in the compiled program, so 2**22 entries cost 16 MB; larger ones stay on brainevent's dense kernel.
DENSE_LIMIT = 2 ** 22
_KERNEL_DTYPES = (jnp.float32, jnp.float64)


def event_rule(version: Optional[str] = None, dense: bool = False, integer: bool = False) -> str:
    """How brainevent counts an input element as a spike: ``"positive"`` (x > 0) or ``"nonzero"`` (x != 0).

    brainevent 0.3 counts every non-zero value; brainevent 0.2 skips zero
    *and negative* values, except for integer input to a dense matrix
    (``EventLinear``), where it counts every non-zero value (each case checked
    against brainevent's kernels by the tests).  Versions after 0.3 are taken
    to keep 0.3's rule, which its docs state.  Bool and 0/1 spikes read the
    same under both rules.

    Parameters
    ----------
    version : str, optional
        brainevent's version (default: the installed one).
    dense, integer : bool
        A dense matrix (``EventLinear``); integer input.

    Examples
    --------
    >>> event_rule("0.2.1"), event_rule("0.3.0"), event_rule("0.2.1", dense=True, integer=True)
    ('positive', 'nonzero', 'nonzero')
    """
    m = re.match(r"\s*(\d+)\.(\d+)", brainevent.__version__ if version is None else version)
    if m is None or (int(m.group(1)), int(m.group(2))) >= (0, 3) or (dense and integer):
        return "nonzero"
    return "positive"


def _brainevent_class(*names):
    """The first of brainevent's public classes ``names`` that exists (deprecated aliases read silently)."""
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            cls = getattr(brainevent, name, None)
        if isinstance(cls, type):
            return cls
    return None


def _concrete(*arrays):
    """The arrays as NumPy, or None when any of them is traced (a comm built inside jit)."""
    if any(isinstance(a, jax.core.Tracer) for a in arrays):
        return None
    return [np.asarray(a) for a in arrays]


def _from_pairs(pre, post, shape):
    """CSR ``(indptr, indices, perm)`` of edges given in the matrix's data order; ``perm`` maps CSR -> data order."""
    pre, post = np.asarray(pre, np.int64).ravel(), np.asarray(post, np.int64).ravel()
    order = np.argsort(pre, kind="stable")
    perm = None if np.all(order == np.arange(order.size)) else order.astype(np.int32)
    return row_pointers(pre[order], int(shape[0])), post[order].astype(np.int32), perm


def _rows(indptr):
    return np.repeat(np.arange(indptr.size - 1), np.diff(indptr))


def _layout(matrix):
    """``(indptr, indices, perm, shape)`` of a sparse matrix from its public attributes, or None if unknown."""
    shape = tuple(int(n) for n in getattr(matrix, "shape", ()))
    if len(shape) != 2:
        return None
    per_pre = _brainevent_class("FixedNumPerPre", "FixedPostNumConn")
    per_post = _brainevent_class("FixedNumPerPost", "FixedPreNumConn")
    csr = tuple(c for c in (u.sparse.CSR, _brainevent_class("CSR")) if c is not None)
    csc = tuple(c for c in (u.sparse.CSC, _brainevent_class("CSC")) if c is not None)
    if per_pre is not None and isinstance(matrix, per_pre):  # indices (n_pre, k): row i -> indices[i]
        got = _concrete(matrix.indices)
        if got is None or got[0].ndim != 2 or got[0].shape[0] != shape[0]:
            return None
        return (*_from_pairs(np.repeat(np.arange(shape[0]), got[0].shape[1]), got[0], shape), shape)
    if per_post is not None and isinstance(matrix, per_post):  # indices (n_post, k): column j <- indices[j]
        got = _concrete(matrix.indices)
        if got is None or got[0].ndim != 2 or got[0].shape[0] != shape[1]:
            return None
        return (*_from_pairs(got[0], np.repeat(np.arange(shape[1]), got[0].shape[1]), shape), shape)
    if isinstance(matrix, csr):
        got = _concrete(matrix.indptr, matrix.indices)
        return None if got is None else (*_from_pairs(_rows(got[0]), got[1], shape), shape)
    if isinstance(matrix, csc):
        got = _concrete(matrix.indptr, matrix.indices)
        return None if got is None else (*_from_pairs(got[1], _rows(got[0]), shape), shape)
    if isinstance(matrix, u.sparse.COO):
        got = _concrete(matrix.row, matrix.col)
        return None if got is None else (*_from_pairs(got[0], got[1], shape), shape)
    return None


def _unchanged(comm, base) -> bool:
    """Whether ``comm`` computes what ``base`` does: neither ``update`` nor ``__call__`` is overridden."""
    cls = type(comm)
    return cls.update is base.update and cls.__call__ is brainstate.nn.Module.__call__


def _recognize(comm):
    """``(layout, mode, weight_key, dense)`` for a comm that can be adopted, else None."""
    nn = brainstate.nn
    if isinstance(comm, nn.FixedNumConn):
        event = isinstance(comm, nn.EventFixedNumConn)
        if not _unchanged(comm, nn.EventFixedNumConn if event else nn.FixedNumConn):
            return None
        conn = getattr(comm, "conn", None)  # absent when conn_num < 1 (the comm returns zeros)
        lay = None if conn is None else _layout(conn)
        return None if lay is None else (lay, "event" if event else "value", None, False)
    if isinstance(comm, nn.SparseLinear) and _unchanged(comm, nn.SparseLinear):
        lay = _layout(getattr(comm, "spar_mat", None))
        return None if lay is None else (lay, "value", "weight", False)
    if isinstance(comm, nn.EventLinear) and _unchanged(comm, nn.EventLinear):
        w = getattr(getattr(comm, "weight", None), "value", None)
        shape = tuple(u.math.shape(w)) if w is not None else ()
        if len(shape) != 2 or shape[0] * shape[1] > DENSE_LIMIT or shape[0] * shape[1] <= 1:
            return None
        indptr = (np.arange(shape[0] + 1) * shape[1]).astype(np.int32)
        indices = np.tile(np.arange(shape[1], dtype=np.int32), shape[0])
        mode = "event" if getattr(comm, "float_as_event", True) else "value"
        return (indptr, indices, None, shape), mode, None, True
    return None


def adopt_comm(comm, native_only: bool = True):
    """Run a brainstate sparse comm on lapicque's native event kernel: an :class:`AdoptedComm`, or ``comm`` unchanged.

    Parameters
    ----------
    comm : object
        A projection's comm.  ``brainstate.nn.EventFixedProb`` /
        ``EventFixedNumConn``, ``FixedNumConn``, ``SparseLinear`` and
        ``EventLinear`` (dense, at most :data:`DENSE_LIMIT` entries) are
        adopted (see the module docstring for what is read and the result);
        anything else -- lapicque's own connectivities, ``Linear``, callables,
        an :class:`AdoptedComm` -- is returned as it is.
    native_only : bool
        If True (default), adopt only where the native kernel runs (CPU,
        tested jaxlib, not ``LAPICQUE_NATIVE_KERNEL=0``); elsewhere the
        kernel's XLA fallback touches every edge, which is slower than
        brainevent's event-driven kernels.  False adopts anyway (for tests).

    Returns
    -------
    AdoptedComm or the given comm

    Examples
    --------
    >>> import brainstate, jax.numpy as jnp, saiunit as u
    >>> efp = brainstate.nn.EventFixedProb(100, 50, conn_num=0.1, conn_weight=2. * u.nS, seed=3)
    >>> comm = adopt_comm(efp)
    >>> spikes = jnp.arange(100) % 7 == 0
    >>> bool(u.math.allclose(comm(spikes), efp(spikes)))
    True
    >>> comm.weight is efp.weight   # the original's state, read at every call
    True
    >>> adopt_comm(comm) is comm, adopt_comm(brainstate.nn.Linear(3, 4)).__class__.__name__
    (True, 'Linear')
    """
    if isinstance(comm, AdoptedComm):
        return comm
    if native_only and not (jax.default_backend() == "cpu" and native_available()):
        return comm
    found = _recognize(comm)
    if found is None:
        return comm
    (indptr, indices, perm, shape), mode, key, dense = found
    return AdoptedComm(comm, indptr, indices, perm, shape, mode, key, dense)


class AdoptedComm(brainstate.nn.Module):
    r"""A brainstate sparse comm computed by lapicque's native event kernel (built by :func:`adopt_comm`).

    .. math::

        y_j = \sum_i e(x_i) \sum_{k:\,(i, j) = \mathrm{edge}_k} w_k \;(+\, b_j)

    with :math:`w` read from the original's ``weight`` state at every call (in
    its unit) and :math:`e` the original's reading of its input (see
    :mod:`lapicque._network.ecosystem`).

    The module mirrors the original's public attributes -- the *same*
    ``weight`` State object, ``conn`` / ``spar_mat``, ``conn_num``, ... -- so
    the network's state tree and the arrays a checkpoint compares have the
    same paths as with the original comm (``proj.comm.weight``), and reads any
    other attribute from the original.  The original itself is held outside
    the module graph (``graph_invisible_attrs``); it computes the inputs the
    kernel does not take.

    Parameters
    ----------
    original : brainstate.nn.Module
        The comm whose edges and weights are used.
    indptr, indices : numpy int32 arrays
        The CSR structure (rows = presynaptic elements) of ``original``.
    perm : numpy int32 array or None
        Entry ``k`` of the CSR takes the original's data entry ``perm[k]``
        (None: the same order).
    shape : (int, int)
        ``(n_pre, n_post)``.
    mode : {"event", "value"}
        Whether an input element is a whole spike (:func:`event_rule`) or a
        value that scales the weights.
    weight_key : str or None
        ``"weight"`` when ``original.weight.value`` is a dict (``SparseLinear``,
        whose ``"bias"`` entry, if any, is added).
    dense : bool
        The original is a dense ``EventLinear`` (a scalar weight is its own case).

    Examples
    --------
    >>> import brainstate, jax.numpy as jnp, saiunit as u
    >>> conn = brainstate.nn.FixedNumConn(4, 3, conn_num=2, conn_weight=1.5 * u.mV, seed=0)
    >>> comm = adopt_comm(conn)
    >>> type(comm).__name__, comm.n_edges, comm.in_size, comm.out_size, comm.conn_num
    ('AdoptedComm', 8, (4,), (3,), 2)
    >>> x = jnp.array([0.5, 0., -1., 2.])
    >>> print(comm(x).to_decimal(u.mV).round(5) == conn(x).to_decimal(u.mV).round(5))
    [ True  True  True]
    """

    graph_invisible_attrs = ("original",)

    def __init__(self, original, indptr, indices, perm, shape, mode: str, weight_key: Optional[str] = None,
                 dense: bool = False):
        super().__init__(name=getattr(original, "name", None))
        if mode not in ("event", "value"):
            raise ValueError(f"AdoptedComm: mode must be 'event' or 'value'; got {mode!r}.")
        for name, value in vars(original).items():  # the same states and arrays under the same names
            if not name.startswith("_") and not hasattr(type(self), name):
                setattr(self, name, value)
        self.original = original
        self._indptr = np.asarray(indptr, np.int32)
        self._indices = np.asarray(indices, np.int32)
        self._perm = None if perm is None else np.asarray(perm, np.int32)
        self._shape = (int(shape[0]), int(shape[1]))
        self._mode, self._weight_key, self._dense = mode, weight_key, bool(dense)
        for what, n in (("in_size", self._shape[0]), ("out_size", self._shape[1])):
            size = getattr(original, what, None)
            setattr(self, what, size if size is not None and tuple(size)[-1:] == (n,) else n)

    def __getattr__(self, name):
        original = self.__dict__.get("original")
        if original is None or name.startswith("_"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(original, name)

    def init_state(self, *args, **kwargs):
        """The original's ``init_state`` (it is outside the module graph)."""
        self.original.init_state(*args, **kwargs)

    def reset_state(self, *args, **kwargs):
        """The original's ``reset_state``."""
        self.original.reset_state(*args, **kwargs)

    @property
    def n_edges(self) -> int:
        """Number of connections (multapses counted)."""
        return int(self._indices.size)

    def _weights(self):
        """The current weights (and bias) as ``(mantissa 1-D, unit, bias)``."""
        value = self.weight.value
        bias = None
        if self._weight_key is not None:
            bias = value.get("bias") if isinstance(value, dict) else None
            value = value[self._weight_key]
        unit = u.get_unit(value)
        return jnp.reshape(jnp.asarray(u.get_mantissa(value)), (-1,)), unit, bias

    def edges(self):
        """``(pre_ids, post_ids, weights)`` of every connection in CSR order, with the current weights."""
        w, unit, _ = self._weights()
        if w.shape[0] == self.n_edges and self._perm is not None:
            w = w[self._perm]
        w = jnp.broadcast_to(w, (self.n_edges,)) if w.shape[0] == 1 else w
        pre = np.repeat(np.arange(self._shape[0], dtype=np.int32), np.diff(self._indptr))
        return pre, self._indices, u.maybe_decimal(u.Quantity(w, unit=unit))

    def _kernel_input(self, x):
        """The input as the kernel reads it, or None when the original must take it."""
        if isinstance(x, u.Quantity):
            if not u.get_unit(x).is_unitless:
                return None
            x = u.get_mantissa(x)
        if not isinstance(x, (jax.Array, np.ndarray, np.bool_, np.number)):
            return None  # e.g. a brainevent event array: the original knows it
        x = jnp.asarray(x)
        if x.ndim < 1 or x.shape[-1] != self._shape[0]:
            return None
        if x.dtype == jnp.bool_:
            return x
        if not (jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.integer)):
            return None
        if self._mode == "value":
            return x
        integer = bool(jnp.issubdtype(x.dtype, jnp.integer))
        nonzero = event_rule(dense=self._dense, integer=integer) == "nonzero"
        if integer:  # not differentiable: the spikes as bool
            return (x != 0) if nonzero else (x > 0)
        return _as_spikes(x, nonzero)

    def update(self, x):
        w, unit, bias = self._weights()
        s = self._kernel_input(x)
        n = w.shape[0]
        if (s is None or w.dtype not in _KERNEL_DTYPES or n not in (1, self.n_edges)
                or (self._dense and n == 1)):
            return self.original(x)
        if s.dtype != jnp.bool_ and s.dtype not in _KERNEL_DTYPES:
            s = s.astype(w.dtype)
        if n == self.n_edges and self._perm is not None:  # the original's data order -> CSR (row) order
            w = w[self._perm]
        y = event_csr_matvec(s, self._indptr, self._indices, w, self._shape[1])
        y = u.maybe_decimal(u.Quantity(y, unit=unit))
        return y if bias is None else y + bias


def _spike_values(x, nonzero):
    return ((x != 0) if nonzero else (x > 0)).astype(x.dtype)


def _spikes_jvp(nonzero, primals, tangents):
    (x,), (dx,) = primals, tangents
    return _as_spikes(x, nonzero), dx


#: Float input as whole spikes (1) or none (0) by brainevent's rule; the derivative passes through unchanged
#: (d e(x) / dx = 1), as brainevent's event products define it.
_as_spikes = jax.custom_jvp(_spike_values, nondiff_argnums=(1,))
_as_spikes.defjvp(_spikes_jvp)
