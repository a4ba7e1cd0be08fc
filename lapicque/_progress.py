"""The progress bar of a compiled run, advanced from inside the loop."""

from __future__ import annotations

import sys
import time as _time

import jax
import jax.numpy as jnp

__all__ = ["Progress", "ProgressSink", "want_progress"]

#: runs estimated to take longer than this (seconds) show a progress bar by default
PROGRESS_AFTER_S = 3.0


def want_progress(progress, n_steps: int, n_neurons: int) -> bool:
    """The default: a bar only for runs estimated to take longer than a few seconds, on a terminal."""
    if progress is None:
        # rough CPU estimate: ~3e8 neuron-updates/s plus ~0.2 us per step
        estimate = n_steps * n_neurons / 3e8 + n_steps * 2e-7
        return estimate > PROGRESS_AFTER_S
    return bool(progress)


class Progress:
    """A tqdm bar (or a plain-text fallback) advanced from inside the jitted loop.

    The loop calls :meth:`hook` with the global step index every step; a
    ``lax.cond`` fires a host callback only every ``freq`` steps, so the cost
    is one integer comparison per step.
    """

    def __init__(self, n_steps: int, desc: str, file=None):
        self.n = n_steps
        self.freq = max(1, n_steps // 100)
        self.desc = desc
        self.file = file if file is not None else sys.stderr
        self.bar = None
        self._done = 0
        self._t_start = None
        self._last_print = -1.0

    def _open(self):
        try:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.n, desc=self.desc, unit="step", file=self.file, leave=True,
                            dynamic_ncols=True, mininterval=0.5)
        except ImportError:  # pragma: no cover - tqdm is optional
            self.bar = None
        self._t_start = _time.monotonic()

    def _advance(self, i):
        done = min(int(i) + 1, self.n)
        if done <= self._done:
            return
        if self._t_start is None:
            self._open()
        if self.bar is not None:
            self.bar.update(done - self._done)
        else:  # pragma: no cover - only without tqdm
            now = _time.monotonic() - self._t_start
            if now - self._last_print >= 1.0 or done == self.n:
                self._last_print = now
                print(f"{self.desc}: {100 * done // self.n:3d}% ({done}/{self.n} steps, {now:.1f} s)",
                      file=self.file, flush=True)
        self._done = done

    def hook(self, i, target=None):
        """Fire ``(target or self)._advance`` every ``freq`` steps from inside the loop."""
        freq, n = self.freq, self.n
        sink = self if target is None else target
        fire = jnp.logical_or(i % freq == freq - 1, i == n - 1)
        jax.lax.cond(fire, lambda j: jax.debug.callback(sink._advance, j), lambda j: None, i)


    def close(self, completed: bool = True):
        if self._t_start is None:
            if not completed:
                return
            self._open()
        if completed and self._done < self.n:
            self._advance(self.n - 1)
        if self.bar is not None:
            self.bar.close()


class ProgressSink:
    """Forwards the loop's progress callbacks to the bar of the call in flight.

    A compiled run is cached across ``simulate`` calls, so its host callback
    must not be bound to one call's bar (nor hold the model).
    """

    def __init__(self):
        self.bar = None

    def _advance(self, i):
        if self.bar is not None:
            self.bar._advance(i)
