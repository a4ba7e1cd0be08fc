"""Seeded connectivity: pairwise Bernoulli, fixed in/out-degree and edge lists, event-driven on brainevent.

Each builder draws (or takes) a list of edges ``(pre_i, post_i, weight_i)``
once, at construction, from a :func:`numpy.random.default_rng` seeded with
``seed``; the edges are stored as a CSR matrix of shape ``(n_pre, n_post)``
(rows = presynaptic elements) and every edge is kept, multapses included, so
the number of connections is exactly what was drawn.  Calling the module with
an event vector ``s`` (spikes, or values such as the fraction of resources
released by :class:`lapicque.STP`) returns

.. math::

    y_j = \\sum_{i:\\,(i, j) \\in E} w_{ij}\\, s_i ,

in the unit of the weights, computed event-driven (only the rows with a
non-zero event are touched, every event is propagated; a spike adds the
weight, a value ``v`` adds ``v`` times it): on CPU by lapicque's native kernel
(:mod:`lapicque._kernels.event`, one XLA call of ~1-2 us), elsewhere by
brainevent's kernels (with its numba backend selected explicitly on CPU when
the native kernel is unavailable, so no kernel-compilation error reaches
users; there, bool spikes and 0/1 floats take brainevent's binary kernel and
other values its float kernel).

Indices are stored as int32: sizes and the number of connections must stay
below 2**31, and a builder estimates the memory its draw needs (about
:data:`BYTES_PER_EDGE` bytes per connection) and refuses, with the figure, a
draw that the machine's available memory cannot hold.

Distributions (tested against them):

* :class:`PairwiseBernoulli` -- every ordered pair is connected independently
  with probability ``p`` (count ~ Binomial(n_pre n_post, p)), drawn exactly by
  geometric gaps between successes.
* :class:`FixedInDegree` -- every postsynaptic element gets exactly ``indegree``
  sources, uniform over the allowed sources (distinct unless ``allow_multapses``).
* :class:`FixedOutDegree` -- every presynaptic element has exactly ``outdegree``
  targets, likewise.
* :class:`EdgeList` -- explicit arrays of pre and post indices (and weights).
"""

from __future__ import annotations

import numbers
import os
from typing import Optional

import brainevent
import brainstate
import braintools
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._core.delay_rule import check_delay
from .delays import EdgeDelays
from .._kernels.sharded import DeviceBlocks, active_mesh, partition_csr, sharded_event_matvec
from .._kernels.event import event_csr_matvec, native_available, row_pointers, stack_csr

__all__ = ["Connectivity", "PairwiseBernoulli", "FixedInDegree", "FixedOutDegree", "EdgeList"]

#: The largest size and number of connections that int32 indices hold.
_INDEX_LIMIT = 2 ** 31 - 1
#: Peak memory of a builder per connection, in bytes: the draw (int64), its sorting, the int32 CSR and the weights
#: (measured: 40-54 bytes for 2e7 connections of FixedOutDegree, FixedInDegree with an initializer and
#: PairwiseBernoulli).
BYTES_PER_EDGE = 48


def _size(value, owner, what):
    sizes = value if isinstance(value, (tuple, list)) else (value,)
    if not sizes or not all(isinstance(s, (numbers.Integral, np.integer)) and not isinstance(s, bool) and s > 0
                            for s in sizes):
        raise ValueError(f"{owner}: {what} must be a positive int; got {value!r}.")
    if sizes[-1] > _INDEX_LIMIT:
        raise ValueError(f"{owner}: {what} must be at most 2**31 - 1 = {_INDEX_LIMIT:,} (indices are stored as "
                         f"int32); got {sizes[-1]:,}.")
    return tuple(int(s) for s in sizes)


def available_memory() -> Optional[int]:
    """Bytes of memory available to a new allocation (``MemAvailable``), or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _check_edge_budget(n_edges, owner, what):
    """Refuse, before drawing, a number of connections that int32 indices or the available memory cannot hold."""
    need = float(n_edges) * BYTES_PER_EDGE
    if n_edges > _INDEX_LIMIT:
        raise ValueError(f"{owner}: {what} gives {n_edges:,.0f} connections (they would need about "
                         f"{need / 1e9:,.1f} GB); at most 2**31 - 1 = {_INDEX_LIMIT:,} fit int32 indices. Lower "
                         f"{what} or the sizes.")
    free = available_memory()
    if free is not None and need > free:
        raise ValueError(f"{owner}: {what} gives {n_edges:,.0f} connections, which need about {need / 1e9:,.1f} GB "
                         f"to build (~{BYTES_PER_EDGE} bytes each) but {free / 1e9:,.1f} GB of memory is available. "
                         f"Lower {what} or the sizes.")


def _backend():
    """brainevent's kernel backend for the default JAX platform (numba on CPU)."""
    return "numba" if jax.default_backend() == "cpu" else None


class EventMatrix:
    """A CSR matrix ``(n_pre, n_post)`` for event-driven products: the one place that calls a kernel.

    On CPU with numba, :func:`lapicque._kernels.event.event_csr_matvec` (one native XLA call, ~1-2 us);
    elsewhere brainevent's kernels (its CSR, with the event workspace prepared here, outside any trace).
    """

    def __init__(self, data, indices, indptr, shape):
        self.shape = tuple(int(n) for n in shape)
        self.data = jnp.asarray(data)
        self.indices = np.asarray(indices, np.int32)  # numpy: checked and embedded once per trace
        self.indptr = np.asarray(indptr, np.int32)
        self.native = jax.default_backend() == "cpu" and native_available()
        self.csr = None if self.native else self._brainevent_csr()

    def _brainevent_csr(self):
        csr = brainevent.CSR((self.data, jnp.asarray(self.indices), jnp.asarray(self.indptr)), shape=self.shape,
                             backend=_backend())
        try:  # brainevent 0.2: prepare the workspace without a kernel call
            from brainevent._csr.main import _ensure_binary_workspace
            _ensure_binary_workspace(csr, "csr", csr.indptr)
        except ImportError:  # pragma: no cover - other brainevent versions: one eager call prepares it
            brainevent.BinaryArray(jnp.zeros(self.shape[0], bool)) @ csr
        return csr

    def __call__(self, spikes, data=None):
        """``spikes @ M`` for events of shape ``(..., n_pre)`` (bool, 0/1 or values); ``data`` replaces the weights.

        brainevent's path: bool spikes take its binary kernel; numbers take it too when they are all 0 or 1,
        its float kernel (value x weight) otherwise (a ``lax.cond`` on the step's values).
        """
        data = self.data if data is None else data
        if self.native:
            return event_csr_matvec(spikes, self.indptr, self.indices, data, self.shape[1])
        csr = self.csr.with_data(data)
        if spikes.dtype == jnp.bool_:
            return brainevent.BinaryArray(spikes) @ csr
        values = spikes.astype(data.dtype)
        return jax.lax.cond(jnp.all((values == 0) | (values == 1)), lambda v: brainevent.BinaryArray(v) @ csr,
                            lambda v: v @ csr, values)


def check_event_input(x, owner):
    """The input of an event-driven product as an array; concrete values must be spikes or non-negative amounts.

    Accepted: bool spikes, or unitless numbers -- 0/1 spikes, spike counts, or values that scale the weights
    (e.g. the fraction released by :class:`lapicque.STP`).  A concrete input holding a negative or non-finite
    value is refused (the sign of an effect belongs to the weights; signed graded input belongs in a dense comm);
    inside a compiled program values cannot be checked and the product is linear in them.
    """
    if isinstance(x, u.Quantity) and not u.get_unit(x).is_unitless:
        raise TypeError(f"{owner}: the input must be spikes or event values without units (bool, 0/1 floats, or "
                        f"amounts such as STP's released fraction); got a quantity in {u.get_unit(x)}.")
    x = x.value if isinstance(x, brainevent.BinaryArray) else u.get_mantissa(x)
    x = jnp.asarray(x) if not isinstance(x, jax.core.Tracer) else x
    if not (x.dtype == jnp.bool_ or jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.integer)):
        raise TypeError(f"{owner}: the input must be spikes (bool or 0/1) or real event values; got dtype {x.dtype}.")
    if x.dtype != jnp.bool_ and not isinstance(x, jax.core.Tracer):
        v = np.asarray(x)
        bad = ~np.isfinite(v) | (v < 0)
        if bad.any():
            raise ValueError(
                f"{owner}: event-driven propagation takes spikes (bool or 0/1) or non-negative finite event values "
                f"(spike counts, STP's released fraction), but the input holds {float(v[bad].ravel()[0])!r} (at "
                f"{int(bad.sum())} places). Give inhibition a negative weight or reversal potential instead, or use "
                f"a dense comm such as brainstate.nn.Linear for signed graded input.")
    return x


class Connectivity(brainstate.nn.Module):
    """Event-driven sparse connectivity built from an edge list (the base of every builder).

    Parameters
    ----------
    in_size, out_size : int
        Number of presynaptic (rows) and postsynaptic (columns) elements.
    pre_ids, post_ids : array of int
        One entry per edge; duplicates are kept (multapses).
    weight : Quantity, float, array or callable
        Shared weight (a scalar, e.g. ``6 * u.nS``), one weight per edge (an
        array of length ``n_edges``, in edge order), or an initializer called as
        ``braintools.init.param(weight, (n_edges,))``.
    delay : Quantity or callable, optional
        Per-connection delays: one time for all, one per edge (edge order as
        given), or an initializer such as ``braintools.init.Uniform(0.5, 2., unit=u.ms)``.
        Connection ``k`` delivers its input after exactly ``floor(d_k / dt + 1/2)``
        steps (the rule of :mod:`lapicque._network.delays`), in one event-driven call per
        step over a matrix with one row block per distinct delay; built at
        ``init_state`` (which then fixes the weights).  A projection's own
        ``delay`` adds to it.
    name : str, optional
        Module name.

    Notes
    -----
    ``update(x)`` takes events of shape ``(..., n_pre)`` and returns
    ``x @ W``, shape ``(..., n_post)``, in the weights' unit: bool or 0/1
    spikes (the binary path), or non-negative values that scale the weights --
    spike counts, or the fraction of resources released by
    :class:`lapicque.STP` / :class:`lapicque.STD` placed before the comm in a
    projection (each row with a non-zero value contributes value x weight).
    A concrete input holding a negative, NaN or infinite value is refused
    (:func:`check_event_input`); inside a compiled loop values cannot be
    checked and the product is linear in them.
    """

    __module__ = "lapicque"

    def __init__(self, in_size, out_size, pre_ids, post_ids, weight, delay=None, name: Optional[str] = None):
        super().__init__(name=name)
        owner = type(self).__name__
        self.in_size = _size(in_size, owner, "in_size")
        self.out_size = _size(out_size, owner, "out_size")
        n_pre, n_post = self.in_size[-1], self.out_size[-1]
        pre = np.asarray(pre_ids)
        post = np.asarray(post_ids)
        if pre.ndim != 1 or post.shape != pre.shape or not (
                np.issubdtype(pre.dtype, np.integer) or pre.size == 0) or not (
                np.issubdtype(post.dtype, np.integer) or post.size == 0):
            raise ValueError(f"{owner}: pre_ids and post_ids must be 1-D integer arrays of equal length; got shapes "
                             f"{pre.shape} and {post.shape}.")
        for ids, n, what in ((pre, n_pre, "pre_ids"), (post, n_post, "post_ids")):
            if ids.size and (ids.min() < 0 or ids.max() >= n):
                raise ValueError(f"{owner}: {what} must lie in [0, {n}); got values in [{ids.min()}, {ids.max()}].")
        if pre.size > _INDEX_LIMIT:
            raise ValueError(f"{owner}: pre_ids and post_ids hold {pre.size:,} connections; at most 2**31 - 1 = "
                             f"{_INDEX_LIMIT:,} fit int32 indices.")
        order = np.argsort(pre, kind="stable")
        self.pre_ids = pre[order].astype(np.int32)
        self.post_ids = post[order].astype(np.int32)
        self.indptr = row_pointers(self.pre_ids, n_pre)
        self.weight = self._edge_weights(weight, order, owner)
        w = jnp.reshape(jnp.asarray(u.get_mantissa(self.weight)), (-1,))
        self.matrix = EventMatrix(w, self.post_ids, self.indptr, (n_pre, n_post)) if self.n_edges else None
        self.delay_ms = self._edge_delays(delay, order, owner)
        self.edge_delays = None if self.delay_ms is None else EdgeDelays(n_pre, self.delay_ms, owner)
        self._delayed = None
        self._shards = None  # the synapses cut by postsynaptic block, for a sharded run (see partition)

    def partition(self, k: int):
        """Cut the synapses by postsynaptic index into ``k`` blocks (one per device) for a sharded run.

        Called by :func:`lapicque.simulate` with ``devices=k``; device ``d``
        then holds only the synapses onto its own neurons (see
        :mod:`lapicque._kernels.sharded`).  ``partition(None)`` drops the blocks.
        """
        owner = type(self).__name__ + (f" {self.name!r}" if self.name else "")
        if k is None:
            self._shards = None
            return
        if self.edge_delays is not None:
            raise ValueError(f"{owner}: per-connection delays are not supported across devices yet; use the "
                             f"projection's delay= (one delay per projection) for a sharded network.")
        if self.out_size[-1] % k or self.in_size[-1] % k:
            raise ValueError(f"{owner}: {self.in_size[-1]} -> {self.out_size[-1]} neurons do not divide into {k} "
                             f"equal blocks (one per device).")
        parts = partition_csr(self.indptr, self.post_ids, self.out_size[-1], k)
        self._shards = DeviceBlocks((name, jnp.asarray(a)) for name, a in parts.items())

    def _edge_delays(self, delay, order, owner):
        """Per-connection delays in ms (CSR order), or None."""
        if delay is None or self.n_edges == 0:
            return None
        if callable(delay) and not isinstance(delay, (u.Quantity, jax.Array, np.ndarray)):
            delay = braintools.init.param(delay, (self.n_edges,))
            order = np.arange(self.n_edges)
        d = check_delay(delay, owner)
        if d.ndim == 0:
            return np.full(self.n_edges, float(d))
        if d.shape != (self.n_edges,):
            raise ValueError(f"{owner}: delay must be a time scalar or have one value per edge ({self.n_edges}); got "
                             f"shape {d.shape}.")
        return d[order]

    def init_state(self, batch_size=None, **kwargs):
        """With per-connection delays: the stacked matrix, one row block per distinct delay (needs dt)."""
        if self.edge_delays is None:
            return
        self.edge_delays.init_state(batch_size)
        steps, groups, n_pre = self.edge_delays.steps, self.edge_delays.groups, self.in_size[-1]
        w = np.asarray(u.get_mantissa(self.weights), dtype=brainstate.environ.dftype())
        blocks = []
        for g, d in enumerate(groups):
            sel = steps == d
            blocks.append((g * n_pre, 0, row_pointers(self.pre_ids[sel], n_pre), self.post_ids[sel], w[sel]))
        shape = (len(groups) * n_pre, self.out_size[-1])
        indptr, indices, data = stack_csr(blocks, *shape)
        self._delayed = EventMatrix(data, indices, indptr, shape)

    def _edge_weights(self, weight, order, owner):
        """Weights as a quantity or array: shape () (shared) or (n_edges,) in CSR order, finite."""
        n = self.n_edges
        if isinstance(weight, (str, bytes)):
            raise TypeError(f"{owner}: weight must be a quantity such as 6 * u.nS (or a number, one value per edge, "
                            f"or an initializer such as braintools.init.Normal(6. * u.nS, 1. * u.nS)); got the string "
                            f"{weight!r}.")
        if callable(weight) and not isinstance(weight, (u.Quantity, jax.Array, np.ndarray)):
            weight, order = braintools.init.param(weight, (n,)), np.arange(n)  # drawn per edge: no reordering
        unit = u.get_unit(weight)
        w = np.asarray(u.get_mantissa(weight))
        if w.dtype.kind not in "iuf":
            raise TypeError(f"{owner}: weight must be a quantity such as 6 * u.nS (or real numbers, or an "
                            f"initializer); got {weight!r} of dtype {w.dtype}.")
        w = w.astype(brainstate.environ.dftype())
        if not np.all(np.isfinite(w)):
            bad = w[~np.isfinite(w)].ravel()
            raise ValueError(f"{owner}: weight must be finite; got {bad[0]} at {bad.size} of {w.size} places.")
        if w.ndim == 0:
            return u.maybe_decimal(u.Quantity(jnp.asarray(w), unit=unit))
        if w.shape != (n,):
            raise ValueError(f"{owner}: weight must be a scalar (shared) or have one value per edge ({n}); got shape "
                             f"{w.shape}.")
        return u.maybe_decimal(u.Quantity(jnp.asarray(w[order]), unit=unit))

    @property
    def n_edges(self) -> int:
        """Number of connections (multapses counted)."""
        return int(self.pre_ids.size)

    @property
    def weights(self):
        """One weight per edge (CSR order), shared weights broadcast."""
        w = self.weight
        return u.math.broadcast_to(w, (self.n_edges,)) if u.math.ndim(w) == 0 else w

    def edges(self):
        """``(pre_ids, post_ids, weights)`` of every connection, sorted by presynaptic index."""
        return self.pre_ids, self.post_ids, self.weights

    def to_dense(self):
        """The dense ``(n_pre, n_post)`` weight matrix (multapses summed); for tests and small networks."""
        w = self.weights
        unit = u.get_unit(w)
        m = np.zeros((self.in_size[-1], self.out_size[-1]))
        np.add.at(m, (self.pre_ids, self.post_ids), np.asarray(u.get_mantissa(w)))
        return u.maybe_decimal(u.Quantity(m, unit=unit))

    def update(self, x):
        owner = type(self).__name__ + (f" {self.name!r}" if self.name else "")
        x = check_event_input(x, owner)
        if x.ndim not in (1, 2) or x.shape[-1] != self.in_size[-1]:
            raise ValueError(f"{owner}: the input must have shape ({self.in_size[-1]},) or (batch, "
                             f"{self.in_size[-1]}); got {x.shape}.")
        w = self.weight
        unit = u.get_unit(w)
        data = jnp.reshape(jnp.asarray(u.get_mantissa(w)), (-1,))
        if x.dtype != jnp.bool_ and not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(data.dtype)  # integer counts: values of the weights' dtype
        if self.n_edges == 0:
            y = jnp.zeros(x.shape[:-1] + (self.out_size[-1],), data.dtype)
        elif self.edge_delays is not None:
            if self._delayed is None:
                raise RuntimeError(f"{owner}: call init_state() (e.g. brainstate.nn.init_all_states(net)) before using "
                                   f"per-connection delays.")
            y = self._delayed(self.edge_delays(x))
        elif self._shards is not None and active_mesh() is not None:
            y = sharded_event_matvec(x, self._shards, data, self.out_size[-1], active_mesh())
        else:
            y = self.matrix(x, data)
        return u.maybe_decimal(u.Quantity(y, unit=unit))


def _rng(seed, owner):
    if seed is not None and (not isinstance(seed, (numbers.Integral, np.integer)) or isinstance(seed, bool)):
        raise TypeError(f"{owner}: seed must be a non-negative int or None; got {seed!r}.")
    if seed is not None and seed < 0:
        raise ValueError(f"{owner}: seed must be a non-negative int (0, 1, 2, ...) or None; got {seed}.")
    return np.random.default_rng(seed)


def _check_prob(p, owner):
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0. <= float(p) <= 1.:
        raise ValueError(f"{owner}: prob must be a number in [0, 1]; got {p!r}.")
    return float(p)


def _bernoulli_pairs(rng, n_pre, n_post, p):
    """Indices of the successes of n_pre * n_post independent Bernoulli(p) trials (geometric gaps)."""
    total = n_pre * n_post
    if p == 0. or total == 0:
        return np.zeros(0, np.int64)
    if p == 1.:
        return np.arange(total)
    found, last = [], -1
    while True:
        chunk = int(p * (total - last) + 10 * np.sqrt(p * total) + 100)
        pos = last + np.cumsum(rng.geometric(p, size=chunk))
        done = pos[-1] >= total
        pos = pos[pos < total]
        found.append(pos)
        if done:
            return np.concatenate(found)
        last = int(pos[-1])


def _fixed_degree(rng, n_rows, k, n_choices, multapses, autapses):
    """(n_rows, k) draws from range(n_choices); distinct per row unless multapses; row r never picks r
    when autapses are excluded.  Rejection keeps the law invariant under relabelling, hence uniform."""
    rows = np.arange(n_rows)[:, None]
    draw = rng.integers(0, n_choices, size=(n_rows, k))
    while True:
        bad = np.zeros(draw.shape, bool) if autapses else draw == rows
        if not multapses:
            order = np.argsort(draw, axis=1, kind="stable")
            s = np.take_along_axis(draw, order, axis=1)
            dup = np.zeros(draw.shape, bool)
            dup[:, 1:] = s[:, 1:] == s[:, :-1]
            np.put_along_axis(bad, order, np.take_along_axis(bad, order, axis=1) | dup, axis=1)
        n_bad = int(bad.sum())
        if n_bad == 0:
            return draw
        draw[bad] = rng.integers(0, n_choices, size=n_bad)


def _check_degree(k, n_allowed, multapses, owner, what):
    if not isinstance(k, (numbers.Integral, np.integer)) or isinstance(k, bool) or k < 0:
        raise ValueError(f"{owner}: {what} must be a non-negative int; got {k!r}.")
    if k > 0 and n_allowed == 0:
        raise ValueError(f"{owner}: {what}={k} but no source/target is allowed (autapses excluded, size 1).")
    if not multapses and k > n_allowed:
        raise ValueError(f"{owner}: {what}={k} exceeds the {n_allowed} distinct partners available; allow "
                         f"multapses or lower {what}.")
    return int(k)


def _degree_edges(owner, in_size, out_size, k, what, seed, multapses, autapses):
    """(pre_ids, post_ids, k) with exactly k partners per postsynaptic (indegree) or presynaptic (outdegree) element."""
    n_pre, n_post = _size(in_size, owner, "in_size")[-1], _size(out_size, owner, "out_size")[-1]
    n_rows, n_choices = (n_post, n_pre) if what == "indegree" else (n_pre, n_post)
    k = _check_degree(k, n_choices if autapses else n_choices - 1, multapses, owner, what)
    _check_edge_budget(n_rows * k, owner, what)
    drawn = _fixed_degree(_rng(seed, owner), n_rows, k, n_choices, multapses, autapses).ravel()
    fixed = np.repeat(np.arange(n_rows), k)
    return (drawn, fixed, k) if what == "indegree" else (fixed, drawn, k)


class PairwiseBernoulli(Connectivity):
    """Every (pre, post) pair connected independently with probability ``prob``.

    Parameters
    ----------
    in_size, out_size : int
        Presynaptic and postsynaptic sizes.
    prob : float
        Connection probability per ordered pair, in [0, 1]; the number of
        edges is Binomial(n_pre n_post, prob) (or n (n - 1) pairs without autapses).
    weight : Quantity, float, array or callable
        Shared weight or a per-edge initializer (see :class:`Connectivity`).
    seed : int, optional
        Seed of the draw; the same seed gives the same edges.
    allow_autapses : bool
        If False, pairs with ``pre == post`` index are never connected (for a
        projection of a group onto itself).
    delay : Quantity or callable, optional
        Per-connection delays (see :class:`Connectivity`).
    name : str, optional
        Module name.

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> conn = lapicque.PairwiseBernoulli(1000, 1000, 0.02, 6. * u.nS, seed=1)
    >>> 19000 < conn.n_edges < 21000
    True
    """

    __module__ = "lapicque"

    def __init__(self, in_size, out_size, prob, weight, seed: Optional[int] = None, allow_autapses: bool = True,
                 delay=None, name: Optional[str] = None):
        owner = type(self).__name__
        n_pre, n_post = _size(in_size, owner, "in_size")[-1], _size(out_size, owner, "out_size")[-1]
        p = _check_prob(prob, owner)
        n, var = float(n_pre) * n_post * p, float(n_pre) * n_post * p * (1. - p)
        _check_edge_budget(n + 6. * var ** 0.5, owner, "prob")  # a draw above mean + 6 sd: never in practice
        flat = _bernoulli_pairs(_rng(seed, owner), n_pre, n_post, p)
        pre, post = flat // n_post, flat % n_post
        if not allow_autapses:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        super().__init__(in_size, out_size, pre, post, weight, delay=delay, name=name)
        self.prob = float(prob)


class FixedInDegree(Connectivity):
    """Every postsynaptic element receives exactly ``indegree`` connections.

    Sources are uniform over the presynaptic elements: distinct unless
    ``allow_multapses``, never the element with the same index when
    ``allow_autapses`` is False.  Parameters as :class:`PairwiseBernoulli`,
    with ``indegree`` (int) in place of ``prob``.

    Examples
    --------
    >>> import numpy as np, saiunit as u, lapicque
    >>> conn = lapicque.FixedInDegree(100, 50, 10, 1. * u.nS, seed=0)
    >>> set(np.bincount(conn.post_ids).tolist())
    {10}
    """

    __module__ = "lapicque"

    def __init__(self, in_size, out_size, indegree, weight, seed: Optional[int] = None,
                 allow_multapses: bool = False, allow_autapses: bool = True, delay=None,
                 name: Optional[str] = None):
        pre, post, k = _degree_edges(type(self).__name__, in_size, out_size, indegree, "indegree", seed,
                                     allow_multapses, allow_autapses)
        super().__init__(in_size, out_size, pre, post, weight, delay=delay, name=name)
        self.indegree = k


class FixedOutDegree(Connectivity):
    """Every presynaptic element makes exactly ``outdegree`` connections.

    Targets are uniform over the postsynaptic elements: distinct unless
    ``allow_multapses``, never the element with the same index when
    ``allow_autapses`` is False.  Parameters as :class:`PairwiseBernoulli`,
    with ``outdegree`` (int) in place of ``prob``.

    Examples
    --------
    >>> import numpy as np, saiunit as u, lapicque
    >>> conn = lapicque.FixedOutDegree(50, 100, 10, 1. * u.nS, seed=0)
    >>> set(np.bincount(conn.pre_ids).tolist())
    {10}
    """

    __module__ = "lapicque"

    def __init__(self, in_size, out_size, outdegree, weight, seed: Optional[int] = None,
                 allow_multapses: bool = False, allow_autapses: bool = True, delay=None,
                 name: Optional[str] = None):
        pre, post, k = _degree_edges(type(self).__name__, in_size, out_size, outdegree, "outdegree", seed,
                                     allow_multapses, allow_autapses)
        super().__init__(in_size, out_size, pre, post, weight, delay=delay, name=name)
        self.outdegree = k


class EdgeList(Connectivity):
    """Explicit connections: arrays of presynaptic and postsynaptic indices (and weights).

    Parameters
    ----------
    in_size, out_size : int
        Presynaptic and postsynaptic sizes.
    pre_ids, post_ids : array of int
        One entry per connection; repeated pairs are kept (multapses).
    weight : Quantity, float, array or callable
        Shared weight, or one weight per connection in the order given.
    delay : Quantity or callable, optional
        Per-connection delays, one per connection in the order given (see :class:`Connectivity`).
    name : str, optional
        Module name.

    Examples
    --------
    >>> import jax.numpy as jnp, saiunit as u, lapicque
    >>> conn = lapicque.EdgeList(3, 2, [0, 2, 2], [1, 0, 0], [1., 2., 3.] * u.nS)
    >>> print(conn(jnp.array([False, False, True])))
    [5. 0.] nS
    """

    __module__ = "lapicque"

    def __init__(self, in_size, out_size, pre_ids, post_ids, weight, delay=None, name: Optional[str] = None):
        super().__init__(in_size, out_size, pre_ids, post_ids, weight, delay=delay, name=name)
