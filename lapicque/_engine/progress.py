"""The heartbeat of a compiled run: a progress bar advanced from inside the loop, and Ctrl-C that stops it.

Every ``k`` steps the loop fires one host callback (a ``lax.cond`` around
:func:`jax.debug.callback`: one integer comparison per step otherwise).  The
callback advances the progress bar of the call in flight, if any, and raises
when the user pressed Ctrl-C: XLA then abandons the computation, so an
interrupt stops the run within about :data:`CHECK_EVERY_S` seconds instead of
after it (or, without a bar, in the background while the CPU stays busy).
:func:`run_interruptibly` turns SIGINT into that request for the duration of a
call (the run in a worker thread, the main thread waiting in Python, where the
signal reaches it at once); a second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import signal
import sys
import threading
import time as _time

import jax
import jax.numpy as jnp

__all__ = ["Progress", "Heartbeat", "want_progress", "heartbeat_steps", "run_interruptibly", "RunInterrupted"]

#: runs estimated to take longer than this (seconds) show a progress bar by default
PROGRESS_AFTER_S = 3.0
#: the loop looks for a Ctrl-C about this often (seconds, by the estimate below)
CHECK_EVERY_S = 0.1


def _estimate_step_s(n_neurons: int) -> float:
    """A rough CPU estimate of one step: ~3e8 neuron-updates/s plus ~0.2 us per step."""
    return n_neurons / 3e8 + 2e-7


def want_progress(progress, n_steps: int, n_neurons: int) -> bool:
    """The default: a bar only for runs estimated to take longer than a few seconds, on a terminal."""
    if progress is None:
        return n_steps * _estimate_step_s(n_neurons) > PROGRESS_AFTER_S
    return bool(progress)


def heartbeat_steps(n_steps: int, n_neurons: int, progress: bool) -> int:
    """Steps between two callbacks: about :data:`CHECK_EVERY_S` of run time, and 100 updates of a bar."""
    every = max(1, int(CHECK_EVERY_S / _estimate_step_s(n_neurons)))
    if progress:
        every = min(every, max(1, n_steps // 100))
    return min(every, n_steps)


class RunInterrupted(KeyboardInterrupt):
    """Raised inside the loop's callback to make XLA abandon the run (the caller raises KeyboardInterrupt).

    A KeyboardInterrupt, not an Exception: JAX logs and ignores an Exception raised by a debug callback."""


class Progress:
    """A tqdm bar (or a plain-text fallback) for one call, advanced by the loop's heartbeat."""

    def __init__(self, n_steps: int, desc: str, file=None):
        self.n = n_steps
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

    def advance(self, i):
        """Steps ``0 .. i`` are done."""
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

    def close(self, completed: bool = True):
        if self._t_start is None:
            if not completed:
                return
            self._open()
        if completed and self._done < self.n:
            self.advance(self.n - 1)
        if self.bar is not None:
            self.bar.close()


class Heartbeat:
    """The target of a compiled run's callbacks: the bar and the interrupt request of the call in flight.

    A compiled run is cached across ``simulate`` calls, so its host callback
    must not be bound to one call's bar (nor hold the model): each call sets
    :attr:`bar` and clears :attr:`interrupted` before it runs.
    """

    def __init__(self):
        self.bar = None
        self.interrupted = False

    def tick(self, i):
        if self.bar is not None:
            self.bar.advance(i)
        if self.interrupted:
            raise RunInterrupted("interrupted by the user (Ctrl-C)")

    def hook(self, i, every: int, n_steps: int, block: int = 1):
        """In the loop, after step ``i`` ending a block of ``block`` steps: call :meth:`tick` where the block
        crossed a multiple of ``every`` steps, and after the last step."""
        if block % every == 0:  # every block crosses one: no condition to evaluate
            jax.debug.callback(self.tick, i)
            return
        fire = jnp.logical_or((i + 1) // every > (i + 1 - block) // every, i == n_steps - 1)
        jax.lax.cond(fire, lambda j: jax.debug.callback(self.tick, j), lambda j: None, i)

    def last(self, n_steps: int):
        """In the loop, after the steps that did not fill a block: the final tick."""
        jax.debug.callback(self.tick, jnp.asarray(n_steps - 1, jnp.int32))


def _not_our_stop(record) -> bool:
    """Logging filter: JAX logs the exception of a failed callback; ours is a deliberate stop, not news."""
    return not (record.exc_info and isinstance(record.exc_info[1], RunInterrupted))


def run_interruptibly(beat: Heartbeat, fn):
    """``fn()`` -- a compiled run -- with Ctrl-C as a request that the loop honours at its next heartbeat.

    In the main thread (where Python delivers signals) the run goes to a worker
    thread while the main thread waits in Python, so a SIGINT reaches the handler
    at once whatever the run is doing; a second Ctrl-C raises KeyboardInterrupt
    at once.  From another thread the run is simply called.
    """
    logger = logging.getLogger("jax._src.debugging")
    logger.addFilter(_not_our_stop)
    try:
        if threading.current_thread() is not threading.main_thread():
            return fn()
        with _sigint_requests_stop(beat):
            return _worker().submit(fn).result()
    finally:
        logger.removeFilter(_not_our_stop)


_WORKERS = []


def _worker():
    if not _WORKERS:
        _WORKERS.append(concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lapicque-run"))
    return _WORKERS[0]


@contextlib.contextmanager
def _sigint_requests_stop(beat: Heartbeat):
    previous = signal.getsignal(signal.SIGINT)

    def request_stop(signum, frame):
        if beat.interrupted:
            raise KeyboardInterrupt
        beat.interrupted = True

    try:
        signal.signal(signal.SIGINT, request_stop)
    except ValueError:  # pragma: no cover - not allowed here (e.g. an embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
