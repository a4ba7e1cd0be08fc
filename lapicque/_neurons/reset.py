"""The spike rules shared by the models: the soft or hard reset (with the derivatives surrogate training needs),
and the spike argument of a model whose threshold is not measured from a reset."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

__all__ = ["reset_potential", "threshold_argument"]


def threshold_argument(V, V_th):
    """The surrogate's argument ``(V - V_th) / |V_th|`` (divisor 1 where ``V_th = 0``).

    brainpy.state divides by ``V_th`` itself (Izhikevich, HH-type and the reduced models); ``|.|`` keeps
    ``V >= V_th`` the spike condition for a negative threshold, where the reference's sign flips, and a zero
    threshold divides by 1 instead of 0.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> threshold_argument(jnp.array([-10., -30., 1.]), jnp.array([-20., -20., 0.])).tolist()
    [0.5, -0.5, 1.0]
    """
    return (V - V_th) / jnp.where(V_th == 0., jnp.ones_like(V_th), jnp.abs(V_th))


def reset_potential(V, spk, V_th, V_reset, mode: str, binary: bool = False):
    """Apply the spike reset to ``V`` given the surrogate spike ``spk``.

    ``soft``: ``V - (V_th - V_reset) * spk``.
    ``hard``: ``V - (stop_gradient(V) - V_reset) * spk`` for gradients; its
    forward value is exactly ``V_reset`` where ``spk > 0.5`` (no rounding
    error) and ``V - (V - V_reset) * spk`` elsewhere (``V`` for ``spk = 0``).
    ``binary=True`` promises spikes in {0, 1} (a ``braintools.surrogate``
    function's forward pass): the forward value is then one select.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> reset_potential(jnp.array([12., 5.]), jnp.array([1., 0.]), 10., 0., "hard").tolist()
    [0.0, 5.0]
    >>> reset_potential(jnp.array([12., 5.]), jnp.array([1., 0.]), 10., 0., "soft").tolist()
    [2.0, 5.0]
    """
    if mode == "soft":
        return V - (V_th - V_reset) * spk
    return _hard_reset(V, spk, V_reset, bool(binary))


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def _hard_reset(V, spk, V_reset, binary):
    # a custom JVP keeps the forward pass to a select (before: the gradient formula plus a
    # stop-gradient correction, seven operations per neuron, which pushed XLA's cost model into
    # splitting the kernel across threads)
    return jnp.where(spk > 0.5, V_reset, V if binary else V - (V - V_reset) * spk)


@_hard_reset.defjvp
def _hard_reset_jvp(binary, primals, tangents):
    V, spk, V_reset = primals
    dV, dspk, dV_reset = tangents
    # the derivative of V - (stop_gradient(V) - V_reset) * spk
    return _hard_reset(V, spk, V_reset, binary), dV - (V - V_reset) * dspk + spk * dV_reset
