"""The input registry shared by neurons, synapses and every other dynamics.

:class:`Dynamics` is :class:`brainstate.nn.Dynamics` plus the current and
delta input registry that the seed's ``Neuron`` documents and that
brainstate dropped in 0.2.2: projections register callables (e.g. a
conductance output that is a function of the membrane potential) or plain
values with :meth:`~Dynamics.add_current_input` / :meth:`~Dynamics.add_delta_input`,
and the owner sums them once per step with :meth:`~Dynamics.sum_current_inputs` /
:meth:`~Dynamics.sum_delta_inputs`.  The owner does not know who registered
what, so a neuron never needs to know that projections exist.
"""

from __future__ import annotations

from typing import Optional

import brainstate

__all__ = ["Dynamics"]


class Dynamics(brainstate.nn.Dynamics):
    """A brainstate dynamics with the current / delta input registry.

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of the group.
    name : str, optional
        Name of the module.

    Notes
    -----
    A callable input persists and is called at every step with the
    arguments the owner passes (neurons pass the membrane potential); a plain
    value is added once and then dropped.  Keys are unique: registering a
    second object under a key in use is an error.

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> d = lapicque.Dynamics(3)
    >>> d.add_current_input("bias", 1. * u.mA)
    >>> print(d.sum_current_inputs(0. * u.mA))
    1. mA
    >>> d.current_inputs
    {}
    """

    __module__ = "lapicque"

    def __init__(self, in_size, name: Optional[str] = None):
        super().__init__(in_size=in_size, name=name)
        self._current_inputs = None
        self._delta_inputs = None

    @property
    def current_inputs(self):
        """Registered current inputs (``dict`` or ``None``)."""
        return self._current_inputs

    @property
    def delta_inputs(self):
        """Registered delta inputs (``dict`` or ``None``)."""
        return self._delta_inputs

    @staticmethod
    def _input_key(key, label):
        return key if label is None else f"{label} // {key}"

    def _add_input(self, registry: str, key, inp, label):
        key = self._input_key(key, label)
        reg = getattr(self, registry)
        if reg is None:
            reg = {}
            setattr(self, registry, reg)
        if key in reg and reg[key] is not inp:
            kind = "current" if registry == "_current_inputs" else "delta"
            raise ValueError(
                f"{type(self).__name__}: the {kind} input key {key!r} is already registered with another "
                f"object; use a new key or remove the old input first."
            )
        reg[key] = inp

    def add_current_input(self, key: str, inp, label: Optional[str] = None):
        """Register a current input.

        Parameters
        ----------
        key : str
            Identifier; re-registering the same key with another object is an error.
        inp : callable or quantity
            A callable is kept and called with the membrane potential at every
            step; a plain value is added once and then dropped.
        label : str, optional
            Group label; :meth:`sum_current_inputs` can select by label.

        Notes
        -----
        "Used once" means once per *trace*: inside a compiled loop
        (``brainstate.transform.for_loop``) the step is traced once, so a plain
        value registered before the loop is baked into every iteration (as in
        the reference).  Pass time-varying input as ``update``'s argument, or
        register it inside the loop body.
        """
        self._add_input("_current_inputs", key, inp, label)

    def add_delta_input(self, key: str, inp, label: Optional[str] = None):
        """Register a delta input (an instantaneous jump added to ``V``).

        Same rules as :meth:`add_current_input`.
        """
        self._add_input("_delta_inputs", key, inp, label)

    def get_input(self, key: str):
        """Return the registered current or delta input stored under ``key``."""
        for reg in (self._current_inputs, self._delta_inputs):
            if reg is not None and key in reg:
                return reg[key]
        raise ValueError(f"{type(self).__name__}: no current or delta input is registered as {key!r}.")

    def _sum_inputs(self, registry, init, args, label, kwargs):
        reg = getattr(self, registry)
        if not reg:
            return init
        prefix = None if label is None else f"{label} // "
        for key in tuple(reg):
            if prefix is not None and not key.startswith(prefix):
                continue
            inp = reg[key]
            if callable(inp):
                init = init + inp(*args, **kwargs)
            else:
                init = init + inp
                reg.pop(key)
        return init

    def sum_current_inputs(self, init, *args, label: Optional[str] = None, **kwargs):
        """Add every registered current input to ``init`` and return the sum.

        Callables are called as ``inp(*args, **kwargs)`` (the models pass the
        membrane potential); plain values are added once and removed.  With
        ``label`` only inputs registered under that label are used.
        """
        return self._sum_inputs("_current_inputs", init, args, label, kwargs)

    def sum_delta_inputs(self, init, *args, label: Optional[str] = None, **kwargs):
        """Add every registered delta input to ``init``; same rules as currents."""
        return self._sum_inputs("_delta_inputs", init, args, label, kwargs)
