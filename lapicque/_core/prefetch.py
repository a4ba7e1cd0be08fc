r"""Delayed reads of a dynamics' state or output, in whole steps of the lapicque delay rule.

``module.prefetch_delay('g', 2 * u.ms)`` returns a callable that, at every step,
gives the value ``g`` had ``D`` updates of ``module`` ago, with

.. math::

    D = \lfloor d / dt + 1/2 \rfloor

counted exactly for the decimals written (:mod:`lapicque._core.delay_rule`: the
rule of every lapicque delay).  A :class:`History` (a ring buffer of
``max D + 1`` past values) is registered as an after-update hook of the module,
so it records the value at the end of each call ``module(x)``; a read between two
calls returns the value recorded ``D`` calls before the latest one.  In a
brainpy.state-style loop (projections first, then the groups) a projection read
at step ``n`` therefore sees the value of step ``n - 1 - D``: with ``D = 0`` the
latest value, as ``module.prefetch('g')`` would give.

brainstate's own ``prefetch_delay`` counts ``ceil(d / dt)`` steps in floating
point: ``0.24 ms`` at ``dt = 0.1 ms`` is 3 steps there and 2 here, and
``0.07 ms`` at ``dt = 0.01 ms`` in float64 is 8 steps there (the quotient is
``7.000000000000001``) and exactly 7 here.

The steps are computed at ``init_state`` from ``brainstate.environ``'s ``dt``, as
for the projections' delay lines; the buffer holds the value before the first
update (by default the state's initial value, so a delayed ``V`` reads the
resting potential, not 0 mV) until the delay has elapsed.
"""

from __future__ import annotations

from typing import Optional

import brainstate
import braintools
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .delay_rule import check_delay, delay_steps
from .environ import dt_ms

__all__ = ["History", "DelayedRead", "Prefetch", "history_of", "check_interpolation", "describe"]


def describe(module) -> str:
    """``'LIF'`` or ``"LIF 'exc'"``: a module's class, and its name when it has one (for messages)."""
    name = getattr(module, "name", None)
    return type(module).__name__ + (f" {name!r}" if name else "")


#: what the reference's delayed reads accept as ``interpolation``: they read whole steps whatever it says
_WHOLE_STEPS = (None, "round", "nearest")


class History(brainstate.nn.Module):
    """A ring buffer of the past values of one State of ``owner`` (or of its output).

    Registered as an after-update hook of ``owner``: it records the value after
    each call ``owner(x)``.  Readers register their delays with :meth:`register`
    and read with :meth:`read`.

    Parameters
    ----------
    owner : brainstate.nn.Dynamics
        The module whose state (or output) is recorded.
    item : str or None
        Name of the State attribute; ``None`` records the output of ``owner.update``.
    init : initializer, Quantity, array or None
        The value before the first update: ``None`` is the state's value at
        ``init_state`` (zeros for an output); otherwise anything
        ``braintools.init.param`` accepts, in the state's unit.
    """

    def __init__(self, owner, item: Optional[str], init=None):
        super().__init__()
        self.target = owner
        self.item = item
        self.init = init
        self.label = describe(owner) + ("" if item is None else f".{item}")
        self.delays_ms = []
        self.steps = None
        self.buffer = None
        self.pointer = None
        self.unit = None
        if item is not None:  # brainstate calls an after-update hook without the owner's output
            self._not_receive_update_output = True

    # --- registration ----------------------------------------------------
    def register(self, delay) -> int:
        """Validate a delay (a time, scalar or one per element) and return its handle for :meth:`read`."""
        d = check_delay(delay, f"{self.label} (delayed read)")
        self.delays_ms.append(np.zeros(()) if d is None else d)
        if self.buffer is not None:  # registered after init_state: it must fit in the buffer as allocated
            steps = delay_steps(self.delays_ms[-1], float(dt_ms()))
            if int(np.max(steps, initial=0)) >= self.buffer.value.shape[0]:
                self.delays_ms.pop()
                raise RuntimeError(f"{self.label}: a delayed read of {delay} is longer than the history allocated at "
                                   f"init_state; create delayed reads before brainstate.nn.init_all_states(...) or "
                                   f"initialize the states again.")
            self.steps.append(steps)
        return len(self.delays_ms) - 1

    # --- states ------------------------------------------------------------
    def _source(self, batch_size):
        """The recorded value now: the State's value, or zeros shaped like the output (for allocation)."""
        if self.item is None:
            shape = ((batch_size,) if batch_size is not None else ()) + tuple(self.target.out_size)
            return jnp.zeros(shape, brainstate.environ.dftype())
        state = getattr(self.target, self.item, None)
        if not isinstance(state, brainstate.State):
            raise TypeError(f"{self.label}: {type(self.target).__name__} has no State {self.item!r} to delay (got "
                            f"{type(state).__name__}); name a state such as 'V' or 'g', after init_state.")
        return state.value

    def _fill(self, value):
        """The value before the first update, as a mantissa in ``self.unit`` (which an output's init may set)."""
        if self.init is None:
            return jnp.asarray(u.get_mantissa(value))
        fill = braintools.init.param(self.init, tuple(np.shape(value)))
        if self.item is None and self.unit is None and isinstance(fill, u.Quantity):
            self.unit = u.get_unit(fill)
        if isinstance(fill, u.Quantity):
            if self.unit is not None and u.have_same_dim(fill, self.unit):
                return jnp.asarray(fill.to_decimal(self.unit))
        elif self.unit is None or self.unit.is_unitless or not np.any(np.asarray(fill)):
            return jnp.asarray(fill)  # a plain number: a unitless state, or zeros
        raise TypeError(f"{self.label}: init must be in the unit of the state ({self.unit}); got {self.init!r}.")

    def _allocate(self, batch_size):
        value = self._source(batch_size)
        mantissa = jnp.asarray(u.get_mantissa(value))
        self.unit = u.get_unit(value) if self.item is not None else None  # an output's unit: from its first value
        self.steps = [delay_steps(d, float(dt_ms())) for d in self.delays_ms]
        length = 1 + max((int(np.max(s, initial=0)) for s in self.steps), default=0)
        fill = jnp.broadcast_to(self._fill(value).astype(mantissa.dtype), mantissa.shape)
        return jnp.broadcast_to(fill, (length,) + mantissa.shape)

    @brainstate.nn.call_order(3)
    def init_state(self, batch_size=None, **kwargs):
        """Compute every registered delay in steps and allocate ``max D + 1`` slots (after the owner's states)."""
        self.buffer = brainstate.ShortTermState(self._allocate(batch_size))
        self.pointer = brainstate.ShortTermState(jnp.asarray(0, dtype=jnp.int32))

    @brainstate.nn.call_order(3)
    def reset_state(self, batch_size=None, **kwargs):
        """Forget the past: refill the buffer with the value before the first update (same State objects)."""
        if self.buffer is None:
            return self.init_state(batch_size)
        self.buffer.value = self._allocate(batch_size)
        self.pointer.value = jnp.zeros_like(self.pointer.value)

    # --- running -----------------------------------------------------------
    def update(self, output=None):
        """Record the owner's current value (its state, or ``output``)."""
        value = self._source(None) if self.item is not None else output
        if self.unit is None:
            self.unit = u.get_unit(value)
        if isinstance(value, u.Quantity) or not self.unit.is_unitless:
            value = u.Quantity(value).to_decimal(self.unit)
        buf, ptr = self.buffer.value, self.pointer.value
        self.buffer.value = buf.at[ptr].set(jnp.asarray(value).astype(buf.dtype))
        self.pointer.value = (ptr + 1) % buf.shape[0]

    def read(self, handle: int, *indices):
        """The value recorded ``D`` updates before the latest one, for the delay registered as ``handle``."""
        if self.buffer is None or self.steps is None:
            raise RuntimeError(f"{self.label}: call init_state() (e.g. brainstate.nn.init_all_states(net)) before "
                               f"reading a delayed value.")
        buf = self.buffer.value
        slot = (self.pointer.value - 1 - jnp.asarray(self.steps[handle])) % buf.shape[0]
        data = buf[(slot,) + tuple(indices)]
        return data if self.unit is None else u.maybe_decimal(u.Quantity(data, unit=self.unit))


def history_of(owner, item: Optional[str], init=None) -> History:
    """The :class:`History` of ``owner.item`` (``None``: of its output), created and registered on first use."""
    key = f"lapicque-history-{item if item is not None else '<output>'}"
    if not owner.has_after_update(key):
        owner.add_after_update(key, History(owner, item, init))
    history = owner.get_after_update(key)
    if init is not None and history.init is not None and history.init is not init and repr(history.init) != repr(init):
        raise ValueError(f"{history.label}: the delayed reads of one state share one history and one init; got "
                         f"init={init!r} after init={history.init!r}.")
    if init is not None:
        history.init = init
    return history


def check_interpolation(interpolation, owner_label: str):
    """Delayed reads are whole steps: accept the names that mean that, refuse the others with the fix."""
    if interpolation not in _WHOLE_STEPS:
        raise ValueError(
            f"{owner_label}: delayed reads are whole steps (floor(d/dt + 1/2)); interpolation={interpolation!r} is "
            f"not done (brainstate's prefetch_delay ignores it too and reads ceil(d/dt) steps). Drop the argument.")


class DelayedRead(brainstate.nn.PrefetchDelayAt):
    """A callable that returns ``module.item`` (or its output) ``D`` steps ago.

    It is a ``brainstate.nn.PrefetchDelayAt`` (brainpy.state's ``CurrentProj``
    requires one as its last prefetch), but counts steps with lapicque's rule in
    a :class:`History` instead of brainstate's ``StateWithDelay``.

    Parameters
    ----------
    module : brainstate.nn.Dynamics
        The module whose state or output is read.
    item : str or None
        The State's name; ``None`` reads the output.
    *time_and_index
        The delay (a time, scalar or one per element), then integer indices applied
        after the delay (as ``brainstate.nn.Delay.retrieve_at_step``); none: the
        current value.
    init : optional
        The value before the first update (see :class:`History`).
    """

    def __init__(self, module, item: Optional[str], *time_and_index, init=None):
        brainstate.graph.Node.__init__(self)  # brainstate's __init__ would register its own ceil(d/dt) buffer
        self.module = module
        self.item = item
        if len(time_and_index) == 1 and isinstance(time_and_index[0], (tuple, list)):
            time_and_index = tuple(time_and_index[0])
        self.delay_time = tuple(time_and_index)
        self.history = None
        if item is None and not self.delay_time:  # the output has no State to read now: record it, read D = 0
            self.delay_time = (None,)
        if self.delay_time and (self.delay_time[0] is not None or item is None):
            self.indices = tuple(jnp.asarray(i) for i in self.delay_time[1:])
            for i in self.indices:
                if not jnp.issubdtype(i.dtype, jnp.integer):
                    raise TypeError(f"{type(module).__name__}: the indices after the delay must be integers; got "
                                    f"{i.dtype}.")
            self.history = history_of(module, item, init)
            self.handle = self.history.register(self.delay_time[0])

    def __call__(self, *args, **kwargs):
        if self.history is not None:
            return self.history.read(self.handle, *self.indices)
        value = getattr(self.module, self.item)
        return value.value if isinstance(value, brainstate.State) else value


class _PrefetchDelay:
    """``module.prefetch(item).delay``: its ``at(time)`` is ``module.prefetch_delay(item, time)``."""

    def __init__(self, module, item):
        self.module, self.item = module, item

    def at(self, *time_and_index):
        return self.module.prefetch_delay(self.item, *time_and_index)


class Prefetch(brainstate.nn.Prefetch):
    """``brainstate.nn.Prefetch`` whose ``.delay.at(time)`` counts steps with lapicque's rule."""

    @property
    def delay(self):
        return _PrefetchDelay(self.module, self.item)


__test__ = {name: globals()[name] for name in ("History", "DelayedRead", "Prefetch")}
