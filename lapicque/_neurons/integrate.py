r"""The one integration rule of lapicque, and its overflow guard.

Every state variable ``x`` with ``dx/dt = f(x)`` is advanced by one step of
the exponential-Euler rule

.. math::

    x_{n+1} = x_n + \Delta t\, \varphi(\Delta t\, J)\, f(x_n),
    \qquad \varphi(z) = \frac{e^z - 1}{z},\quad J = \frac{\partial f}{\partial x},

with the diagonal Jacobian ``J`` written out analytically by each model (no
autodiff per step).  For a linear ``f`` (LIF, the adaptation currents, Gif)
this is the exact solution for input held constant over the step.

Cut-off guard for the divergent models
--------------------------------------
In the exponential and quadratic models ``V`` reaches infinity in finite time;
``V_th`` is only the numerical cut-off at which a spike is declared (NEST's
``V_peak``).  Near and beyond it both the exponential term and
:math:`\varphi(\Delta t J)` overflow in float32, which is how the reference
implementation produces ``inf``/``NaN`` and runaway voltages.  lapicque guards
the step in three places, none of which acts while ``V`` stays below ``V_th``
and the step is resolved:

1. the divergent term (``exp((V - V_T)/Delta_T)`` or the quadratic) is
   evaluated at ``min(V, V_th)``, as NEST's aeif models do;
2. ``Delta_t J`` is capped at :data:`Z_MAX` (a step that would amplify a
   deviation by more than :math:`e^{30}` is not resolved anyway: it always
   carries ``V`` past the cut-off);
3. the stored ``V`` is capped at ``V_th``: a step that overshoots the
   cut-off stores exactly ``V_th``, which counts as a spike, and the reset
   then lands on ``V_reset`` for both soft and hard reset;
4. a falling ``V`` never passes the point where the true trajectory stops:
   ``V_rest + R I`` for the exponential models (the exponential term only
   pushes ``V`` up), the lower root of the quadratic for the quadratic ones.
   Where ``dt J > 0`` meets ``f < 0`` the linearized step would otherwise
   undershoot without bound (to -3e6 mV at ``dt = tau``).

Together with the parameter check ``(V_th - V_T)/Delta_T <= 40`` every
intermediate value stays finite, and so do the surrogate gradients.
"""

import math

import jax
import jax.numpy as jnp

__all__ = ["exp_euler", "exprel", "Z_MAX", "EXP_ARG_MAX"]

#: largest ``dt * J`` used in :math:`\varphi`; :math:`\varphi(30) \approx 3.6e11`.
Z_MAX = 30.0
#: largest admissible ``(V_th - V_T) / Delta_T`` (``exp(40) ~ 2.4e17``).
EXP_ARG_MAX = 40.0

#: float32 path of :func:`exprel`: below this ``|z|`` its Taylor polynomial, above it ``(e^z - 1)/z``
_SERIES_BELOW = 0.5
#: Taylor coefficients 1/(k+1)! of ``phi``, k = 0..7 (truncation error < 1.1e-8 relative for |z| < 0.5)
_SERIES = tuple(1. / math.factorial(k + 1) for k in range(8))
#: Taylor coefficients (k+1)/(k+2)! of ``phi'``, k = 0..8 (truncation error < 3e-9 relative for |z| < 0.5)
_DERIV_SERIES = tuple((k + 1) / math.factorial(k + 2) for k in range(9))


def _horner(z, coefficients):
    out = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        out = c + z * out
    return out


def _series_mask(z):
    """``(|z| < _SERIES_BELOW, z with 1 there)``: where the Taylor series applies, and a safe divisor."""
    small = jnp.abs(z) < _SERIES_BELOW
    return small, jnp.where(small, jnp.ones_like(z), z)


@jax.custom_jvp
def exprel(z):
    r"""``phi(z) = (e^z - 1) / z`` with ``phi(0) = 1``, for float arrays.

    In float32 (and narrower) the value is the degree-7 Taylor polynomial
    for ``|z| < 0.5`` and ``(exp(z) - 1) / z`` above: XLA vectorizes
    ``exp``, while its CPU ``expm1`` costs about three times as much and
    was a third of the divergent models' step.  Both branches are accurate
    to a few float32 ulp (truncation below 1.1e-8, the cancellation in
    ``exp(z) - 1`` below 2e-7 relative at ``|z| = 0.5``).  In float64 the
    value is ``expm1(z) / z`` (a polynomial would need twice the degree).
    The derivative :math:`\varphi'(z) = (e^z - \varphi(z))/z` switches to
    its degree-8 series :math:`1/2 + z/3 + z^2/8 + \dots` for ``|z| < 0.5``
    (truncation below 3e-9 relative; the same mask and ``exp`` as the value,
    so XLA computes them once), so gradients stay finite and accurate at 0.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from lapicque._neurons.integrate import exprel
    >>> print(jnp.round(exprel(jnp.array([0., 1e-8, 1.])), 6))  # e - 1 = 1.718282
    [1.       1.       1.718282]
    """
    z = jnp.asarray(z)
    if jnp.finfo(z.dtype).bits > 32:
        zero = z == 0
        zs = jnp.where(zero, jnp.ones_like(z), z)
        return jnp.where(zero, jnp.ones_like(z), jnp.expm1(zs) / zs)
    small, zs = _series_mask(z)
    return jnp.where(small, _horner(z, _SERIES), (jnp.exp(zs) - 1.) / zs)


@exprel.defjvp
def _exprel_jvp(primals, tangents):
    (z,), (dz,) = primals, tangents
    y = exprel(z)
    small, zs = _series_mask(z)  # the same mask and exp(zs) as the float32 value: XLA computes them once
    return y, jnp.where(small, _horner(z, _DERIV_SERIES), (jnp.exp(zs) - y) / zs) * dz


def exp_euler(x, f, J, dt, cap: bool = False):
    """One exponential-Euler step ``x + dt * phi(dt * J) * f``.

    Parameters
    ----------
    x, f, J : array
        State, its derivative ``f(x)`` and the diagonal Jacobian ``df/dx``.
    dt : float or array
        Step length (same time unit as ``f`` and ``J``).
    cap : bool
        Cap ``dt * J`` at :data:`Z_MAX` (used by the divergent models).
    """
    z = dt * J
    if cap:
        z = jnp.minimum(z, Z_MAX)
    return x + dt * exprel(z) * f
