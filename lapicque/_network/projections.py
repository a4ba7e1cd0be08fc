"""Projections: AlignPostProj, DeltaProj, CurrentProj (comm -> synapse -> output -> post, with delays).

Every projection is a :class:`Projection` (brainpy.state's base class, whose own
``update`` calls its child modules in turn).

A projection carries what a presynaptic group gives it (spikes, usually) to a
postsynaptic group through four stages, with ``brainpy.state``'s semantics:

1. optional modules transform the input (``*modules`` / ``*prefetch``);
2. the delay line holds it ``round(delay / dt)`` steps (see :mod:`lapicque._network.delays`);
3. ``comm`` maps it to the postsynaptic side (any callable: a lapicque
   connectivity, ``brainstate.nn.EventFixedProb``, ``Linear``, ...);
4. the result enters the postsynaptic group:

   * :class:`AlignPostProj`: ``syn.add_delta_input(name, comm(x))``; the synapse
     is owned by the postsynaptic group, which advances it in a before-update hook
     (``out.bind_cond(syn())``) and calls ``out(V)`` as a current input, so the
     conductance and the membrane potential of one step belong together;
     projections with the same ``label``, synapse and output descriptors share one
     synapse and one output;
   * :class:`CurrentProj`: ``out.bind_cond(comm(x))``, ``out(V)`` is a current input;
   * :class:`DeltaProj`: ``comm(x)`` is added to ``V`` as a delta input.

:class:`FusedProj` runs several projections whose ``comm`` are lapicque
connectivities as *one* event-driven sparse product per step (a block matrix),
which halves the per-step cost of an E/I network.

Synapses and outputs are duck-typed: a synapse is a callable with
``add_delta_input``, an output a callable with ``bind_cond``; the postsynaptic
group needs the input registry (``add_current_input`` / ``add_delta_input``)
and, for shared synapses, brainstate's ``add_before_update`` hooks.  Every
lapicque neuron and every ``brainpy.state`` neuron qualifies.
"""

from __future__ import annotations

from typing import Callable, Optional

import brainstate
import jax.numpy as jnp
import numpy as np
import saiunit as u
from brainstate.mixin import ParamDescriber
from brainstate.util import get_unique_name

from .connectivity import Connectivity, EventMatrix, check_event_input
from .._kernels.event import stack_csr
from .delays import DelayLine
from .ecosystem import adopt_comm

__all__ = ["Projection", "AlignPostProj", "CurrentProj", "DeltaProj", "FusedProj"]

_REGISTRY = ("add_current_input",)
_HOOKS = ("add_before_update", "has_before_update", "get_before_update")


def _shape(obj, *attrs):
    for attr in attrs:
        value = getattr(obj, attr, None)
        if value is not None:
            return (int(value),) if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)
    return None


def _check_post(post, owner, needed):
    missing = [m for m in needed if not callable(getattr(post, m, None))]
    if missing:
        raise TypeError(
            f"{owner}: post must be a neuron group with the input registry (a lapicque neuron, lapicque.Dynamics, "
            f"a brainpy.state neuron, or a brainstate dynamics with {', '.join(needed)}); got "
            f"{type(post).__name__}, which lacks {', '.join(missing)}.")


def _check_callable(obj, owner, what, methods=()):
    missing = [m for m in methods if not callable(getattr(obj, m, None))]
    if not callable(obj) or missing:
        need = "a callable" + (f" with {', '.join(methods)}" if methods else "")
        raise TypeError(f"{owner}: {what} must be {need}; got {obj!r}.")


def _check_sizes(owner, comm, post, syn=None):
    """comm's output size and the synapse's size must match post's size."""
    post_shape = _shape(post, "varshape", "in_size")
    if post_shape is None:
        return
    comm_out = _shape(comm, "out_size")
    if comm_out is not None and comm_out[-1] != post_shape[-1]:
        raise ValueError(f"{owner}: comm's output size {comm_out[-1]} does not match post's size {post_shape[-1]} "
                         f"(comm.out_size={comm_out}, post.varshape={post_shape}).")
    syn_shape = None if syn is None else _shape(syn, "varshape", "in_size")
    if syn_shape is not None and syn_shape[-1] != post_shape[-1]:
        raise ValueError(f"{owner}: syn's size {syn_shape} does not match post's size {post_shape}.")


class _SynOutHook(brainstate.nn.Module):
    """The post group's before-update hook: advance the shared synapse and bind its output."""

    def __init__(self, syn, out):
        super().__init__()
        self.syn = syn
        self.out = out

    def update(self, *args, **kwargs):
        self.out.bind_cond(self.syn())


class Projection(brainstate.nn.Module):
    """Base class of the projections: a module that carries a signal to a postsynaptic group.

    Every lapicque projection (:class:`AlignPostProj`, :class:`CurrentProj`,
    :class:`DeltaProj`, :class:`FusedProj`, ``align_pre_projection``,
    ``align_post_projection``) is one, as in brainpy.state.  A subclass that
    only holds child modules needs no ``update``: calling it calls each direct
    child module in turn with the same arguments.  In a step, call the
    projections before the groups they feed (the groups then integrate what
    the projections delivered).

    Parameters
    ----------
    name : str, optional
        Module name.

    Examples
    --------
    >>> import saiunit as u, jax.numpy as jnp, lapicque
    >>> post = lapicque.LIF(2)
    >>> class Both(lapicque.Projection):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.a = lapicque.DeltaProj(comm=lapicque.EdgeList(1, 2, [0], [0], 1. * u.mV), post=post)
    ...         self.b = lapicque.DeltaProj(comm=lapicque.EdgeList(1, 2, [0], [1], 2. * u.mV), post=post)
    >>> Both()(jnp.array([True]))
    >>> print(post.sum_delta_inputs(0. * u.mV))
    [1. 2.] mV
    """

    __module__ = "lapicque"

    def update(self, *args, **kwargs):
        children = tuple(self.nodes(allowed_hierarchy=(1, 1)).values())
        if not children:
            raise ValueError(f"{type(self).__name__}: a Projection without child modules must define update().")
        for child in children:
            child(*args, **kwargs)


class _Projection(Projection):
    """Shared machinery: modules -> delay -> comm; subclasses deliver the result."""

    __module__ = "lapicque"

    def _setup(self, modules, comm, post, delay):
        self.owner = f"{type(self).__name__} {self.name!r}"
        for m in modules:
            if not callable(m) and not isinstance(m, brainstate.State):
                raise TypeError(f"{self.owner}: every positional module must be callable or a brainstate.State; "
                                f"got {m!r}.")
        self.modules = tuple(modules)
        _check_callable(comm, self.owner, "comm")
        comm = adopt_comm(comm)  # brainstate's sparse comms on lapicque's event kernel (same edges; else unchanged)
        self.comm = comm
        self.post = post
        self.delay = delay
        self.delay_line = None
        if delay is not None:
            in_size = _shape(comm, "in_size")
            if in_size is None:
                raise TypeError(f"{self.owner}: a delay needs the input size, but comm {comm!r} has no in_size; use "
                                f"a brainstate/lapicque module as comm.")
            self.delay_line = DelayLine(in_size, delay, f"{self.owner} (delay)")

    def _pre(self, args):
        for m in self.modules:
            args = (m.value,) if isinstance(m, brainstate.State) else (m(*args),)
        if len(args) != 1:
            raise TypeError(f"{self.owner}: expected one input (e.g. the presynaptic spikes); got {len(args)}.")
        x = args[0]
        n_in = _shape(self.comm, "in_size")
        if n_in is not None and u.math.ndim(x) >= 1 and u.math.shape(x)[-1] != n_in[-1]:
            raise ValueError(f"{self.owner}: the input has {u.math.shape(x)[-1]} elements on its last axis but comm "
                             f"expects {n_in[-1]} (comm.in_size).")
        return x if self.delay_line is None else self.delay_line.update(x)

    def _check_out(self, y):
        post_shape = _shape(self.post, "varshape", "in_size")
        if post_shape is not None and u.math.ndim(y) >= 1 and u.math.shape(y)[-1] != post_shape[-1]:
            raise ValueError(f"{self.owner}: comm returned {u.math.shape(y)[-1]} values per step but post has size "
                             f"{post_shape[-1]}.")
        return y

    def update(self, *args):
        self._deliver(self._check_out(self.comm(self._pre(args))))


class AlignPostProj(_Projection):
    """A projection whose synapse lives on the postsynaptic group.

    Per step: ``y = comm(delayed(modules(x)))`` is added to the synapse as a
    delta input (``g <- g + y`` after the synapse's own decay); the synapse and
    its output are advanced by the postsynaptic group's before-update hook, and
    the output's current (e.g. COBA ``g (E - V)``) is a current input of ``post``.

    Parameters
    ----------
    *modules
        Optional callables applied in turn to the input before the delay,
        e.g. ``lapicque.STP(n_pre, U=0.1)``: the fraction of resources each
        spike releases then scales what a lapicque connectivity delivers
        (weight x released fraction per spike).
    comm : callable
        Maps the presynaptic signal to the postsynaptic side, e.g.
        :class:`lapicque.FixedOutDegree`, ``brainstate.nn.EventFixedProb``
        (brainstate's event comms count every value > 0 as a whole spike, so
        they lose STP's scaling: use a lapicque connectivity after STP).
    syn : descriptor or synapse
        ``Expon.desc(n_post, tau=...)`` (shared by projections with the same
        ``label``, synapse and output descriptors) or a synapse instance.
    out : descriptor or output
        ``COBA.desc(E=...)`` / ``CUBA.desc()`` when ``syn`` is a descriptor, an
        output instance otherwise.
    post : neuron group
        Any lapicque neuron (or dynamics with the input registry).
    label : str, optional
        Label of the current input on ``post`` (and of the shared synapse).
    delay : Quantity, optional
        Non-negative time, scalar or one per presynaptic element: the input
        arrives after exactly ``floor(delay / dt + 1/2)`` steps (``None``: none).

    Notes
    -----
    The postsynaptic group must be called as ``post(x)`` (not ``post.update(x)``)
    so that its before-update hooks run, as in brainpy.state.

    Examples
    --------
    >>> import brainstate, saiunit as u, jax.numpy as jnp, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> post = lapicque.LIF(2, R=100. * u.Mohm, tau=20. * u.ms, V_rest=-60. * u.mV, V_reset=-60. * u.mV,
    ...                     V_th=-50. * u.mV)
    >>> proj = lapicque.AlignPostProj(comm=lapicque.EdgeList(1, 2, [0], [1], 6. * u.nS),
    ...                               syn=lapicque.Expon.desc(2, tau=5. * u.ms), out=lapicque.COBA.desc(E=0. * u.mV), post=post)
    >>> brainstate.nn.init_all_states(post)
    LIF(...)
    >>> proj(jnp.array([True]))
    >>> with brainstate.environ.context(t=0. * u.ms):
    ...     _ = post(0. * u.nA)
    >>> print(proj.syn.g.value.to_decimal(u.nS))
    [0. 6.]
    """

    __module__ = "lapicque"

    def __init__(self, *modules, comm: Callable, syn, out, post, label: Optional[str] = None, delay=None):
        super().__init__(name=get_unique_name(type(self).__name__))
        self._setup(modules, comm, post, delay)
        owner = self.owner
        self.label = label
        self.merging = isinstance(syn, ParamDescriber)
        if self.merging:
            if not isinstance(out, ParamDescriber):
                raise TypeError(f"{owner}: out must be a descriptor (e.g. COBA.desc(E=0. * u.mV)) when syn is a "
                                f"descriptor; got {out!r}.")
            _check_post(post, owner, _REGISTRY + _HOOKS)
            _check_sizes(owner, comm, post)
            syn, out = self._shared_syn_out(syn, out, post, label)
        else:
            if isinstance(out, ParamDescriber):
                raise TypeError(f"{owner}: out must be an output instance when syn is an instance; got the "
                                f"descriptor {out!r} (pass syn as a descriptor too, e.g. Expon.desc(...)).")
            _check_post(post, owner, _REGISTRY)
            post.add_current_input(self.name, out, label=label)
        _check_callable(syn, owner, "syn", ("add_delta_input",))
        _check_callable(out, owner, "out", ("bind_cond",))
        _check_sizes(owner, comm, post, syn)
        self.syn, self.out = syn, out

    def _shared_syn_out(self, syn_desc, out_desc, post, label):
        key = f"{'' if label is None else label}{syn_desc.identifier} // {out_desc.identifier}"
        if not post.has_before_update(key):
            syn, out = syn_desc(), out_desc()
            _check_callable(syn, self.owner, "syn", ("add_delta_input",))
            _check_callable(out, self.owner, "out", ("bind_cond",))
            _check_sizes(self.owner, self.comm, post, syn)
            post.add_current_input(self.name, out, label=label)
            post.add_before_update(key, _SynOutHook(syn, out))
        hook = post.get_before_update(key)
        return hook.syn, hook.out

    def _deliver(self, y):
        state = getattr(getattr(self.syn, "g", None), "value", None)
        if state is not None and not u.have_same_dim(u.get_unit(state), u.get_unit(y)):
            raise TypeError(
                f"{self.owner}: comm's output is in {u.get_unit(y)} but the synapse's state g is in "
                f"{u.get_unit(state)}; give comm weights of g's dimension (e.g. 6. * u.nS for COBA), or set the "
                f"synapse's g_initializer to a zero of the weights' unit.")
        self.syn.add_delta_input(self.name, y)
        if not self.merging:
            self.out.bind_cond(self.syn())


class CurrentProj(_Projection):
    """A projection whose ``comm`` output is bound to a synaptic output (no synapse dynamics).

    Per step ``out.bind_cond(comm(delayed(prefetch(x))))``; ``out(V)`` is a
    current input of ``post`` (registered at construction).

    Parameters
    ----------
    *prefetch
        Optional callables applied in turn to the input.
    comm : callable
        Maps the input to the postsynaptic side.
    out : output
        A synaptic output instance (``COBA(E=...)``, ``CUBA()``).
    post : neuron group
        The postsynaptic group.
    delay : Quantity, optional
        As for :class:`AlignPostProj`.

    Examples
    --------
    >>> import brainstate, saiunit as u, jax.numpy as jnp, lapicque
    >>> post = lapicque.LIF(2)
    >>> proj = lapicque.CurrentProj(comm=lapicque.EdgeList(1, 2, [0], [0], 2. * u.nS),
    ...                             out=lapicque.COBA(E=0. * u.mV), post=post)
    >>> proj(jnp.array([True]))
    >>> print(post.sum_current_inputs(0. * u.pA, -60. * u.mV).to_decimal(u.pA))  # g (E - V) at V = -60 mV
    [120.   0.]
    """

    __module__ = "lapicque"

    def __init__(self, *prefetch, comm: Callable, out, post, delay=None):
        super().__init__(name=get_unique_name(type(self).__name__))
        self._setup(prefetch, comm, post, delay)
        _check_callable(out, self.owner, "out", ("bind_cond",))
        _check_post(post, self.owner, _REGISTRY)
        _check_sizes(self.owner, comm, post)
        self.out = out
        post.add_current_input(self.name, out)

    def _deliver(self, y):
        self.out.bind_cond(y)


class DeltaProj(_Projection):
    """A projection that adds ``comm``'s output directly to the postsynaptic ``V`` (a delta input).

    Parameters
    ----------
    *prefetch
        Optional callables applied in turn to the input.
    comm : callable
        Maps the input to voltage jumps on the postsynaptic side.
    post : neuron group
        The postsynaptic group.
    label : str, optional
        Label of the delta input.
    delay : Quantity, optional
        As for :class:`AlignPostProj` (a lapicque extension).

    Examples
    --------
    >>> import saiunit as u, jax.numpy as jnp, lapicque
    >>> post = lapicque.LIF(2)
    >>> proj = lapicque.DeltaProj(comm=lapicque.EdgeList(1, 2, [0], [1], 0.5 * u.mV), post=post)
    >>> proj(jnp.array([True]))
    >>> print(post.sum_delta_inputs(0. * u.mV))
    [0.  0.5] mV
    """

    __module__ = "lapicque"

    def __init__(self, *prefetch, comm: Callable, post, label: Optional[str] = None, delay=None):
        super().__init__(name=get_unique_name(type(self).__name__))
        self._setup(prefetch, comm, post, delay)
        _check_post(post, self.owner, ("add_delta_input",))
        _check_sizes(self.owner, comm, post)
        self.label = label

    def _deliver(self, y):
        self.post.add_delta_input(self.name, y, label=self.label)


class FusedProj(Projection):
    """Several projections run as one event-driven sparse product per step.

    The members keep their synapses, outputs, posts and delays; their
    connectivities (lapicque :class:`~lapicque.Connectivity` comms) are stacked
    into one block CSR matrix of shape ``(sum n_pre, sum n_post)``, so a step
    costs one brainevent call instead of one per projection.  Call the fused
    module *instead of* its members, with one input per member or with their
    concatenation (e.g. the whole population's spikes for E and I projections
    that read its first and last neurons).

    Parameters
    ----------
    *projections : AlignPostProj, CurrentProj or DeltaProj
        Members without positional modules, each with a lapicque connectivity
        as ``comm``; their weights must share a physical dimension.
    name : str, optional
        Module name.

    Examples
    --------
    >>> import saiunit as u, jax.numpy as jnp, lapicque
    >>> post = lapicque.LIF(3)
    >>> a = lapicque.DeltaProj(comm=lapicque.EdgeList(2, 3, [0], [2], 1. * u.mV), post=post)
    >>> b = lapicque.DeltaProj(comm=lapicque.EdgeList(1, 3, [0], [0], 2. * u.mV), post=post)
    >>> fused = lapicque.FusedProj(a, b)
    >>> fused(jnp.array([True, False, True]))   # a reads [True, False], b reads [True]
    >>> print(post.sum_delta_inputs(0. * u.mV))
    [2. 0. 1.] mV
    """

    __module__ = "lapicque"

    def __init__(self, *projections, name: Optional[str] = None):
        super().__init__(name=name)
        if not projections:
            raise ValueError("FusedProj: give at least one projection.")
        for p in projections:
            if not isinstance(p, _Projection) or not isinstance(p.comm, Connectivity) or p.modules:
                raise TypeError(f"FusedProj: every member must be a lapicque AlignPostProj/CurrentProj/DeltaProj "
                                f"without positional modules whose comm is a lapicque connectivity; got {p!r}.")
            if p.comm.edge_delays is not None:
                raise TypeError(f"FusedProj: {p.owner} has per-connection delays, which FusedProj does not stack; "
                                f"run it on its own (it already makes one call per step).")
        self.projections = tuple(projections)
        conns = [p.comm for p in projections]
        self.unit = u.get_unit(conns[0].weight)
        self.pre_sizes = [c.in_size[-1] for c in conns]
        self.post_sizes = [c.out_size[-1] for c in conns]
        self.matrix = self._stack(conns)

    def _stack(self, conns):
        """One block matrix: member b reads input rows row0_b.. and writes output columns col0_b.."""
        blocks = []
        rows0, cols0 = np.cumsum([0] + self.pre_sizes[:-1]), np.cumsum([0] + self.post_sizes[:-1])
        for c, row0, col0 in zip(conns, rows0, cols0):
            w = c.weights
            if not u.have_same_dim(u.get_unit(w), self.unit):
                raise TypeError(f"FusedProj: all weights must share a physical dimension; got {self.unit} and "
                                f"{u.get_unit(w)}.")
            w = np.asarray(u.get_mantissa(w) if self.unit.is_unitless else w.to_decimal(self.unit))
            blocks.append((int(row0), int(col0), c.indptr, c.post_ids, w.astype(brainstate.environ.dftype())))
        n_pre, n_post = sum(self.pre_sizes), sum(self.post_sizes)
        indptr, indices, data = stack_csr(blocks, n_pre, n_post)
        return EventMatrix(data, indices, indptr, (n_pre, n_post))

    def update(self, *xs):
        total = sum(self.pre_sizes)
        if len(xs) == 1 and u.math.shape(xs[0])[-1:] == (total,):
            bounds = np.cumsum([0] + self.pre_sizes)
            xs = [xs[0][..., a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        elif len(xs) != len(self.projections):
            raise ValueError(f"FusedProj: give one input per member ({len(self.projections)}) or their "
                             f"concatenation ({total} elements); got {len(xs)} inputs.")
        parts = [check_event_input(p._pre((x,)), p.owner) for p, x in zip(self.projections, xs)]
        if any(x.dtype != jnp.bool_ for x in parts):  # event values (0/1 spikes stay on the binary path)
            parts = [x.astype(self.matrix.data.dtype) for x in parts]
        y = self.matrix(jnp.concatenate(parts, axis=-1))
        bounds = np.cumsum([0] + self.post_sizes)
        for p, a, b in zip(self.projections, bounds[:-1], bounds[1:]):
            p._deliver(p._check_out(u.maybe_decimal(u.Quantity(y[..., a:b], unit=self.unit))))
