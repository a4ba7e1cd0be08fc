"""``python -m benchmarks.sharding``: ``simulate(..., devices=k)`` throughput on k simulated CPU devices.

A 10^6-neuron LIF (one constant current per neuron, so it spikes at
different rates) runs for ``--steps`` steps with ``lapicque.simulate`` on one
device the ordinary way and with ``devices=k`` for each ``k`` in ``--devices``.
Every timed call is the whole ``simulate()`` a user makes: tracing and
compiling the loop (``simulate`` builds its program anew on every call),
laying the state out across the devices, the run, and gathering the spike
bits to the host.  The time loop alone is measured as the difference
between a call of ``2T`` and one of ``T`` steps, in which compile and set-up
cancel.

Honest reading: the k devices here are *simulated* with
``XLA_FLAGS=--xla_force_host_platform_device_count=k``; they are threads of
one process sharing this machine's cores (``os.cpu_count()`` is printed), so
no speed-up beyond the core count is possible and what the table shows is
the overhead and the parallelism of the sharded program, not what k GPUs
would give.  The XLA flag must be set before JAX starts, so this runs in a
fresh process (``section()`` starts one).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]

NOTE = ("The devices are simulated CPU devices (XLA_FLAGS=--xla_force_host_platform_device_count): threads of one "
        "process sharing the {cores} cores of this machine, so k devices cannot beat the core count; on real "
        "accelerators each device would bring its own compute and memory bandwidth. Each time is a whole "
        "simulate() call after a first one (tracing + compiling, which simulate() does on every call, + placing "
        "the state + the run + gathering the spike bits), median of {repeats}. 'in loop' is the time loop alone: "
        "N * T / (time of a 2T call - time of a T call), so compile and set-up cancel. "
        "No GPU was available for these measurements.")


def _device_flags(k: int) -> str:
    flags = os.environ.get("XLA_FLAGS", "")
    flags = " ".join(f for f in flags.split() if not f.startswith("--xla_force_host_platform_device_count"))
    return (flags + f" --xla_force_host_platform_device_count={k}").strip()


def measure(n: int, steps: int, repeats: int, device_counts: Sequence[int],
            log: Callable[[str], None] = print) -> Dict:
    """Time the runs in this process (which must already have ``max(device_counts)`` devices)."""
    import jax
    import numpy as np
    import saiunit as u

    import lapicque as lq

    if len(jax.devices()) < max(device_counts):
        raise RuntimeError(f"need {max(device_counts)} devices, have {len(jax.devices())}; run via section() or "
                           f"python -m benchmarks.sharding")
    current = np.linspace(0.5, 3.0, n, dtype=np.float32) * u.mA
    duration = steps * 0.1 * u.ms
    configs: List[Optional[int]] = [None] + list(device_counts)
    rows = []
    spikes_ref = None
    updates = float(n) * steps
    for k in configs:
        model = lq.LIF(n, tau=10 * u.ms)
        kw = {} if k is None else {"devices": k}
        t0 = time.perf_counter()
        res = lq.simulate(model, current, duration, progress=False, **kw)  # warm-up
        first_s = time.perf_counter() - t0
        count = res.spike_count
        if spikes_ref is None:
            spikes_ref = count
        same = bool(np.array_equal(count, spikes_ref))
        del res
        walls = {1: [], 2: []}
        cpus = []
        for r in range(repeats):
            for mult in ((1, 2) if r % 2 == 0 else (2, 1)):
                c0, w0 = time.process_time(), time.perf_counter()
                res = lq.simulate(model, current, mult * duration, progress=False, **kw)
                walls[mult].append(time.perf_counter() - w0)
                if mult == 1:
                    cpus.append(time.process_time() - c0)
                del res
        wall = float(np.median(walls[1]))
        loop_s = float(np.median(walls[2])) - wall  # the cost of `steps` more steps: no compile, no set-up
        row = {"config": "simulate()" if k is None else f"devices={k}", "devices": 1 if k is None else k,
               "N": n, "T": steps, "wall_s": wall, "cpu_s": float(np.median(cpus)), "first_s": first_s,
               "rate": updates / wall, "loop_rate": updates / loop_s if loop_s > 0 else float("nan"),
               "same_spikes": same, "spikes": int(count.sum())}
        rows.append(row)
        log(f"  {row['config']:>11}: {wall:.2f} s per call ({row['cpu_s']:.2f} s CPU; first call {first_s:.2f} s), "
            f"{row['rate']:.3g} neuron-updates/s per call, {row['loop_rate']:.3g} in the loop; "
            f"same spike counts as simulate(): {same}")
    base = next((r for r in rows if r["config"] == "devices=1"), rows[0])
    for r in rows:
        r["speedup"] = base["wall_s"] / r["wall_s"]
        r["loop_speedup"] = r["loop_rate"] / base["loop_rate"]
    return {"rows": rows, "cpu_count": os.cpu_count(), "jax": jax.__version__,
            "devices": [str(d) for d in jax.devices()], "load_average": list(os.getloadavg())}


def run_in_subprocess(n: int, steps: int, repeats: int, device_counts: Sequence[int],
                      log: Callable[[str], None] = print) -> Dict:
    """Run :func:`measure` in a fresh process with ``max(device_counts)`` simulated devices."""
    env = {**os.environ, "XLA_FLAGS": _device_flags(max(device_counts)), "JAX_PLATFORMS": "cpu"}
    cmd = [sys.executable, "-m", "benchmarks.sharding", "--json", "--n", str(n), "--steps", str(steps),
           "--repeats", str(repeats), "--devices", ",".join(map(str, device_counts))]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    result = None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
        else:
            log(line.rstrip())
    if proc.wait() != 0 or result is None:
        raise RuntimeError(f"benchmarks.sharding subprocess failed (exit {proc.returncode})")
    return result


def table(result: Dict, repeats: int):
    """The result as a ``benchmarks._common.Table``."""
    from ._common import Table

    t = Table("sharding", "7. Several devices: simulate(..., devices=k), LIF, simulated CPU devices",
              [("config", "run", "s"), ("devices", "devices", "g"), ("N", "N", "g"), ("T", "T", "g"),
               ("wall_s", "s per call", "s"), ("cpu_s", "CPU s", "s"), ("rate", "updates/s per call", "rate"),
               ("speedup", "vs devices=1", "x"), ("loop_rate", "updates/s in loop", "rate"),
               ("loop_speedup", "loop vs devices=1", "x"), ("first_s", "first call s", "s"),
               ("same_spikes", "same spike counts", "g")],
              note=NOTE.format(cores=result.get("cpu_count"), repeats=repeats))
    for r in result["rows"]:
        t.add(**r)
    t.note(f"Load average at the end: {result.get('load_average')} (other processes share the cores).")
    return t


def section(n: int = 10 ** 6, steps: int = 1000, repeats: int = 3, device_counts: Sequence[int] = (1, 2, 4),
            log: Callable[[str], None] = print):
    """Entry point for ``python -m benchmarks``: measure in a subprocess, return the table."""
    return table(run_in_subprocess(n, steps, repeats, device_counts, log=log), repeats)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.sharding", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=float, default=1e6, help="number of neurons (default 1e6)")
    p.add_argument("--steps", type=int, default=1000, help="time steps of 0.1 ms (default 1000)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per configuration (default 3)")
    p.add_argument("--devices", default="1,2,4", help="device counts (default 1,2,4)")
    p.add_argument("--json", action="store_true", help="measure in this process and print RESULT <json>")
    a = p.parse_args(argv)
    counts = [int(x) for x in a.devices.split(",") if x.strip()]
    n = int(a.n)
    if a.json:
        if "jax" not in sys.modules:
            os.environ["XLA_FLAGS"] = _device_flags(max(counts))
        result = measure(n, a.steps, a.repeats, counts, log=lambda m: print(m, flush=True))
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    print(f"simulate(..., devices=k): LIF, N={n:,}, T={a.steps}, devices {counts} (simulated, "
          f"{os.cpu_count()} cores)", flush=True)
    t = section(n, a.steps, a.repeats, counts)
    print()
    print(t.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
