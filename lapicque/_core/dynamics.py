"""The input registry shared by neurons, synapses and every other dynamics.

:class:`Dynamics` is :class:`brainstate.nn.Dynamics` plus the current and
delta input registry that the seed's ``Neuron`` documents and that
brainstate dropped in 0.2.2: projections register callables (e.g. a
conductance output that is a function of the membrane potential) or plain
values with :meth:`~Dynamics.add_current_input` / :meth:`~Dynamics.add_delta_input`,
and the owner sums them once per step with :meth:`~Dynamics.sum_current_inputs` /
:meth:`~Dynamics.sum_delta_inputs`.  The owner does not know who registered
what, so a neuron never needs to know that projections exist.

It also carries brainpy.state's presynaptic idiom: :meth:`~Dynamics.align_pre`
runs a synapse (or any dynamics) after the group's update on its output, and
:meth:`~Dynamics.prefetch_delay` reads a state some steps ago with lapicque's
delay rule (:mod:`lapicque._core.prefetch`), so
``pre.align_pre(STD.desc(...)).align_pre(AMPA(...)).prefetch_delay('g', 2 * u.ms)``
feeds a projection with the presynaptic conductance.  Both are built from
brainstate's after-update hooks: this layer needs nothing from the network layer.
"""

from __future__ import annotations

from typing import Optional

import brainstate
from brainstate.mixin import ParamDescriber

from .prefetch import DelayedRead, Prefetch, check_interpolation, describe

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

    def _sum_inputs(self, registry, init, args, label, pop, kwargs):
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
                if pop:
                    reg.pop(key)
        return init

    def sum_current_inputs(self, init, *args, label: Optional[str] = None, pop: bool = True, **kwargs):
        """Add every registered current input to ``init`` and return the sum.

        Callables are called as ``inp(*args, **kwargs)`` (the models pass the
        membrane potential); plain values are added once and removed (kept with
        ``pop=False``).  With ``label`` only inputs registered under that label are used.
        """
        return self._sum_inputs("_current_inputs", init, args, label, pop, kwargs)

    def sum_delta_inputs(self, init, *args, label: Optional[str] = None, pop: bool = True, **kwargs):
        """Add every registered delta input to ``init``; same rules as currents."""
        return self._sum_inputs("_delta_inputs", init, args, label, pop, kwargs)

    # --- the presynaptic idiom: align_pre, prefetch, delayed reads ------------
    def _check_aligned(self, dyn):
        shape = getattr(dyn, "varshape", None)
        if shape is not None and tuple(shape) != tuple(self.out_size):
            raise ValueError(
                f"{type(self).__name__}.align_pre: {type(dyn).__name__} has size {tuple(shape)} but receives the "
                f"output of {describe(self)}, of size {tuple(self.out_size)}; give it in_size="
                f"{tuple(self.out_size)} (or a descriptor without in_size, which takes this group's).")

    def align_pre(self, dyn):
        r"""Run ``dyn`` after every call of this group, on its output; return ``dyn``.

        ``pre(x)`` then runs ``pre.update(x)`` and ``dyn(output)``, so a synapse
        aligned to a neuron group is driven by its spikes, and calls chain:
        ``pre.align_pre(STD.desc(U=0.07)).align_pre(AMPA(n))`` runs STD on the spikes
        and AMPA on what STD releases.  A descriptor (``STD.desc(...)``) is built
        once per group (with ``in_size`` = this group's shape when it has none)
        and shared by later calls with the same descriptor; an instance is
        registered once.

        Parameters
        ----------
        dyn : brainstate.nn.Dynamics or ParamDescriber
            A lapicque synapse, plasticity or neuron (any ``brainstate.nn.Dynamics``)
            or its descriptor.

        Returns
        -------
        The registered instance (built from the descriptor, or ``dyn``).

        Notes
        -----
        Call the group as ``pre(x)``: ``pre.update(x)`` skips the after-update hooks,
        as in brainpy.state.  ``dyn``'s size must be this group's output size.

        Examples
        --------
        >>> import brainstate, saiunit as u, lapicque
        >>> brainstate.environ.set(dt=0.1 * u.ms)
        >>> pre = lapicque.LIF(2, V_th=-50. * u.mV, V_reset=-60. * u.mV, V_rest=-60. * u.mV)
        >>> std = pre.align_pre(lapicque.STD.desc(U=0.5))
        >>> pre.align_pre(lapicque.STD.desc(U=0.5)) is std      # the same descriptor: one STD
        True
        >>> brainstate.nn.init_all_states(pre)
        LIF(...)
        >>> pre.V.value = u.math.asarray([-40., -60.]) * u.mV      # neuron 0 spikes at its next step
        >>> with brainstate.environ.context(t=0. * u.ms):
        ...     _ = pre(0. * u.nA)
        >>> print(std.x.value)                                     # half of neuron 0's resources used
        [0.5 1. ]
        """
        if isinstance(dyn, ParamDescriber):
            if not (isinstance(dyn.cls, type) and issubclass(dyn.cls, brainstate.nn.Dynamics)):
                raise TypeError(f"{type(self).__name__}.align_pre: the descriptor must build a dynamics (a synapse, "
                                f"STD/STP, a neuron); got a descriptor of {dyn.cls!r}.")
            if not self.has_after_update(dyn.identifier):
                made = dyn() if ("in_size" in dyn.kwargs or dyn.args) else dyn(in_size=self.varshape)
                self._check_aligned(made)
                self.add_after_update(dyn.identifier, made)
            return self.get_after_update(dyn.identifier)
        if isinstance(dyn, brainstate.nn.Dynamics):
            if not self.has_after_update(id(dyn)):
                self._check_aligned(dyn)
                self.add_after_update(id(dyn), dyn)
            return dyn
        raise TypeError(f"{type(self).__name__}.align_pre: expected a dynamics (e.g. lapicque.AMPA(n)) or its "
                        f"descriptor (e.g. lapicque.STD.desc(U=0.07)); got {dyn!r}.")

    def prefetch(self, item: str):
        """A reference to ``self.<item>`` read when called; ``.delay.at(t)`` is :meth:`prefetch_delay`.

        Examples
        --------
        >>> import saiunit as u, lapicque
        >>> syn = lapicque.Expon(2)
        >>> syn.init_state()
        >>> print(syn.prefetch('g')())
        [0. 0.] mS
        """
        return Prefetch(self, item)

    def _delay_options(self, interpolation, kwargs):
        check_interpolation(interpolation, describe(self))
        if kwargs.pop("update_every", None) is not None:
            raise ValueError(f"{type(self).__name__}: lapicque records delayed values every step; update_every is "
                             f"not supported (drop it).")
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(kwargs)} for a delayed read.")

    def prefetch_delay(self, state: str, *time_and_index, init=None, interpolation=None, **kwargs):
        r"""A callable that returns ``self.<state>`` as it was ``D`` steps ago.

        ``D = floor(delay / dt + 1/2)``, exactly for the decimals written (the rule of
        every lapicque delay; brainstate's own counts ``ceil(delay / dt)`` in floats).
        The value is recorded after each call ``self(x)``; in a loop that calls the
        projections before the groups, a read at step ``n`` gives the value at the
        end of step ``n - 1 - D``.

        Parameters
        ----------
        state : str
            Name of the State, e.g. ``'g'`` or ``'V'``.
        *time_and_index
            The delay (a time: scalar, or one per element), then optional integer
            indices applied to the delayed value; nothing: the current value.
        init : optional
            The value before the first update, in the state's unit (default: the
            state's value at ``init_state``).
        interpolation : None, 'round' or 'nearest'
            Reads are whole steps; other values are refused (brainstate ignores them here).

        Returns
        -------
        DelayedRead
            Call it (or pass it to a projection as its first module) to read.

        Examples
        --------
        >>> import brainstate, saiunit as u, lapicque
        >>> brainstate.environ.set(dt=0.1 * u.ms)
        >>> syn = lapicque.Expon(1, tau=5. * u.ms)
        >>> late = syn.prefetch_delay('g', 0.25 * u.ms)      # floor(2.5 + 1/2) = 3 steps
        >>> syn.init_state(); late.history.init_state()
        >>> reads = []
        >>> for i in range(5):
        ...     reads.append(float(late()[0].to_decimal(u.nS)))
        ...     _ = syn(1. * u.nS if i == 0 else None)          # g = 1 nS after the first step
        >>> reads                                                # 1 nS shows 3 steps after it was recorded
        [0.0, 0.0, 0.0, 0.0, 1.0]
        """
        self._delay_options(interpolation, kwargs)
        return DelayedRead(self, state, *time_and_index, init=init)

    def output_delay(self, *time_and_index, init=None, interpolation=None, **kwargs):
        """A callable that returns the output of :meth:`update` ``D`` steps ago (the rule of :meth:`prefetch_delay`).

        Examples
        --------
        >>> import brainstate, saiunit as u, lapicque
        >>> brainstate.environ.set(dt=0.1 * u.ms)
        >>> syn = lapicque.Expon(1)
        >>> late = syn.output_delay(0.1 * u.ms)
        >>> brainstate.nn.init_all_states(syn)
        Expon(...)
        >>> _ = syn(2. * u.nS); _ = syn(None)
        >>> print(late().to(u.nS))                               # the output of the first call
        [2.] nS
        """
        self._delay_options(interpolation, kwargs)
        return DelayedRead(self, None, *time_and_index, init=init)


__test__ = {"Dynamics": Dynamics}
