"""The ported-code path: ``update(x)`` inside the user's own ``for_loop``, vs brainpy.state and a bare scan.

Code ported from ``brainpy.state`` runs a model the way the seed's users do:
``brainstate.transform.for_loop`` over a per-step input array of shape
``(T, N)`` (a quantity in mA), calling ``model.update(x)`` and collecting the
float32 surrogate spikes it returns, inside ``brainstate.transform.jit``.
This section times exactly that loop for every model and both resets, for
lapicque and for brainpy.state (only the class differs), and a *floor*: a
bare ``jax.lax.scan`` that reads the same ``(T, N)`` float32 input and writes
the same ``(T, N)`` float32 output with a trivial leaky update, i.e. the
memory traffic any implementation must pay.  All in one interpreter,
interleaved per model (so load changes hit all three alike).

Goal (issue 15): lapicque >= 1.5x brainpy.state, or <= 1.25x the floor.

The thread column is the process CPU time divided by the wall time of the
timed calls: how many cores XLA kept busy (1.0 = one thread).

Run: ``python -m benchmarks.forloop`` (N = 10^4, T = 5000, dt = 0.1 ms, all 13
models, both resets, 5 repeats); ``--quick`` for N = 10^4, T = 1000 and four
models; also the ``forloop`` section of ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Dict, Optional, Sequence

from . import models as M
from ._common import Table, interleaved, load_average, median

#: relative noise of the input current (standard deviation / mean)
NOISE = 0.3
#: targets of issue 15
TARGET_VS_REFERENCE = 1.5
TARGET_VS_FLOOR = 1.25
DIVERGENT = ("ExpIF", "ExpIFRef", "AdExIF", "AdExIFRef", "QuaIF", "AdQuaIF", "AdQuaIFRef")


def input_array(name: str, n: int, steps: int, seed: int = 0):
    """Noisy suprathreshold input (T, N) float32 in mA: mean ``INPUT_MA[name]``, relative sd ``NOISE``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((steps, n), dtype=np.float32)
    return (M.INPUT_MA[name] * (1. + NOISE * x)).astype(np.float32)


def seed_loop(impl: str, name: str, n: int, steps: int, spk_reset: str, dt_ms: float = M.DT_MS) -> Callable:
    """``run(xs)``: the seed's loop over a (T, N) input quantity (not jitted); the model is built here."""
    import brainstate
    import jax.numpy as jnp
    import saiunit as u

    brainstate.environ.set(dt=dt_ms * u.ms)
    model = M.make_model(impl, name, n, spk_reset=spk_reset)
    dt = dt_ms * u.ms

    def step(i, x):
        with brainstate.environ.context(t=i * dt):
            return model.update(x)

    def run(xs):
        return brainstate.transform.for_loop(step, jnp.arange(steps), xs)

    return run


def build_loop(impl: str, name: str, n: int, I_mA, spk_reset: str, dt_ms: float = M.DT_MS) -> Callable:
    """``fn()`` running the seed's loop once over the whole input; returns the (T, N) float spikes."""
    import brainstate
    import jax
    import jax.numpy as jnp
    import saiunit as u

    xs = u.Quantity(jnp.asarray(I_mA), unit=u.mA)
    run = brainstate.transform.jit(seed_loop(impl, name, n, xs.shape[0], spk_reset, dt_ms))
    return lambda: jax.block_until_ready(run(xs))


def build_floor(I_mA) -> Callable:
    """The bare scan: same (T, N) float32 input read, same (T, N) float32 output written."""
    import jax
    import jax.numpy as jnp

    xs = jnp.asarray(I_mA)
    decay = jnp.float32(0.99)

    def body(v, x):
        v = v * decay + 0.01 * x
        spk = v >= 1.
        return jnp.where(spk, 0., v), spk.astype(jnp.float32)

    run = jax.jit(lambda xs: jax.lax.scan(body, jnp.zeros(xs.shape[1], jnp.float32), xs)[1])
    return lambda: jax.block_until_ready(run(xs))


def lowered_hlo(impl: str, name: str, n: int, steps: int, spk_reset: str) -> str:
    """The optimized HLO of the seed's loop (for profiling: what each step computes)."""
    import brainstate
    import jax.numpy as jnp
    import saiunit as u

    xs = u.Quantity(jnp.asarray(input_array(name, n, steps)), unit=u.mA)
    run = seed_loop(impl, name, n, steps, spk_reset)
    return brainstate.transform.jit(run).lower(xs).compile().as_text()


def minor_faults_per_call(fn: Callable, calls: int = 3) -> Optional[float]:
    """Minor page faults of this process per call of ``fn`` (None where ``resource`` is missing).

    XLA allocates the stacked ``(T, N)`` output afresh on every call; above
    glibc's mmap threshold (32 MiB at most) that is a new mapping whose 4 KiB
    pages fault on first touch, a cost every implementation (and the floor)
    pays alike.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def xla_threads_setting() -> str:
    flags = os.environ.get("XLA_FLAGS", "")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    eigen = "off" if "xla_cpu_multi_thread_eigen=false" in flags else "on"
    return f"{cores} cores available to XLA, Eigen multi-threading {eigen}"


def forloop(models: Sequence[str] = M.MODEL_NAMES, n: int = 10_000, steps: int = 5000, repeats: int = 5,
            resets: Sequence[str] = ("soft", "hard"), with_reference: Optional[bool] = None,
            log=print) -> Table:
    """Table: seconds per run of lapicque, brainpy.state and the floor; ratios; threads used."""
    import gc

    with_reference = M.has_reference() if with_reference is None else with_reference
    table = Table("forloop", f"Ported-code loop (for_loop + update(x), (T, N) input, float spikes): "
                             f"N = {n}, T = {steps}, dt = {M.DT_MS} ms", [
        ("model", "model", ""), ("reset", "reset", ""),
        ("lapicque_s", "lapicque (s)", "s"), ("brainpy_s", "brainpy.state (s)", "s"), ("floor_s", "floor (s)", "s"),
        ("vs_reference", "speed-up vs brainpy.state", "x"), ("vs_floor", "lapicque / floor", "x"),
        ("vs_reference_cpu", "speed-up by CPU time", "x"), ("vs_floor_cpu", "/ floor by CPU time", "x"),
        ("threads_lapicque", "threads lapicque", "x"), ("threads_brainpy", "threads brainpy", "x"),
        ("threads_floor", "threads floor", "x"), ("floor_faults", "floor page faults / call", ""),
        ("status", "goal", ""), ("load", "load avg", ""),
    ], note=(f"Median of {repeats} interleaved repeats after two warm-up calls.  Floor: a bare `jax.lax.scan` "
             f"reading the same (T, N) float32 input and writing the same (T, N) float32 output with a trivial "
             f"leaky update.  Page faults: minor faults per call of the floor, i.e. the 4 KiB pages of the "
             f"freshly mapped (T, N) output touched for the first time (every implementation pays them alike; "
             f"at N = 10^4, T = 5000 they are most of the floor).  "
             f"Goal: >= {TARGET_VS_REFERENCE}x brainpy.state or <= {TARGET_VS_FLOOR}x the floor.  "
             f"Threads: process CPU time / wall time of the timed calls (the CPU-time ratios are less sensitive "
             f"to other processes on the machine).  XLA: {xla_threads_setting()}."))
    for name in models:
        I = input_array(name, n, steps)
        floor = build_floor(I)
        for reset in resets:
            fns: Dict[str, Callable] = {"lapicque": build_loop("lapicque", name, n, I, reset), "floor": floor}
            if with_reference:
                fns["brainpy"] = build_loop("brainpy", name, n, I, reset)
            for fn in fns.values():  # warm-up: compile (twice: brainpy.state retraces once)
                fn(), fn()
            faults = minor_faults_per_call(floor)
            cpu: Dict[str, list] = {}
            times = interleaved(fns, repeats, cpu=cpu, min_sample_s=0)
            t = {k: median(v) for k, v in times.items()}
            thr = {k: median([c / w for c, w in zip(cpu[k], times[k])]) for k in times}
            c = {k: median(v) for k, v in cpu.items()}
            vs_ref = t["brainpy"] / t["lapicque"] if "brainpy" in t else None
            vs_floor = t["lapicque"] / t["floor"]
            ok = (vs_ref is not None and vs_ref >= TARGET_VS_REFERENCE) or vs_floor <= TARGET_VS_FLOOR
            ok_cpu = ("brainpy" in c and c["brainpy"] / c["lapicque"] >= TARGET_VS_REFERENCE
                      or c["lapicque"] / c["floor"] <= TARGET_VS_FLOOR)
            row = dict(model=name, reset=reset, lapicque_s=t["lapicque"], brainpy_s=t.get("brainpy"),
                       floor_s=t["floor"], vs_reference=vs_ref, vs_floor=vs_floor,
                       vs_reference_cpu=c["brainpy"] / c["lapicque"] if "brainpy" in c else None,
                       vs_floor_cpu=c["lapicque"] / c["floor"],
                       threads_lapicque=thr["lapicque"], threads_brainpy=thr.get("brainpy"),
                       threads_floor=thr["floor"], floor_faults=None if faults is None else round(faults),
                       status="met" if ok else ("met by CPU time" if ok_cpu else "NOT MET"),
                       load=(load_average() or [None])[0])
            table.add(**row)
            log(f"  {name:<11} {reset:<4}  lapicque {t['lapicque']:.3f} s  "
                f"brainpy {t.get('brainpy', float('nan')):.3f} s  floor {t['floor']:.3f} s  "
                f"vs ref {vs_ref if vs_ref is not None else float('nan'):.2f}x  vs floor {vs_floor:.2f}x  "
                f"threads {thr['lapicque']:.2f}/{thr.get('brainpy', float('nan')):.2f}/{thr['floor']:.2f}  "
                f"{row['status']}")
            del fns
            gc.collect()
    return table


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.forloop", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="T = 1000, models LIF, LIFRef, AdExIF, GifRef")
    p.add_argument("--models", help="comma-separated model names (default: all 13)")
    p.add_argument("--resets", default="soft,hard")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--steps", type=int, default=None, help="T (default 5000; --quick 1000)")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5; --quick 3)")
    p.add_argument("--hlo", metavar="MODEL:RESET", help="print lapicque's optimized HLO of one case and exit")
    a = p.parse_args(argv)
    if a.hlo:
        name, _, reset = a.hlo.partition(":")
        print(lowered_hlo("lapicque", name, a.n, a.steps or 100, reset or "soft"))
        return 0
    models = a.models.split(",") if a.models else list(M.QUICK_MODELS if a.quick else M.MODEL_NAMES)
    steps = a.steps or (1000 if a.quick else 5000)
    repeats = a.repeats or (3 if a.quick else 5)
    table = forloop(models, a.n, steps, repeats, resets=a.resets.split(","))
    print()
    print(table.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
