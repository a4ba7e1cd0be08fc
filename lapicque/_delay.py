"""Delays in whole steps: the one delay rule of every projection.

The rule
--------
A projection with ``delay = d`` delivers what it is given at step ``n`` at
step ``n + D`` with

.. math::

    D = \\lfloor d / dt + 1/2 \\rfloor \\qquad (\\text{round half up, in whole steps}),

computed once at ``init_state`` from ``brainstate.environ``'s ``dt``.  Rounding
(not truncation) makes ``0.3 ms / 0.1 ms = 2.9999...`` three steps, the
floating-point error behind projection delays that came out short in
brainpy (issue #709).  ``delay=None`` and ``delay=0 * u.ms`` are the same:
``D = 0``, the input goes straight to ``comm``.

What "the same step" means: in a brainpy.state-style network a projection is
called at step ``n`` with the spikes that the presynaptic group emitted at the
end of step ``n - 1`` (``pre.get_spike()``), and with ``D = 0`` the synapse
jumps in step ``n`` before the postsynaptic group integrates, so the first
integration that feels a spike of the step labelled ``t_s`` starts at
``t_s + dt + d``.  Brian2's schedule gives the same timing for its ``delay``
(the spike is pushed at ``t_s`` after the state update and applied ``d``
later), so ``delay`` means the same thing in both simulators.

A ``(N_pre,)`` array of delays (one axonal delay per presynaptic element) uses
the same rule element-wise.
"""

from __future__ import annotations

import brainstate
import jax.numpy as jnp
import numpy as np
import saiunit as u

from ._base import env_dt_ms

__all__ = []


def check_delay(delay, owner: str, n_pre=None):
    """Validate a projection delay at construction; return it in ms (numpy) or ``None``.

    Parameters
    ----------
    delay : Quantity or None
        A non-negative, finite time: a scalar, or one value per presynaptic element.
    owner : str
        The projection's name, for error messages.
    n_pre : int, optional
        Number of presynaptic elements, when known, to check a per-element delay.
    """
    if delay is None:
        return None
    if not isinstance(delay, u.Quantity):
        if np.ndim(delay) == 0 and isinstance(delay, (int, float, np.number)) and delay == 0:
            return np.zeros(())
        raise TypeError(
            f"{owner}: delay must be a time such as 1.5 * u.ms (or None for no delay); got {delay!r}. "
            f"lapicque does not guess units.")
    if not u.have_same_dim(delay, u.ms):
        raise TypeError(f"{owner}: delay must be a time such as 1.5 * u.ms; got {delay} (wrong physical dimension).")
    d = np.asarray(delay.to_decimal(u.ms), dtype=float)
    if d.ndim > 1:
        raise ValueError(f"{owner}: delay must be a scalar or a 1-D array (one per presynaptic element); "
                         f"got shape {d.shape}.")
    if d.ndim == 1 and n_pre is not None and d.shape[0] != n_pre:
        raise ValueError(f"{owner}: a per-element delay needs one value per presynaptic element ({n_pre}); "
                         f"got {d.shape[0]} values.")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError(f"{owner}: delay must be finite and non-negative; got {delay}.")
    return d


def delay_steps(delay_ms, dt_ms) -> np.ndarray:
    """The delay rule: ``floor(d / dt + 1/2)`` whole steps (numpy ints)."""
    return np.floor(np.asarray(delay_ms, dtype=float) / float(dt_ms) + 0.5).astype(int)


def _empty(line, batch_size, in_size):
    """Zero a delay buffer and its pointer in place (or create them on first use)."""
    if getattr(line, "buffer", None) is None:
        return line.init_state(batch_size)
    shape = line.buffer.value.shape[:1] + ((batch_size,) if batch_size is not None else ()) + tuple(in_size)
    line.buffer.value = jnp.zeros(shape, line.buffer.value.dtype)
    line.pointer.value = jnp.zeros_like(line.pointer.value)


def _push(line, x, read, before: bool = False):
    """Store ``x`` at the line's pointer, advance the pointer, and return ``read(buffer, pointer)``.

    ``read`` sees the buffer after the write, or before it with ``before=True``
    (a line of exactly ``D`` slots reads the slot it is about to overwrite).
    """
    buf, ptr = line.buffer.value, line.pointer.value
    x_in = jnp.asarray(x)
    written = buf.at[ptr].set(x_in.astype(buf.dtype))
    out = read(buf if before else written, ptr)
    line.buffer.value = written
    line.pointer.value = (ptr + 1) % buf.shape[0]
    return out.astype(x_in.dtype)


class DelayLine(brainstate.nn.Module):
    """A ring buffer that returns its input ``D`` steps later (the delay rule above).

    Parameters
    ----------
    in_size : int or tuple of int
        Shape of one step's input (its last axis is the presynaptic axis).
    delay : Quantity or None
        Scalar delay, or one per element of the last axis.
    owner : str
        The projection's name, for error messages.

    Examples
    --------
    >>> import brainstate, saiunit as u, jax.numpy as jnp
    >>> from lapicque._delay import DelayLine
    >>> brainstate.environ.set(dt=0.1 * u.ms)
    >>> line = DelayLine(2, 0.2 * u.ms, "demo")
    >>> line.init_state()
    >>> [line.update(jnp.array([float(i), 0.]))[0].item() for i in range(1, 5)]
    [0.0, 0.0, 1.0, 2.0]
    """

    def __init__(self, in_size, delay, owner: str):
        super().__init__()
        self.in_size = (in_size,) if isinstance(in_size, (int, np.integer)) else tuple(in_size)
        self.owner = owner
        self.delay_ms = check_delay(delay, owner, self.in_size[-1])
        self.steps = None
        self.buffer = None

    def init_state(self, batch_size=None, **kwargs):
        self.steps = delay_steps(self.delay_ms, float(env_dt_ms()))
        length = int(self.steps.max()) if self.steps.size else 0
        if length == 0:
            return
        shape = self.in_size if batch_size is None else (batch_size,) + self.in_size
        # a scalar delay reads the slot it is about to overwrite; per-element delays need one slot more
        length = length if self.steps.ndim == 0 else length + 1
        self.buffer = brainstate.ShortTermState(jnp.zeros((length,) + shape, brainstate.environ.dftype()))
        self.pointer = brainstate.ShortTermState(jnp.asarray(0, dtype=jnp.int32))

    def reset_state(self, batch_size=None, **kwargs):
        """Empty the line (nothing in flight); keeps the State objects."""
        _empty(self, batch_size, self.in_size)

    def update(self, x):
        if self.steps is None:
            raise RuntimeError(f"{self.owner}: call init_state() (e.g. brainstate.nn.init_all_states(net)) before "
                               f"running a projection with a delay.")
        if int(self.steps.max()) == 0:
            return x
        if self.steps.ndim == 0:
            return _push(self, x, lambda buf, ptr: buf[ptr], before=True)

        def per_element(buf, ptr):
            rows = (ptr - jnp.asarray(self.steps)) % buf.shape[0]
            return jnp.moveaxis(buf[rows, ..., jnp.arange(self.in_size[-1])], 0, -1)
        return _push(self, x, per_element)


class EdgeDelays(brainstate.nn.Module):
    """Per-connection delays: the input history read at each distinct delay (in steps).

    ``update(x)`` stores ``x`` (shape ``(..., n_pre)``) and returns the inputs of
    ``D_1, D_2, ...`` steps ago side by side, shape ``(..., G * n_pre)``, where
    ``D_g`` are the distinct delays of the connections (the delay rule above); a
    connection with delay ``D_g`` then reads row block ``g`` of a stacked matrix.

    Parameters
    ----------
    n_pre : int
        Number of presynaptic elements.
    delay_ms : array
        One non-negative delay per connection, in ms (see :func:`check_delay`).
    owner : str
        Name for error messages.
    """

    def __init__(self, n_pre: int, delay_ms, owner: str):
        super().__init__()
        self.n_pre, self.delay_ms, self.owner = int(n_pre), np.asarray(delay_ms, float), owner
        self.steps = self.groups = self.buffer = None

    def init_state(self, batch_size=None, **kwargs):
        self.steps = delay_steps(self.delay_ms, float(env_dt_ms()))
        self.groups = np.unique(self.steps)
        shape = (self.n_pre,) if batch_size is None else (batch_size, self.n_pre)
        self.buffer = brainstate.ShortTermState(
            jnp.zeros((int(self.groups.max()) + 1,) + shape, brainstate.environ.dftype()))
        self.pointer = brainstate.ShortTermState(jnp.asarray(0, dtype=jnp.int32))

    def reset_state(self, batch_size=None, **kwargs):
        """Empty the history (nothing in flight); keeps the State objects."""
        _empty(self, batch_size, (self.n_pre,))

    def update(self, x):
        if self.buffer is None:
            raise RuntimeError(f"{self.owner}: call init_state() (e.g. brainstate.nn.init_all_states(net)) before "
                               f"using per-connection delays.")

        def side_by_side(buf, ptr):
            out = jnp.moveaxis(buf[(ptr - jnp.asarray(self.groups)) % buf.shape[0]], 0, -2)  # (..., G, n_pre)
            return out.reshape(out.shape[:-2] + (-1,))
        return _push(self, x, side_by_side)
