r"""Gap junctions: electrical coupling between cells, SymmetryGapJunction and AsymmetryGapJunction.

A gap junction :math:`k` joins cell :math:`i_k` of the *pre* group to cell :math:`j_k` of the
*post* group and passes a current proportional to their voltage difference,

.. math::  I^\text{post}_{j_k} \mathrel{+}= g^\text{post}_k\,(V^\text{pre}_{i_k} - V^\text{post}_{j_k}),
           \qquad
           I^\text{pre}_{i_k} \mathrel{-}= g^\text{pre}_k\,(V^\text{pre}_{i_k} - V^\text{post}_{j_k}),

with one conductance for both directions (:class:`SymmetryGapJunction`, current conserved) or
one per direction (:class:`AsymmetryGapJunction`, a rectifying junction).  Each step,
:meth:`update` reads the two groups' states, computes these currents and registers them as
current inputs (``add_current_input``) of both groups; call it *before* the groups' updates, as
a projection.  The coupling is explicit -- the currents are those of the voltages at the start
of the step, held over the step, as in the reference: first-order accurate in ``dt``, and stable
while :math:`g\,\Delta t / C < 1` (for an LIF, :math:`C = \tau/R`: exactly, for two coupled
passive cells, while :math:`2Rg\,(1 - e^{-\Delta t/\tau}) < 1 + e^{-\Delta t/\tau}`).

Weights are checked for their unit: times the coupled state (a voltage) they must give a current,
so a conductance for ``'V'``; plain numbers only with a plain-number state.
"""

from __future__ import annotations

from typing import Callable

import brainstate
import braintools
import jax.numpy as jnp
import numpy as np
import saiunit as u
from brainstate.util import get_unique_name

from .._core.errors import ParameterError
from .._core.units import format_value

__all__ = ["SymmetryGapJunction", "AsymmetryGapJunction"]


def _group_size(group, owner: str, what: str) -> tuple:
    """The shape of a coupled group; an error if it cannot take current inputs."""
    if not callable(getattr(group, "add_current_input", None)):
        raise TypeError(f"{owner}: {what} must be a neuron group with add_current_input (a lapicque or "
                        f"brainpy.state neuron); got {type(group).__name__}.")
    shape = getattr(group, "varshape", None)
    if shape is None:
        raise TypeError(f"{owner}: {what} ({type(group).__name__}) has no varshape.")
    return tuple(shape)


def _connections(conn, pre_shape, post_shape, owner: str):
    """``conn(pre_size, post_size)`` as two checked int arrays of flat indices."""
    if not callable(conn):
        raise TypeError(f"{owner}: conn must be a callable conn(pre_size, post_size) -> (pre_ids, post_ids); "
                        f"got {conn!r}.")
    pre_size = pre_shape[0] if len(pre_shape) == 1 else pre_shape
    post_size = post_shape[0] if len(post_shape) == 1 else post_shape
    try:
        pre_ids, post_ids = conn(pre_size, post_size)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{owner}: conn(pre_size, post_size) must return (pre_ids, post_ids); {e}") from None
    pre_ids, post_ids = np.asarray(pre_ids), np.asarray(post_ids)
    for ids, shape, what in ((pre_ids, pre_shape, "pre_ids"), (post_ids, post_shape, "post_ids")):
        n = int(np.prod(shape))
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
            raise TypeError(f"{owner}: conn's {what} must be a 1-D array of ints; got {format_value(ids)}.")
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            raise ParameterError(f"{owner}: conn's {what} must be flat indices in [0, {n}) of a group of shape "
                                 f"{shape}; got values from {ids.min()} to {ids.max()}.")
    if pre_ids.size != post_ids.size:
        raise ParameterError(f"{owner}: conn must return as many pre_ids as post_ids; got {pre_ids.size} and "
                             f"{post_ids.size}.")
    return pre_ids.astype(np.int32), post_ids.astype(np.int32)


def _scatter(values, ids, shape, n: int):
    """Sum ``values`` (..., k) into flat positions ``ids`` of a (..., *shape) array (units kept)."""
    mant, unit = u.split_mantissa_unit(values)
    lead = jnp.shape(mant)[:-1]
    out = jnp.zeros(lead + (n,), dtype=mant.dtype).at[..., ids].add(mant).reshape(lead + tuple(shape))
    return u.maybe_decimal(out * unit) if isinstance(values, u.Quantity) else out


class _GapJunction(brainstate.nn.Module):
    """What both gap junctions share: the groups, the connections, the weights and the step."""

    __module__ = "lapicque"

    def _couple(self, pre, pre_state, post, post_state, conn, weight, w_shape, param_type):
        owner = type(self).__name__
        for state, what in ((pre_state, "pre_state"), (post_state, "post_state")):
            if not isinstance(state, str):
                raise TypeError(f"{owner}: {what} must be the name of a state (e.g. 'V'); got {state!r}.")
        self.pre_shape = _group_size(pre, owner, "pre")
        self.post_shape = _group_size(post, owner, "post")
        self.pre, self.post, self.pre_state, self.post_state = pre, post, pre_state, post_state
        self.pre_ids, self.post_ids = _connections(conn, self.pre_shape, self.post_shape, owner)
        shape = (self.pre_ids.size,) + w_shape
        try:
            value = braintools.init.param(weight, shape)
        except (ValueError, TypeError, AssertionError) as e:
            raise ParameterError(f"{owner}: weight must be a scalar, an initializer or an array broadcastable to "
                                 f"{shape} (one per connection); got {format_value(weight)} ({e}).") from None
        try:
            fits = np.broadcast_shapes(u.math.shape(value), shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ParameterError(f"{owner}: weight must be a scalar or broadcastable to {shape} (one per connection); "
                                 f"got shape {u.math.shape(value)}.")
        if not np.all(np.isfinite(np.asarray(u.get_mantissa(value)))):
            raise ParameterError(f"{owner}: weight must be finite; got {format_value(weight)}.")
        self.weight = param_type(value)
        self._post_key = get_unique_name("gap_junction_post")
        self._pre_key = get_unique_name("gap_junction_pre")
        states = [getattr(g, s, None) for g, s in ((pre, pre_state), (post, post_state))]
        if all(isinstance(s, brainstate.State) for s in states):
            self._check_units(states[0].value, states[1].value)

    def _state(self, group, name: str, what: str):
        state = getattr(group, name, None)
        if not isinstance(state, brainstate.State):
            raise ValueError(f"{type(self).__name__}: the {what} group ({type(group).__name__}) has no state "
                             f"{name!r}; call init_state() (or brainstate.nn.init_all_states) first.")
        return state.value

    def _check_units(self, pre_value, post_value):
        """Weight x state must be a current (a conductance for a voltage), or all plain numbers."""
        owner = type(self).__name__
        w_unit, v_unit = u.get_unit(self.weight.value), u.get_unit(pre_value)
        if not u.have_same_dim(pre_value, post_value):
            raise TypeError(f"{owner}: the pre state {self.pre_state!r} ({v_unit}) and the post state "
                            f"{self.post_state!r} ({u.get_unit(post_value)}) have different dimensions.")
        product = 1. * w_unit * v_unit
        if not u.get_unit(product).is_unitless and not u.have_same_dim(product, u.amp):
            need = "a conductance (e.g. 1. * u.nS)" if u.have_same_dim(1. * v_unit, u.volt) else \
                f"a quantity that times {v_unit} gives a current"
            raise TypeError(f"{owner}: weight must be {need} for the state {self.pre_state!r} in {v_unit}; got "
                            f"{format_value(self.weight.value)}.")

    def _register(self, group, key: str, current):
        inputs = getattr(group, "current_inputs", None) or {}
        if key in inputs:
            raise RuntimeError(
                f"{type(self).__name__}: the current of the previous update() is still waiting in "
                f"{type(group).__name__}'s current inputs: update the coupled groups after {type(self).__name__} "
                f"in every step (projections and gap junctions first, then the neurons).")
        group.add_current_input(key, current)

    def _step(self, g_post, g_pre):
        """Compute and register both currents; return the (positive) current of the pre side."""
        pre_v = self._state(self.pre, self.pre_state, "pre")
        post_v = self._state(self.post, self.post_state, "post")
        self._check_units(pre_v, post_v)
        n_pre, n_post = int(np.prod(self.pre_shape)), int(np.prod(self.post_shape))
        pre_flat = u.math.reshape(pre_v, u.math.shape(pre_v)[:u.math.ndim(pre_v) - len(self.pre_shape)] + (n_pre,))
        post_flat = u.math.reshape(post_v, u.math.shape(post_v)[:u.math.ndim(post_v) - len(self.post_shape)]
                                   + (n_post,))
        diff = pre_flat[..., self.pre_ids] - post_flat[..., self.post_ids]
        to_post = _scatter(diff * g_post, self.post_ids, self.post_shape, n_post)
        from_pre = _scatter(diff * g_pre, self.pre_ids, self.pre_shape, n_pre)
        self._register(self.post, self._post_key, to_post)
        self._register(self.pre, self._pre_key, -from_pre)
        return from_pre


class SymmetryGapJunction(_GapJunction):
    r"""Gap junctions with one conductance for both directions (the current is conserved).

    For each connection :math:`k` (cell :math:`i_k` of ``pre`` to cell :math:`j_k` of ``post``):

    .. math::  I^\text{post}_{j_k} \mathrel{+}= g_k (V^\text{pre}_{i_k} - V^\text{post}_{j_k}),\qquad
               I^\text{pre}_{i_k} \mathrel{-}= g_k (V^\text{pre}_{i_k} - V^\text{post}_{j_k}).

    For two passive LIF cells (:math:`\tau \dot V_{1,2} = -(V_{1,2} - V_\text{rest}) + R I_{1,2}`)
    joined by :math:`g`, the sum :math:`V_1 + V_2` relaxes with :math:`\tau` and the difference
    with :math:`\tau / (1 + 2Rg)`.  Currents are computed from the states at the start of the
    step (see the module notes for accuracy and stability).

    Parameters
    ----------
    couples : neuron group, or a pair (pre, post) of them
        One group (junctions within it) or two.
    states : str or (str, str)
        The coupled state, usually ``'V'`` (or one name per group).
    conn : callable
        ``conn(pre_size, post_size) -> (pre_ids, post_ids)``: the connections, as flat indices.
        List each pair once: a pair listed in both orders is coupled twice.
    weight : Quantity, array or initializer
        The conductance :math:`g_k` (a conductance for ``'V'``), scalar or one per connection.
    param_type : type, default ``brainstate.ParamState``
        The State class holding the weights (``ParamState``: trainable).

    Examples
    --------
    Two passive cells, 20 mV apart, relax towards each other:

    >>> import brainstate, braintools, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> cells = lapicque.LIF(2, R=1. * u.ohm, tau=10. * u.ms, V_rest=0. * u.mV, V_th=1e3 * u.mV,
    ...                      V_initializer=braintools.init.Constant(u.math.asarray([20., 0.]) * u.mV))
    >>> cells.init_state()
    >>> gj = lapicque.SymmetryGapJunction(cells, 'V', conn=lambda n, m: ([0], [1]), weight=1. * u.siemens)
    >>> for _ in range(10):
    ...     _ = gj.update()
    ...     _ = cells.update()
    >>> print(cells.V.value.to_decimal(u.mV).round(2))   # exact ODE: 16.45 and 1.65 (sum 20 e^-0.1)
    [16.43  1.66]
    """

    def __init__(self, couples, states, conn: Callable, weight, param_type: type = brainstate.ParamState):
        super().__init__()
        pre, post = (couples, couples) if not isinstance(couples, (tuple, list)) else tuple(couples)
        pre_state, post_state = (states, states) if isinstance(states, str) else tuple(states)
        self._couple(pre, pre_state, post, post_state, conn, weight, (), param_type)

    def update(self, *args, **kwargs):
        """Register this step's currents in both groups; return the pre side's (positive) current."""
        g = self.weight.value
        return self._step(g, g)


class AsymmetryGapJunction(_GapJunction):
    r"""Gap junctions with one conductance per direction (rectifying electrical synapses).

    With ``weight[k] = (g_k^{(0)}, g_k^{(1)})``:

    .. math::  I^\text{post}_{j_k} \mathrel{+}= g^{(0)}_k (V^\text{pre}_{i_k} - V^\text{post}_{j_k}),\qquad
               I^\text{pre}_{i_k} \mathrel{-}= g^{(1)}_k (V^\text{pre}_{i_k} - V^\text{post}_{j_k}),

    i.e. ``weight[..., 0]`` sets the current into the post cell and ``weight[..., 1]`` the one
    into the pre cell (the reference's ``pre_weight`` and ``post_weight``).

    Parameters
    ----------
    pre, post : neuron groups
        The coupled groups.
    pre_state, post_state : str
        The coupled states, usually ``'V'``.
    conn : callable
        ``conn(pre_size, post_size) -> (pre_ids, post_ids)``: the connections, as flat indices.
    weight : Quantity, array or initializer
        Conductances of shape ``(2,)`` (every connection) or ``(n_connections, 2)``.
    param_type : type, default ``brainstate.ParamState``
        The State class holding the weights.

    Examples
    --------
    Current flows into the second cell only:

    >>> import brainstate, braintools, saiunit as u, lapicque
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> a = lapicque.LIF(1, R=1. * u.ohm, tau=10. * u.ms, V_rest=0. * u.mV, V_th=1e3 * u.mV,
    ...                  V_initializer=braintools.init.Constant(20. * u.mV))
    >>> b = lapicque.LIF(1, R=1. * u.ohm, tau=10. * u.ms, V_rest=0. * u.mV, V_th=1e3 * u.mV)
    >>> a.init_state(); b.init_state()
    >>> gj = lapicque.AsymmetryGapJunction(a, 'V', b, 'V', conn=lambda n, m: ([0], [0]),
    ...                                    weight=u.math.asarray([1., 0.]) * u.siemens)
    >>> for _ in range(10):
    ...     _ = gj.update(); _ = a.update(); _ = b.update()
    >>> print(a.V.value.to_decimal(u.mV).round(2), b.V.value.to_decimal(u.mV).round(2))  # a: 20 e^-0.1
    [18.1] [1.74]
    """

    def __init__(self, pre, pre_state: str, post, post_state: str, conn: Callable, weight,
                 param_type: type = brainstate.ParamState):
        super().__init__()
        self._couple(pre, pre_state, post, post_state, conn, weight, (2,), param_type)

    def update(self, *args, **kwargs):
        """Register this step's currents in both groups; return the pre side's (positive) current."""
        w = self.weight.value
        return self._step(w[..., 0], w[..., 1])


__test__ = {name: globals()[name] for name in __all__}
