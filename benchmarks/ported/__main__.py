"""``python -m benchmarks.ported``: the ported published scripts, lapicque vs brainpy.state (see the package doc)."""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from .._common import RESULTS_DIR, Table, interleaved, load_average, median, version_of, write_results
from . import RATE_RTOL, SCRIPTS

HERE = Path(__file__).resolve().parent


def summarize(out, dt_ms):
    """{name: mean rate (Hz)} of (T, N) spike arrays, or {'loss': value}."""
    res = {}
    for k, v in out.items():
        a = np.asarray(v.mantissa if hasattr(v, "mantissa") else v, dtype=float)
        res[k] = float(a) if a.ndim == 0 else float(a.sum() / a.shape[1] / (a.shape[0] * dt_ms * 1e-3))
    return res


def _build(lib, mod, seed=0):
    import brainstate
    import saiunit as u
    brainstate.random.seed(seed)
    brainstate.environ.set(dt=getattr(mod, "DT_MS", 0.1) * u.ms)
    run, outputs = mod.build(lib)

    def fn():
        import jax
        return jax.block_until_ready(run())

    return fn, outputs


def worker(name, repeats):
    """Run one script with both libraries in this process; print a RESULT line."""
    import brainpy
    import lapicque
    mod = importlib.import_module(f"benchmarks.ported.{name}")
    dt_ms = getattr(mod, "DT_MS", 0.1)
    res = {"script": name, "source": mod.SOURCE, "load": (load_average() or [None])[0]}
    fns, outs, first = {}, {}, {}
    for key, lib in (("brainpy", brainpy.state), ("lapicque", lapicque)):
        try:
            fn, outputs = _build(lib, mod)
            t = time.perf_counter()
            fn()
            first[key] = time.perf_counter() - t
            outs[key] = summarize(outputs(fn()), dt_ms)
            fns[key] = fn
        except Exception as err:  # noqa: BLE001 - a script that does not run is a result
            res[f"{key}_error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            traceback.print_exc()
    if len(fns) == 2:
        cpu = {}
        times = interleaved(fns, repeats, cpu=cpu, min_sample_s=0)
        res.update({f"{k}_s": median(v) for k, v in times.items()})
        res.update({f"{k}_cpu_s": median(v) for k, v in cpu.items()})
        res.update(first_s=first, outputs=outs, speedup=res["brainpy_s"] / res["lapicque_s"],
                   speedup_cpu=res["brainpy_cpu_s"] / res["lapicque_cpu_s"])
        res["agree"] = all(math.isclose(outs["lapicque"][k], v, rel_tol=RATE_RTOL, abs_tol=0.2)
                           for k, v in outs["brainpy"].items())
    res["load_end"] = (load_average() or [None])[0]
    print("RESULT " + json.dumps(res), flush=True)


def run_one(name, repeats, timeout):
    cmd = [sys.executable, "-m", "benchmarks.ported", "--worker", name, "--repeats", str(repeats)]
    try:
        p = subprocess.run(cmd, cwd=HERE.parents[1], capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, MPLBACKEND="Agg"))
    except subprocess.TimeoutExpired:
        return {"script": name, "lapicque_error": f"timeout after {timeout} s"}
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"script": name, "lapicque_error": " | ".join(p.stderr.strip().splitlines()[-2:])[-300:]}


def table_of(results):
    t = Table("ported", "brainpy.state's published scripts, ported by changing the import (same process, "
                        "interleaved)", [
        ("script", "script", "s"), ("brainpy_s", "brainpy.state (s)", "s"), ("lapicque_s", "lapicque (s)", "s"),
        ("speedup", "speed-up", "x"), ("speedup_cpu", "speed-up by CPU time", "x"),
        ("outputs", "rates Hz (bp / lq)", "s"),
        ("agree", "agree", "s"), ("load", "load", "s"), ("note", "note", "s")])
    for r in results:
        o = r.get("outputs") or {}
        rates = "; ".join(f"{k} {v:.3g} / {o['lapicque'].get(k, float('nan')):.3g}"
                          for k, v in o.get("brainpy", {}).items()) if o else ""
        t.add(script=r["script"], brainpy_s=r.get("brainpy_s"), lapicque_s=r.get("lapicque_s"),
              speedup=r.get("speedup"), speedup_cpu=r.get("speedup_cpu"), outputs=rates,
              agree={True: "yes", False: "NO"}.get(r.get("agree"), "-"), load=r.get("load"),
              note="; ".join(f"{k}: {r[k]}" for k in ("brainpy_error", "lapicque_error") if r.get(k)))
    return t


def geomean(results, key="speedup"):
    xs = [r[key] for r in results if r.get(key) and r.get("agree")]
    return (math.exp(sum(map(math.log, xs)) / len(xs)), len(xs)) if xs else (float("nan"), 0)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.ported", description=__doc__)
    p.add_argument("--scripts", default=",".join(SCRIPTS))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--timeout", type=int, default=1200)
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--stem", default="ported")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        return worker(a.worker, a.repeats)
    results = []
    for name in a.scripts.split(","):
        results.append(run_one(name, a.repeats, a.timeout))
        r = results[-1]
        print(f"  {name}: " + (f"brainpy.state {r['brainpy_s']:.3f} s, lapicque {r['lapicque_s']:.3f} s, "
                               f"{r['speedup']:.2f}x (CPU {r['speedup_cpu']:.2f}x), outputs agree: {r['agree']}"
                               if "speedup" in r else f"failed: {r.get('brainpy_error') or r.get('lapicque_error')}"),
              flush=True)
    t = table_of(results)
    g, n = geomean(results)
    gc, _ = geomean(results, "speedup_cpu")
    t.note(f"Geometric-mean speed-up of lapicque over brainpy.state: {g:.2f}x wall, {gc:.2f}x CPU time, over {n} "
           f"of {len(results)} scripts (those that ran on both with agreeing outputs).")
    info = {"brainpy": version_of("brainpy"), "lapicque": version_of("lapicque"), "jax": version_of("jax"),
            "brainstate": version_of("brainstate"), "brainevent": version_of("brainevent")}
    paths = write_results([t], info, a.out, a.stem)
    (a.out / f"{a.stem}_raw.json").write_text(json.dumps(results, indent=1, default=str))
    print()
    print(t.markdown())
    print(f"wrote {paths['markdown']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
