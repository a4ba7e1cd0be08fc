r"""Synaptic outputs: COBA, CUBA, MgBlock -- the current from a synaptic variable and the membrane potential.

An output is bound to the synaptic variable of the current step with
:meth:`~BindCondData.bind_cond` (a projection does this each step) and is
registered as a current input of the post-synaptic neuron, which calls it
with its membrane potential: ``out(V)`` returns ``update(g, V)``.
"""

from __future__ import annotations

from typing import Optional

import brainstate
import jax.numpy as jnp
import saiunit as u

from .._core.declare import Param, check_param, param_mantissa
from .._core.units import ANY_UNIT

__all__ = ["SynOut", "COBA", "CUBA", "MgBlock"]


class BindCondData(brainstate.mixin.Mixin):
    """Marker and storage for the synaptic variable of the current step (``bind_cond`` / ``unbind_cond``)."""

    _conductance: Optional[object] = None

    def bind_cond(self, conductance):
        """Store the synaptic variable (e.g. the conductance) of this step."""
        self._conductance = conductance

    def unbind_cond(self):
        """Forget the stored synaptic variable."""
        self._conductance = None


class SynOut(brainstate.nn.Module, BindCondData):
    r"""Base class of synaptic outputs.

    Subclasses implement ``update(conductance, potential)``; calling the output
    as ``out(V)`` applies it to the variable bound with :meth:`bind_cond`.

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> class Ohmic(lapicque.SynOut):
    ...     def update(self, conductance, potential):
    ...         return conductance * (0. * u.mV - potential)
    >>> out = Ohmic()
    >>> out.bind_cond(2. * u.nS)
    >>> print(out(-70. * u.mV))
    140. pA
    """

    __module__ = "lapicque"

    def __init__(self):
        super().__init__()
        self._conductance = None

    def __call__(self, *args, **kwargs):
        if self._conductance is None:
            raise ValueError(
                f"{type(self).__name__}: no synaptic variable is bound for this step; call "
                f"`.bind_cond(g)` before calling the output (a projection does this every step).")
        return self.update(self._conductance, *args, **kwargs)

    def update(self, conductance, potential):
        """The synaptic current for ``conductance`` at membrane potential ``potential``."""
        raise NotImplementedError

    def _param(self, name, value, spec):
        setattr(self, name, check_param(type(self).__name__, name, value, spec))


class COBA(SynOut):
    r"""Conductance-based output: :math:`I = g\,(E - V)`.

    Parameters
    ----------
    E : Quantity
        Reversal potential (a voltage; e.g. 0 mV excitatory, -80 mV inhibitory).

    Notes
    -----
    Use physiological units: a conductance in nS times a voltage in mV is a
    current in pA, which a neuron with ``R`` in MOhm turns into millivolts.
    (brainpy.state's own COBA examples use mS weights on a neuron with
    R = 1 ohm, which makes the synaptic drive 1000x too small.)

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> out = lapicque.COBA(E=0. * u.mV)
    >>> out.bind_cond(6. * u.nS)
    >>> print(out(-60. * u.mV))
    360. pA
    """

    __module__ = "lapicque"

    def __init__(self, E):
        super().__init__()
        self._param("E", E, Param(u.mV))

    def update(self, conductance, potential):
        """:math:`g (E - V)`."""
        return conductance * (self.E - potential)


class CUBA(SynOut):
    r"""Current-based output: :math:`I = g \cdot \text{scale}`, independent of ``V``.

    Parameters
    ----------
    scale : Quantity or float, default ``u.volt``
        Factor turning the synaptic variable into a current (1 V turns siemens into amperes).

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> out = lapicque.CUBA(scale=u.mV)
    >>> out.bind_cond(50. * u.nS)
    >>> print(out(-60. * u.mV))
    50. pA
    """

    __module__ = "lapicque"

    def __init__(self, scale=u.volt):
        super().__init__()
        if isinstance(scale, u.Unit):
            scale = 1. * scale
        self._param("scale", scale, Param(ANY_UNIT))

    def update(self, conductance, potential=None):
        """:math:`g \\cdot \\text{scale}`."""
        return conductance * self.scale


class MgBlock(SynOut):
    r"""Conductance output with the voltage-dependent magnesium block of NMDA receptors (Jahr & Stevens 1990).

    .. math::

        I = g\,(E - V)\,\Big/\,\Big(1 + \frac{[\mathrm{Mg}^{2+}]_o}{\beta}\,
        e^{-\alpha (V - V_{offset})}\Big)

    Parameters
    ----------
    E : Quantity or float, default 0.
        Reversal potential (a plain number is in mV).
    cc_Mg : Quantity or float, default 1.2
        Extracellular magnesium concentration (>= 0; a plain number is in mM).
    alpha : Quantity or float, default 0.062
        Voltage sensitivity (>= 0; a plain number is in 1/mV).
    beta : Quantity or float, default 3.57
        Magnesium dissociation constant (> 0; a plain number is in mM).
    V_offset : Quantity or float, default 0.
        Voltage offset (a plain number is in mV).

    Notes
    -----
    The reference's defaults are plain numbers; with a membrane potential in
    volts units its block factor raises (``exp`` of a voltage).  Here plain
    numbers are taken in the units stated above and quantities are converted,
    so the defaults work with ``V`` in mV; with a plain-number ``V`` (a
    dimensionless model) everything is used as given.

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> out = lapicque.MgBlock(E=0. * u.mV)
    >>> out.bind_cond(1. * u.nS)
    >>> print(out(-65. * u.mV))     # 65 pA unblocked, ~95 % blocked at rest
    3.2644...pA
    """

    __module__ = "lapicque"

    def __init__(self, E=0., cc_Mg=1.2, alpha=0.062, beta=3.57, V_offset=0.):
        super().__init__()
        mV, mM = u.mV, u.mM
        self._param("E", E, Param(mV, plain_unit=mV))
        self._param("V_offset", V_offset, Param(mV, plain_unit=mV))
        self._param("cc_Mg", cc_Mg, Param(mM, "nonnegative", plain_unit=mM))
        self._param("alpha", alpha, Param(mV ** -1, "nonnegative", plain_unit=mV ** -1))
        self._param("beta", beta, Param(mM, "positive", plain_unit=mM))

    def update(self, conductance, potential):
        """:math:`g (E - V) / (1 + [Mg]/\\beta \\, e^{-\\alpha (V - V_{offset})})`."""
        owner = type(self).__name__
        m = {name: param_mantissa(owner, name, getattr(self, name), Param(unit, plain_unit=unit))
             for name, unit in (("E", u.mV), ("V_offset", u.mV), ("cc_Mg", u.mM), ("alpha", u.mV ** -1),
                                ("beta", u.mM))}
        if isinstance(potential, u.Quantity):
            V = param_mantissa(owner, "potential", potential, Param(u.mV))
            unit = u.mV
        else:
            V, unit = jnp.asarray(potential), None
        block = 1. + m["cc_Mg"] / m["beta"] * jnp.exp(m["alpha"] * (m["V_offset"] - V))
        drive = (m["E"] - V) / block
        return conductance * (drive if unit is None else u.Quantity(drive, unit=unit))


__test__ = {name: globals()[name] for name in __all__}
