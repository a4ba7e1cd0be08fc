"""Delays in whole steps: the one delay rule of every projection.

The rule
--------
A projection with ``delay = d`` delivers what it is given at step ``n`` at
step ``n + D`` with

.. math::

    D = \\lfloor d / dt + 1/2 \\rfloor \\qquad (\\text{round half up, in whole steps}),

computed once at ``init_state`` from ``brainstate.environ``'s ``dt``, for the
numbers the user wrote: ``d`` and ``dt`` are the decimals that their floats
print as (their shortest representation, in float32 for a float32 value), so
``0.15 ms / 0.1 ms`` is exactly ``3/2`` and gives ``D = 2`` although the float
quotient is ``1.4999999999999998``, and ``0.3 ms / 0.1 ms`` (float quotient
``2.9999999999999996``) gives exactly 3 -- the floating-point error behind
projection delays that came out short in brainpy (issue #709).  Quotients that
are not within a relative ``1e-6`` (float32 values) or ``1e-12`` (float64) of a
half step are rounded in floating point (the same result, without the rational
arithmetic).  ``delay=None`` and
``delay=0 * u.ms`` are the same: ``D = 0``, the input goes straight to ``comm``.

What "the same step" means: in a brainpy.state-style network a projection is
called at step ``n`` with the spikes that the presynaptic group emitted at the
end of step ``n - 1`` (``pre.get_spike()``), and with ``D = 0`` the synapse
jumps in step ``n`` before the postsynaptic group integrates, so the first
integration that feels a spike of the step labelled ``t_s`` starts at
``t_s + dt + d``.  Brian2's schedule gives the same timing for its ``delay``
(the spike is pushed at ``t_s`` after the state update and applied ``d``
later), so ``delay`` means the same thing in both simulators.

A ``(N_pre,)`` array of delays (one axonal delay per presynaptic element) and
per-connection delays use the same rule element-wise.

Memory
------
A delay line holds ``D`` (scalar delay) or ``max D + 1`` (per-element and
per-connection delays) past inputs of ``batch x elements`` values each.
``init_state`` computes that size before allocating and refuses a line larger
than the memory of the device (:func:`check_buffer`), with the figure in the
message, instead of letting XLA try to allocate it.
"""

from __future__ import annotations

import functools
import math
import os

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

from .._core.delay_rule import check_delay, delay_steps
from .._core.environ import dt_ms

__all__ = []


@functools.lru_cache(maxsize=1)
def device_memory_bytes() -> int:
    """Memory of the default device: the accelerator's ``bytes_limit``, or the host RAM for a CPU."""
    try:
        stats = jax.local_devices()[0].memory_stats() or {}
    except Exception:  # pragma: no cover - a backend without memory statistics
        stats = {}
    if stats.get("bytes_limit"):
        return int(stats["bytes_limit"])
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX host
        return 64 * 2**30


def _bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} bytes"


def check_buffer(owner: str, delay_ms, dt_ms: float, extra_slot: bool, shape, dtype, limit=None):
    """Refuse a delay buffer larger than the device memory, with the figure; return its size in bytes.

    The buffer holds ``floor(max d / dt + 1/2)`` past steps (one more with
    ``extra_slot``) of ``prod(shape)`` values of ``dtype``; ``shape`` includes the
    batch axis.  Only the longest delay is converted to steps (a delay beyond
    2**62 steps stays a float, so it cannot overflow on its way to the check).

    Examples
    --------
    >>> import numpy as np
    >>> from lapicque._network.delays import check_buffer
    >>> check_buffer("demo", np.array(2.), 0.1, False, (4000,), np.float32)   # 20 steps x 4000 x 4 bytes
    320000
    """
    d_max = float(np.max(delay_ms)) if np.size(delay_ms) else 0.
    q = d_max / float(dt_ms)
    slots = (int(delay_steps(d_max, dt_ms)) if q < 2.**62 else q) + (1 if extra_slot else 0)
    elements = math.prod(int(s) for s in shape)
    itemsize = np.dtype(dtype).itemsize
    need = float(slots) * elements * itemsize
    limit = device_memory_bytes() if limit is None else limit
    if need > limit:
        per = "" if len(shape) < 2 else f" ({' x '.join(str(int(s)) for s in shape)}, batch first)"
        raise ValueError(
            f"{owner}: a delay of {d_max:g} ms at dt = {float(dt_ms):g} ms needs a buffer of {slots:.4g} steps x "
            f"{elements} elements{per} x {itemsize} bytes = {need:.3g} bytes ({_bytes(need)}), more than the "
            f"memory of the device ({_bytes(limit)}). Use a shorter delay or a larger dt.")
    return int(need)


def _empty(line, batch_size, in_size):
    """Zero a delay buffer and its pointer in place (or create them on first use)."""
    if getattr(line, "buffer", None) is None:
        return line.init_state(batch_size)
    shape = ((batch_size,) if batch_size is not None else ()) + tuple(in_size)
    if shape != line.buffer.value.shape[1:]:
        check_buffer(line.owner, line.delay_ms, float(dt_ms()), line.extra_slot, shape, line.buffer.value.dtype)
    line.buffer.value = jnp.zeros(line.buffer.value.shape[:1] + shape, line.buffer.value.dtype)
    if line.pointer is not None:
        line.pointer.value = jnp.zeros_like(line.pointer.value)


def _allocate(line, batch_size, in_size, always: bool = False):
    """Check the buffer's size, then compute the line's steps and allocate it; return the steps.

    No buffer is made when every delay is 0 steps, unless ``always``.
    """
    dt = float(dt_ms())
    shape = ((batch_size,) if batch_size is not None else ()) + tuple(in_size)
    dtype = brainstate.environ.dftype()
    check_buffer(line.owner, line.delay_ms, dt, line.extra_slot, shape, dtype)
    steps = delay_steps(line.delay_ms, dt)
    longest = int(steps.max()) if steps.size else 0
    if longest > 0 or always:
        length = longest + int(line.extra_slot)
        line.buffer = brainstate.ShortTermState(jnp.zeros((length,) + shape, dtype))
        # one slot needs no pointer: the line is a swap (the previous input out, this one in)
        line.pointer = brainstate.ShortTermState(jnp.asarray(0, dtype=jnp.int32)) if length > 1 else None
    return steps


def _push(line, x, read, before: bool = False):
    """Store ``x`` at the line's pointer, advance the pointer, and return ``read(buffer, pointer)``.

    ``read`` sees the buffer after the write, or before it with ``before=True``
    (a line of exactly ``D`` slots reads the slot it is about to overwrite).
    """
    buf = line.buffer.value
    x_in = jnp.asarray(x)
    if line.pointer is None:  # one slot: the previous input out, this one in (no pointer arithmetic)
        line.buffer.value = x_in.astype(buf.dtype)[None]
        return (buf if before else line.buffer.value)[0].astype(x_in.dtype)
    ptr = line.pointer.value
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
    >>> from lapicque._network.delays import DelayLine
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
        if self.delay_ms is None:
            self.delay_ms = np.zeros(())
        # a scalar delay reads the slot it is about to overwrite; per-element delays need one slot more
        self.extra_slot = self.delay_ms.ndim == 1
        self.steps = None
        self.buffer = None

    def init_state(self, batch_size=None, **kwargs):
        """Compute the delay in steps (needs ``dt``) and allocate the buffer (none for ``D = 0``).

        Raises ``ValueError`` when the buffer would not fit in the device memory.
        """
        self.steps = _allocate(self, batch_size, self.in_size)

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
        self.extra_slot = True  # the history keeps D_max + 1 steps: the newest input is read at D = 0
        self.steps = self.groups = self.buffer = None

    def init_state(self, batch_size=None, **kwargs):
        """Compute the delays in steps (needs ``dt``) and allocate the history.

        Raises ``ValueError`` when the history would not fit in the device memory.
        """
        self.steps = _allocate(self, batch_size, (self.n_pre,), always=True)
        self.groups = np.unique(self.steps)

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
