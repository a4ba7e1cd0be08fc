r"""Input current protocols for the ``lapicque`` command: constant, step, pulse train, ramp, sine, noise.

Every protocol is active in the window ``start <= t < stop`` (``stop``
defaults to the end of the run); outside it the current is ``offset``.
Inside it, with amplitude :math:`A` (one value per neuron, so a spread of
currents over several neurons applies to every protocol):

* ``constant``: :math:`I = I_0 + A` (no window);
* ``step``:     :math:`I = I_0 + A`;
* ``pulses``:   :math:`I = I_0 + A` during the first ``width`` of every
  ``period``, counted from ``start``;
* ``ramp``:     :math:`I = I_0 + A (t - t_{start}) / (t_{stop} - t_{start})`;
* ``sine``:     :math:`I = I_0 + A \sin(2\pi f (t - t_{start}))`;
* ``ou``:       :math:`I = I_0 + A + \sigma x(t)`, with :math:`x` an
  Ornstein-Uhlenbeck process of unit variance and correlation time
  :math:`\tau`, one per neuron, sampled exactly on the step grid
  (:math:`x_{i+1} = x_i e^{-dt/\tau} + \sqrt{1 - e^{-2 dt/\tau}}\,\xi_i`,
  :math:`x_0 \sim N(0, 1)`) from ``numpy.random.default_rng(seed)``.

Step ``i`` of a run sees the current at :math:`t_i = i\,dt`; window edges
are compared with half a step of margin, so an edge on the grid is never
shifted by float rounding.  The deterministic protocols are passed to
:func:`lapicque.simulate` as a function of time (no ``(n_steps, n)``
array); the noise as an array over time.

Examples
--------
>>> import numpy as np
>>> p = Protocol("pulses", start_ms=2.0, stop_ms=9.0, width_ms=1.0, period_ms=3.0)
>>> p.values(np.arange(10) * 1.0, amplitude=np.array([2.0]))[:, 0]
array([0., 0., 2., 0., 0., 2., 0., 0., 2., 0.])
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Optional

import numpy as np

__all__ = ["Protocol", "PROTOCOLS"]

PROTOCOLS = ("constant", "step", "pulses", "ramp", "sine", "ou")


@dataclasses.dataclass
class Protocol:
    """One input protocol; times in ms, frequency in Hz, the input in ``unit`` (see the module docstring).

    ``unit`` is the canonical unit of the model's input as the command line
    writes it (:class:`lapicque._cli.values.InputSpec`): ``'mA'`` for a
    current (every current model, HH's uA included), ``'mV/ms'`` for the
    Izhikevich models, ``''`` for a plain number.
    """

    kind: str = "constant"
    offset: float = 0.0
    start_ms: float = 0.0
    stop_ms: Optional[float] = None
    width_ms: float = 1.0
    period_ms: float = 10.0
    freq_hz: float = 10.0
    sigma: float = 0.0
    tau_ms: float = 5.0
    seed: Optional[int] = None
    unit: str = "mA"

    def check(self, duration_ms: float, dt_ms: float):
        """Raise ``ValueError`` naming the option when the protocol cannot run."""
        if self.kind not in PROTOCOLS:
            raise ValueError(f"--input must be one of {', '.join(PROTOCOLS)}; got {self.kind!r}")
        stop = self.stop(duration_ms)
        if not 0 <= self.start_ms < stop:
            raise ValueError(f"--start must be >= 0 and before --stop ({stop:g} ms); got {self.start_ms:g} ms")
        if self.kind == "pulses" and not 0 < self.width_ms <= self.period_ms:
            raise ValueError(f"--width must be > 0 and <= --period ({self.period_ms:g} ms); "
                             f"got {self.width_ms:g} ms")
        if self.kind == "pulses" and self.width_ms < dt_ms:
            raise ValueError(f"--width ({self.width_ms:g} ms) is shorter than one step (--dt {dt_ms:g} ms)")
        if self.kind == "sine" and not self.freq_hz > 0:
            raise ValueError(f"--freq must be > 0; got {self.freq_hz:g} Hz")
        if self.kind == "ou":
            if not self.sigma > 0:
                raise ValueError(f"--input ou needs --sigma > 0 (the noise amplitude); got {self.sigma:g}{self._spelled}")
            if not self.tau_ms > 0:
                raise ValueError(f"--tau-noise must be > 0; got {self.tau_ms:g} ms")

    @property
    def _spelled(self) -> str:
        return f" {self.unit}" if self.unit else ""

    def _quantity(self, values):
        """The input as :func:`lapicque.simulate` takes it: a Quantity in :attr:`unit`, or plain numbers."""
        import saiunit as u
        if not self.unit:
            return values
        return u.Quantity(values, unit={"mA": u.mA, "mV/ms": u.mV / u.ms}[self.unit])

    def stop(self, duration_ms: float) -> float:
        return duration_ms if self.stop_ms is None else min(self.stop_ms, duration_ms)

    def _shape(self, t, stop, xp):
        """The dimensionless time course inside the window (1 for constant and step)."""
        if self.kind == "pulses":
            phase = xp.mod(t - self.start_ms + 1e-6, self.period_ms)
            return (phase < self.width_ms).astype(t.dtype)
        if self.kind == "ramp":
            return xp.clip((t - self.start_ms) / (stop - self.start_ms), 0.0, 1.0)
        if self.kind == "sine":
            return xp.sin(2 * math.pi * self.freq_hz * 1e-3 * (t - self.start_ms))
        return xp.ones_like(t)

    def _window(self, t, stop, dt_ms, xp):
        if self.kind == "constant":
            return xp.ones_like(t)
        half = 0.5 * dt_ms
        return ((t >= self.start_ms - half) & (t < stop - half)).astype(t.dtype)

    def values(self, t_ms, amplitude, duration_ms: Optional[float] = None, dt_ms: Optional[float] = None):
        """Deterministic part of the input (in :attr:`unit`), shape ``(len(t_ms), n)``, evaluated with numpy."""
        t = np.asarray(t_ms, dtype=np.float64)[:, None]
        dt_ms = dt_ms if dt_ms is not None else (float(t[1, 0] - t[0, 0]) if t.shape[0] > 1 else 1.0)
        stop = self.stop(duration_ms if duration_ms is not None else float(t[-1, 0]) + dt_ms)
        amp = np.asarray(amplitude, dtype=np.float64).reshape(1, -1)
        return self.offset + amp * self._shape(t, stop, np) * self._window(t, stop, dt_ms, np)

    def ou_noise(self, n_steps: int, n: int, dt_ms: float) -> np.ndarray:
        """The unit-variance OU process ``x`` on the step grid, shape ``(n_steps, n)`` (float64)."""
        rng = np.random.default_rng(self.seed)
        decay = math.exp(-dt_ms / self.tau_ms)
        kick = math.sqrt(1.0 - decay * decay)
        x = np.empty((n_steps, n))
        x[0] = rng.standard_normal(n)
        xi = rng.standard_normal((n_steps - 1, n))
        for i in range(1, n_steps):
            x[i] = x[i - 1] * decay + kick * xi[i - 1]
        return x

    def current(self, n_steps: int, dt_ms: float, amplitude):
        """What :func:`lapicque.simulate` takes: a Quantity (constant / array over time) or a function of t."""
        amp = np.asarray(amplitude, dtype=np.float32).reshape(-1)
        duration = n_steps * dt_ms
        if self.kind == "constant":
            return self._quantity((self.offset + amp).astype(np.float32))
        if self.kind == "ou":
            t = np.arange(n_steps) * dt_ms
            det = self.values(t, amp, duration, dt_ms)
            window = self._window(t[:, None], self.stop(duration), dt_ms, np)
            arr = det + self.sigma * self.ou_noise(n_steps, amp.size, dt_ms) * window
            return self._quantity(arr.astype(np.float32))
        return self._function_of_t(amp, duration, dt_ms)

    def _function_of_t(self, amp, duration, dt_ms):
        import jax.numpy as jnp
        import saiunit as u

        stop = self.stop(duration)
        amp = jnp.asarray(amp)

        def current(t):
            tm = jnp.asarray(t.to_decimal(u.ms), dtype=jnp.float32)
            course = self._shape(tm, stop, jnp) * self._window(tm, stop, dt_ms, jnp)
            return self._quantity(self.offset + amp * course)

        return current

    def describe(self) -> Dict[str, Any]:
        """The options that matter for this protocol (for JSON summaries and saved metadata)."""
        suffix = {"mA": "_mA", "mV/ms": "_mV_per_ms"}.get(self.unit, "")
        out: Dict[str, Any] = {"input": self.kind, f"offset{suffix}": self.offset}
        if self.kind != "constant":
            out.update(start_ms=self.start_ms, stop_ms=self.stop_ms)
        if self.kind == "pulses":
            out.update(width_ms=self.width_ms, period_ms=self.period_ms)
        if self.kind == "sine":
            out.update(freq_Hz=self.freq_hz)
        if self.kind == "ou":
            out.update({f"sigma{suffix}": self.sigma, "tau_noise_ms": self.tau_ms, "seed": self.seed})
        return out
