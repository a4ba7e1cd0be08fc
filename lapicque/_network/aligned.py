r"""brainpy.state's projection wrappers: ``align_pre_projection`` and ``align_post_projection``.

Each wraps a spike source, optional short-term plasticity and a projection in one
module (lower-case class names, as in brainpy.state).  Per call ``proj(*x)``:

1. the spike generators run in turn (``pre``, ``pre.prefetch('V')``, a function, ...):
   ``x = g_k(*x)``; the last must give one value, the spikes;
2. with ``stp``: ``x = stp(x)`` (e.g. :class:`~lapicque.STD`: the released fraction at each spike);
3. ``align_pre_projection``: the *presynaptic* synapse advances, ``s = syn(x)``
   (one synapse per presynaptic element), and a :class:`~lapicque.CurrentProj`
   binds ``comm(s)`` to ``out``, a current input of ``post``;
   ``align_post_projection``: an :class:`~lapicque.AlignPostProj` adds ``comm(x)`` to
   the *postsynaptic* synapse (shared between projections with the same descriptors).

Differences from brainpy.state 2.9: the reference wraps the spikes in
``brainevent.BinaryArray`` (and STP's output in ``brainevent.MaskedFloat``, which
brainevent 0.3 no longer has), so there every built-in synapse fails on its input
and every ``stp`` call fails; lapicque passes the values on as they are (0/1 spikes
or STP's released fractions), so these wrappers run with lapicque's synapses and
with any comm.
"""

from __future__ import annotations

from typing import Callable, Optional

import brainstate
from brainstate.nn import init_maybe_prefetch

from .projections import AlignPostProj, CurrentProj, Projection

__all__ = ["align_pre_projection", "align_post_projection"]


def _check_generators(owner: str, modules):
    for m in modules:
        if not callable(m) and not isinstance(m, brainstate.State):
            raise TypeError(f"{owner}: every spike generator must be callable (a neuron group, a prefetch, a "
                            f"function) or a brainstate.State; got {m!r}.")
    return tuple(modules)


def _check_optional(owner: str, what: str, module):
    if module is not None and not callable(module):
        raise TypeError(f"{owner}: {what} must be a callable dynamics (e.g. lapicque.STD(n)) or None; got {module!r}.")
    return module


class _Wrapped(Projection):
    """Spike generators, then optional STP; subclasses hand the result on."""

    def _setup(self, generators, stp):
        self.owner = type(self).__name__
        self.spike_generator = _check_generators(self.owner, generators)
        self.stp = _check_optional(self.owner, "stp", stp)

    @brainstate.nn.call_order(2)
    def init_state(self, *args, **kwargs):
        for module in self.spike_generator:
            init_maybe_prefetch(module, *args, **kwargs)

    def _spikes(self, x):
        for fun in self.spike_generator:
            out = fun.value if isinstance(fun, brainstate.State) else fun(*x)
            x = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        if len(x) != 1:
            raise ValueError(f"{self.owner}: the spike generators must end with one value (the spikes); got {len(x)}.")
        return x[0] if self.stp is None else self.stp(x[0])


class align_pre_projection(_Wrapped):
    r"""A projection whose synapse lives on the presynaptic side: spikes -> [STP] -> syn -> comm -> out -> post.

    Per call: ``x = generators(*args)``; ``x = stp(x)`` if given; ``s = syn(x)``
    (the presynaptic synapse's variable, e.g. AMPA's open fraction ``g``);
    ``out.bind_cond(comm(s))``; ``out(V)`` is a current input of ``post``
    (registered at construction, through a :class:`~lapicque.CurrentProj`).

    Parameters
    ----------
    *spike_generator
        Callables applied in turn to the call's arguments, ending with the spikes
        (e.g. the presynaptic group ``pre``: then calling the projection runs ``pre``).
    syn : dynamics
        The presynaptic synapse (``in_size`` = the number of presynaptic elements),
        e.g. ``lapicque.AMPA(n_pre)``.
    comm : callable
        Maps the synaptic variable to the postsynaptic side (weights x ``s``).
    out : output
        A synaptic output instance (``lapicque.COBA(E=...)``, ``lapicque.CUBA()``).
    post : neuron group
        The postsynaptic group.
    stp : dynamics, optional
        Short-term plasticity applied to the spikes before ``syn``.

    Examples
    --------
    >>> import brainstate, saiunit as u, jax.numpy as jnp, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> post = lapicque.LIF(1)
    >>> proj = lapicque.align_pre_projection(
    ...     lambda spikes: spikes, syn=lapicque.AMPA(2), comm=lambda g: g.sum(keepdims=True),
    ...     out=lapicque.COBA(E=0. * u.mV), post=post)
    >>> brainstate.nn.init_all_states([proj, post])
    [...]
    >>> with brainstate.environ.context(t=0. * u.ms):
    ...     proj(jnp.array([1., 0.]))                       # one AMPA step with transmitter
    >>> print(proj.syn.g.value)
    [0.04739... 0.        ] mS
    """

    __module__ = "lapicque"

    def __init__(self, *spike_generator, syn, comm: Callable, out, post, stp: Optional[object] = None):
        super().__init__()
        self._setup(spike_generator, stp)
        self.syn = _check_optional(self.owner, "syn", syn)
        if syn is None:
            raise TypeError(f"{self.owner}: syn is required (e.g. lapicque.AMPA(n_pre)).")
        self.projection = CurrentProj(comm=comm, out=out, post=post)

    def update(self, *x):
        return self.projection(self.syn(self._spikes(x)))


class align_post_projection(_Wrapped):
    r"""A projection whose synapse lives on the postsynaptic side: spikes -> [STP] -> comm -> syn -> out -> post.

    Per call: ``x = generators(*args)``; ``x = stp(x)`` if given; then an
    :class:`~lapicque.AlignPostProj` adds ``comm(x)`` to the synapse, which the
    postsynaptic group advances before it integrates (call it as ``post(x)``).

    Parameters
    ----------
    *spike_generator
        Callables applied in turn to the call's arguments, ending with the spikes.
    comm : callable
        Maps the spikes to the postsynaptic side (e.g. :class:`lapicque.FixedOutDegree`).
    syn : descriptor or synapse
        ``Expon.desc(n_post, tau=...)`` (shared by projections with the same
        descriptors) or a synapse instance.
    out : descriptor or output
        ``COBA.desc(E=...)`` with a descriptor ``syn``, an output instance otherwise.
    post : neuron group
        The postsynaptic group.
    stp : dynamics, optional
        Short-term plasticity applied to the spikes (its released fraction scales
        what a lapicque connectivity delivers).

    Examples
    --------
    >>> import brainstate, saiunit as u, jax.numpy as jnp, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> post = lapicque.LIF(2)
    >>> proj = lapicque.align_post_projection(
    ...     lambda spikes: spikes, comm=lapicque.EdgeList(1, 2, [0], [1], 6. * u.nS),
    ...     syn=lapicque.Expon.desc(2, tau=5. * u.ms), out=lapicque.COBA.desc(E=0. * u.mV), post=post)
    >>> brainstate.nn.init_all_states([proj, post])
    [...]
    >>> proj(jnp.array([True]))
    >>> with brainstate.environ.context(t=0. * u.ms):
    ...     _ = post(0. * u.nA)                             # post advances the synapse
    >>> print(proj.projection.syn.g.value.to_decimal(u.nS))
    [0. 6.]
    """

    __module__ = "lapicque"

    def __init__(self, *spike_generator, comm: Callable, syn, out, post, stp: Optional[object] = None):
        super().__init__()
        self._setup(spike_generator, stp)
        self.projection = AlignPostProj(comm=comm, syn=syn, out=out, post=post)

    def update(self, *x):
        return self.projection(self._spikes(x))
