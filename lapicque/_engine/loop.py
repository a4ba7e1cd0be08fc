"""The compiled time loop of :func:`lapicque.simulate`, as a pure function of arrays.

:func:`build` returns ``run(state_values, extra_values, param_values, t0, current)``:
it binds the values to the module tree (see :mod:`lapicque._engine.tree`) and to the
*extra* states (States the step touches outside the tree: the global
``brainstate.random`` key, States hidden in plain objects), runs
``n_steps`` steps in ``brainstate.transform.for_loop`` (nested: blocks of
``record_every`` steps, so only every ``k``-th trace sample is stored) and
returns the final state values, the final extra values and what the recorder
kept.  Nothing of the module is baked into the program but its structure, so
the compiled program is cached by structure alone (:mod:`lapicque._engine.cache`).

A State the step touches that is neither in the tree nor among the extras
cannot be an argument of this trace: its value would be baked in and its
update lost.  ``run.untracked`` lists such States after a trace (their values
are restored); the caller traces again with them among the extras.

Time convention: step ``i`` runs with ``t = t0 + i * dt`` and ``i`` in
:mod:`brainstate.environ`; its result belongs to ``t0 + (i + 1) * dt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Tuple

import contextlib

import brainstate
import jax
import jax.numpy as jnp
import saiunit as u

__all__ = ["RunConfig", "build"]


@dataclass(frozen=True)
class RunConfig:
    """Everything about a run that shapes its compiled program (hashable; part of the cache key)."""

    n_steps: int
    dt_ms: float
    kind: str              # the Drive's name (lapicque._engine.drives): 'none' | 'fn' | 'const' | 'series'
    record: Tuple[str, ...]
    record_every: int
    spikes: str            # 'dense' | 'count'
    count_from_step: int
    progress: bool
    heartbeat: int         # steps between the loop's host callbacks (progress bar, Ctrl-C); 0: none
    packed: bool
    single: bool           # the module is the one population: its spikes are update()'s return
    diagnose: bool = False  # track the first non-finite step of every state (only after a failed run)

    @property
    def blocks(self) -> Tuple[int, int, int]:
        """(steps per block, whole blocks, remaining steps): blocks of ``record_every`` steps when traces are
        recorded, else of ``heartbeat`` steps (the host callback runs between blocks, not in every step)."""
        k = self.record_every if self.record else (self.heartbeat or self.n_steps)
        return (k,) + divmod(self.n_steps, k)


@contextlib.contextmanager
def _bound_extras(extras, values):
    saved = [s.value for s in extras]
    try:
        for s, v in zip(extras, values):
            s.value = v
        yield
    finally:
        for s, v in zip(extras, saved):
            s.value = v


def build(tree, cfg: RunConfig, recorder, layout, drive, extras=(), beat=None):
    """The pure run function for ``tree`` and the ``extras`` states (see the module docstring)."""
    loop = _Loop(tree, cfg, recorder, layout, drive, list(extras), beat)

    def run(state_values, extra_values, param_values, t0, cur):
        # the trace stack tells brainstate that writing traced values into the states is deliberate, and
        # records every State the step touches
        stack = brainstate.StateTraceStack()
        try:
            with stack, tree.bound(state_values, param_values), _bound_extras(loop.extras, extra_values):
                return loop.body(t0, cur)
        finally:
            run.untracked = [s for s in stack.states if id(s) not in loop.known]
            stack.recovery_original_values()  # untracked States hold tracers of this trace: put their values back

    run.untracked = []
    run.__name__ = run.__qualname__ = "lapicque_run"  # the name XLA gives the program (dumps, profiles)
    return run


class _Loop:
    """The parts of a run: one step, a block of ``record_every`` steps, the whole run."""

    def __init__(self, tree, cfg, recorder, layout, drive, extras, beat):
        self.tree, self.cfg, self.recorder, self.layout, self.drive = tree, cfg, recorder, layout, drive
        self.extras, self.beat = extras, beat
        self.dt = cfg.dt_ms * u.ms
        self.known = {id(s) for s in tree.states} | {id(s) for s in extras}
        self.trackers = []  # diagnosis only: per state, the first step at which it was non-finite

    def step(self, i, x, t0):
        cfg, tree = self.cfg, self.tree
        t = t0 * u.ms + i.astype(brainstate.environ.dftype()) * self.dt
        with brainstate.environ.context(t=t, i=i):
            # calling the module (not .update) runs its before/after-update hooks, e.g. merged synapses
            ret = self.drive.apply(tree.root, x, t, self.layout)
        self.layout.keep_states(tree)
        spikes = [ret] if cfg.single else [p.node.get_spike() for p in self.recorder.pops]
        if cfg.diagnose:
            _track_non_finite(tree, self.trackers, i)
        return self.recorder.step(i, spikes)

    def steps(self, idx, xs, const, t0):
        """The steps ``idx`` (scanning the input ``xs`` over time, or holding ``const``): what each stores."""
        if self.drive.over_time:
            return brainstate.transform.for_loop(lambda i, x: self.step(i, x, t0), idx, xs)
        return brainstate.transform.for_loop(lambda i: self.step(i, const, t0), idx)

    def block(self, idx, xs, const, t0):
        """One block of steps, the trace sample after it, and the heartbeat where one is due."""
        out = self.steps(idx, xs, const, t0), self.recorder.snapshot()
        if self.beat is not None and self.cfg.heartbeat:
            self.beat.hook(idx[-1], self.cfg.heartbeat, self.cfg.n_steps, len(idx))
        return out

    def body(self, t0, cur):
        """Every step (whole blocks, then the rest); returns the final states, extras and what was kept."""
        cfg, k, (_, n_blocks, rem) = self.cfg, self.cfg.blocks[0], self.cfg.blocks
        over_time = self.drive.over_time
        with brainstate.environ.context(dt=self.dt):
            self.recorder.start()
            if cfg.diagnose:
                self.trackers[:] = _trackers(self.tree)
            const = None if over_time else cur
            idx = jnp.arange(cfg.n_steps, dtype=jnp.int32)
            outs: dict = {}
            if n_blocks > 0:
                blk = idx[:n_blocks * k].reshape(n_blocks, k)
                if over_time:
                    xs = jax.tree.map(lambda a: a[:n_blocks * k].reshape((n_blocks, k) + a.shape[1:]), cur)
                    outs["spk"], outs["rec"] = brainstate.transform.for_loop(
                        lambda s, x: self.block(s, x, None, t0), blk, xs)
                else:
                    outs["spk"], outs["rec"] = brainstate.transform.for_loop(
                        lambda s: self.block(s, None, const, t0), blk)
            if rem > 0:
                xs = jax.tree.map(lambda a: a[n_blocks * k:], cur) if over_time else None
                outs["spk_rem"] = self.steps(idx[n_blocks * k:], xs, const, t0)
            if rem > 0 and self.beat is not None and cfg.heartbeat:
                self.beat.last(cfg.n_steps)
            outs["counts"] = self.recorder.counts()
            if cfg.diagnose:
                outs["first_bad"] = [s.value for s in self.trackers]
            return [s.value for s in self.tree.states], [s.value for s in self.extras], outs


# ---------------------------------------------------------------------- diagnosis of non-finite states
def _float_leaves(value):
    return [x for x in jax.tree.leaves(u.get_mantissa(value) if isinstance(value, u.Quantity) else value)
            if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]


def _trackers(tree):
    """One int32 'first non-finite step' array per state (-1: always finite so far)."""
    return [brainstate.ShortTermState(jnp.full(jnp.shape(u.get_mantissa(s.value)), -1, jnp.int32))
            for s in tree.states]


def _track_non_finite(tree, trackers, i):
    for s, tr in zip(tree.states, trackers):
        leaves = _float_leaves(s.value)
        if not leaves:
            continue
        bad = ~jnp.isfinite(leaves[0])
        tr.value = jnp.where(jnp.logical_and(bad, tr.value < 0), i, tr.value)


def first_non_finite(values) -> Any:
    """For each state value: a bool array where it is non-finite (None for non-float states)."""
    out = []
    for v in values:
        leaves = _float_leaves(v)
        out.append(None if not leaves else ~jnp.isfinite(leaves[0]))
    return out
