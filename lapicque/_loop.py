"""The compiled time loop of :func:`lapicque.simulate`, as a pure function of arrays.

:func:`build` returns ``run(state_values, param_values, t0, current)``:
it binds the values to the module tree (see :mod:`lapicque._tree`), runs
``n_steps`` steps in ``brainstate.transform.for_loop`` (nested: blocks of
``record_every`` steps, so only every ``k``-th trace sample is stored) and
returns the final state values with what the recorder kept.  Nothing of the
module is baked into the program but its structure, so the compiled
program is cached by structure alone (:mod:`lapicque._cache`).

Time convention: step ``i`` runs with ``t = t0 + i * dt`` and ``i`` in
:mod:`brainstate.environ`; its result belongs to ``t0 + (i + 1) * dt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Tuple

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
    kind: str              # 'none' | 'fn' | 'const' | 'series'
    record: Tuple[str, ...]
    record_every: int
    spikes: str            # 'dense' | 'count'
    count_from_step: int
    progress: bool
    packed: bool
    single: bool           # the module is the one population: its spikes are update()'s return
    diagnose: bool = False  # track the first non-finite step of every state (only after a failed run)

    @property
    def blocks(self) -> Tuple[int, int, int]:
        """(steps per block, whole blocks, remaining steps)."""
        k = self.record_every if self.record else self.n_steps
        return (k,) + divmod(self.n_steps, k)


def build(tree, cfg: RunConfig, recorder, layout, current_fn=None, progress=None, sink=None):
    """The pure run function for ``tree`` (see the module docstring)."""
    dt_q = cfg.dt_ms * u.ms
    pops = recorder.pops
    k, n_blocks, rem = cfg.blocks
    trackers = []  # diagnosis only: per state, the first step at which it was non-finite

    def step(i, x, t0):
        t = t0 * u.ms + i.astype(brainstate.environ.dftype()) * dt_q
        with brainstate.environ.context(t=t, i=i):
            # calling the module (not .update) runs its before/after-update hooks, e.g. merged synapses
            if cfg.kind == "fn":
                ret = tree.root(layout.pad_input(current_fn(t)))
            elif cfg.kind == "none":
                ret = tree.root()
            else:
                ret = tree.root(x)
        layout.keep_states(tree)
        if progress is not None:
            progress.hook(i, target=sink)
        spikes = [ret] if cfg.single else [p.node.get_spike() for p in pops]
        if cfg.diagnose:
            _track_non_finite(tree, trackers, i)
        return recorder.step(i, spikes)

    def steps(idx, xs, const, t0):
        if cfg.kind == "series":
            return brainstate.transform.for_loop(lambda i, x: step(i, x, t0), idx, xs)
        return brainstate.transform.for_loop(lambda i: step(i, const, t0), idx)

    def block(idx, xs, const, t0):
        return steps(idx, xs, const, t0), recorder.snapshot()

    def run(state_values, param_values, t0, cur):
        # the trace stack tells brainstate that writing traced values into the states is deliberate
        with brainstate.StateTraceStack(), tree.bound(state_values, param_values), \
                brainstate.environ.context(dt=dt_q):
            recorder.start()
            if cfg.diagnose:
                trackers[:] = _trackers(tree)
            series = cur if cfg.kind == "series" else None
            const = cur if cfg.kind == "const" else None
            idx = jnp.arange(cfg.n_steps, dtype=jnp.int32)
            outs: dict = {}
            if n_blocks > 0:
                blk = idx[:n_blocks * k].reshape(n_blocks, k)
                if cfg.kind == "series":
                    xs = jax.tree.map(lambda a: a[:n_blocks * k].reshape((n_blocks, k) + a.shape[1:]), series)
                    spk, rec = brainstate.transform.for_loop(lambda s, x: block(s, x, None, t0), blk, xs)
                else:
                    spk, rec = brainstate.transform.for_loop(lambda s: block(s, None, const, t0), blk)
                outs["spk"], outs["rec"] = spk, rec
            if rem > 0:
                xs = None if series is None else jax.tree.map(lambda a: a[n_blocks * k:], series)
                outs["spk_rem"] = steps(idx[n_blocks * k:], xs, const, t0)
            outs["counts"] = recorder.counts()
            if cfg.diagnose:
                outs["first_bad"] = [s.value for s in trackers]
            return [s.value for s in tree.states], outs

    run.__name__ = run.__qualname__ = "lapicque_run"  # the name XLA gives the program (dumps, profiles)
    return run


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
