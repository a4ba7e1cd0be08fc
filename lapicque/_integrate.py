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

import jax.numpy as jnp
import saiunit as u

__all__ = ["exp_euler", "Z_MAX", "EXP_ARG_MAX"]

#: largest ``dt * J`` used in :math:`\varphi`; :math:`\varphi(30) \approx 3.6e11`.
Z_MAX = 30.0
#: largest admissible ``(V_th - V_T) / Delta_T`` (``exp(40) ~ 2.4e17``).
EXP_ARG_MAX = 40.0


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
    return x + dt * u.math.exprel(z) * f
