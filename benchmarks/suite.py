"""The benchmark sections; each returns one or more :class:`Table`."""

from __future__ import annotations

import gc
import time
from typing import Dict, Optional, Sequence

from . import models as M
from ._common import Table, interleaved, load_average, loglog_slope, median
from .peers import PEERS, PeerUnavailable, build_peer

#: largest N * T recorded in one run (keeps a float32 spike record <= 1 GB)
MAX_ELEMS = 250_000_000


def steps_for(n: int, steps: int, max_elems: int = MAX_ELEMS) -> int:
    """T used at size ``n``: ``steps``, reduced so that ``n * T <= max_elems``."""
    return int(max(10, min(steps, max_elems // n)))


def _first(fn):
    """Warm-up: run ``fn`` twice; return (first-call s, second-call s, output of the first).

    Two calls, because a ``brainstate.transform.jit`` function is traced and
    compiled again on its second call when the first call changed the type
    of a state (brainpy.state models do: see the README).
    """
    t0 = time.perf_counter()
    out = fn()
    t1 = time.perf_counter()
    fn()
    return t1 - t0, time.perf_counter() - t1, out


def _rate(out, dt_ms=M.DT_MS) -> Optional[float]:
    try:
        return M.spike_rate_hz(out, dt_ms)
    except Exception:  # noqa: BLE001
        return None


# --------------------------------------------------------------------------
# 1. forward throughput
# --------------------------------------------------------------------------
def forward(models: Sequence[str], sizes: Sequence[int], steps: int, repeats: int,
            peers: Sequence[str] = PEERS, stores: Sequence[str] = ("float", "bool"),
            with_simulate: bool = True, log=print, tables_out: Optional[list] = None, progress=None):
    """Table 1 and 1b; ``tables_out`` receives both at once, ``progress()`` is called after every case."""
    main = Table("forward", "1. Forward simulation throughput (neuron-updates/s), lapicque vs brainpy.state", [
        ("model", "model", ""), ("N", "N", ""), ("T", "T", ""), ("store", "spikes stored as", ""),
        ("lapicque", "lapicque", "rate"), ("brainpy", "brainpy.state", "rate"), ("ratio", "lapicque/brainpy", "x"),
        ("ratio_cpu", "ratio by CPU time", "x"),
        ("lapicque_first_s", "lapicque 1st call (s)", "s"), ("brainpy_first_s", "brainpy 1st call (s)", "s"),
        ("lapicque_second_s", "lapicque 2nd call (s)", "s"), ("brainpy_second_s", "brainpy 2nd call (s)", "s"),
        ("lapicque_compile_s", "lapicque compile~ (s)", "s"), ("brainpy_compile_s", "brainpy compile~ (s)", "s"),
        ("lapicque_hz", "lapicque rate (Hz)", "rate"), ("brainpy_hz", "brainpy rate (Hz)", "rate"),
        ("load", "load avg (1 min)", ""),
    ], note=("Same loop for both: `brainstate.transform.for_loop` over T steps inside `brainstate.transform.jit`, "
             "`t = i*dt` via `brainstate.environ.context`, constant input current, dt = 0.1 ms; spikes of every step "
             "returned as `update` returns them (`float`) or as `bool`. Ratio by CPU time: process CPU seconds "
             "(less sensitive to other load than wall time; the peers' CPU includes all their threads). "
             "Median of the interleaved repeats after two "
             "warm-up calls; compile~ = 1st + 2nd call - 2 x median run (brainpy.state compiles twice: its first "
             "call changes a state's type, so the second call traces and compiles again). "
             "T is reduced at large N so the record stays "
             f"<= {MAX_ELEMS:.2g} elements."))
    other = Table("forward_other", "1b. Other simulators and `lapicque.simulate` (same N, T, dt, input)", [
        ("model", "model", ""), ("N", "N", ""), ("T", "T", ""), ("impl", "implementation", ""),
        ("rate", "updates/s", "rate"), ("lapicque", "lapicque (same run)", "rate"),
        ("ratio", "lapicque/impl", "x"), ("ratio_cpu", "ratio by CPU time", "x"), ("first_s", "1st call (s)", "s"),
        ("second_s", "2nd call (s)", "s"),
        ("hz", "rate (Hz)", "rate"),
        ("note", "note", ""),
    ], note=("Peers record spikes their own way (Brian2/NEST: event monitors; snnTorch/Norse: dense tensors). "
             "NEST runs `iaf_psc_delta`; torch and NEST use `--threads` threads."))
    if tables_out is not None:
        tables_out += [main, other]
    has_ref = M.has_reference()
    if not has_ref:
        main.note("brainpy is not installed: the reference columns are empty (pip install brainpy).")
    for name in models:
        for n in sizes:
            T = steps_for(n, steps)
            fns: Dict[str, object] = {}
            firsts, seconds, hz = {}, {}, {}
            for store in stores:
                impls = ("lapicque", "brainpy") if has_ref else ("lapicque",)
                for impl in impls:
                    fn, _ = M.build_forward(impl, name, n, T, store=store)
                    firsts[(impl, store)], seconds[(impl, store)], out = _first(fn)
                    if store == stores[0]:
                        hz[impl] = _rate(out)
                    del out
                    fns[(impl, store)] = fn
            extra = {}
            notes = {}
            if True:  # peers and lapicque.simulate, compared with the first store's run
                for peer in (peers if name in ("LIF", "LIFRef") else ()):
                    try:
                        fn = build_peer(peer, name, n, T)
                        firsts[(peer, "peer")], seconds[(peer, "peer")], out = _first(fn)
                        extra[peer] = fn
                        hz[peer] = _peer_rate(out, n, T)
                        del out
                    except PeerUnavailable as e:
                        notes[peer] = str(e)
                    except Exception as e:  # noqa: BLE001 - a broken peer must not stop the suite
                        notes[peer] = f"failed: {type(e).__name__}: {str(e)[:100]}"
                if with_simulate:
                    fn = M.build_simulate(name, n, T)
                    if fn is not None:
                        try:
                            firsts[("lapicque.simulate", "peer")], seconds[("lapicque.simulate", "peer")], out = \
                                _first(fn)
                            extra["lapicque.simulate"] = fn
                            del out
                        except Exception as e:  # noqa: BLE001
                            notes["lapicque.simulate"] = f"failed: {type(e).__name__}: {str(e)[:100]}"
            all_fns = {f"{k[0]}|{k[1]}": v for k, v in fns.items()}
            all_fns.update({f"{k}|peer": v for k, v in extra.items()})
            cpu = {}
            times = interleaved(all_fns, repeats, cpu=cpu)
            load = load_average()
            med = {k: median(v) for k, v in times.items()}
            cmed = {k: median(v) for k, v in cpu.items()}
            work = n * T
            for store in stores:
                lq = work / med[f"lapicque|{store}"]
                ref = work / med[f"brainpy|{store}"] if has_ref else None
                row = dict(model=name, N=n, T=T, store=store, lapicque=lq, brainpy=ref,
                           ratio=(lq / ref) if ref else None,
                           ratio_cpu=(cmed[f"brainpy|{store}"] / cmed[f"lapicque|{store}"]) if ref else None,
                           lapicque_first_s=firsts[("lapicque", store)],
                           brainpy_first_s=firsts.get(("brainpy", store)),
                           lapicque_second_s=seconds[("lapicque", store)],
                           brainpy_second_s=seconds.get(("brainpy", store)),
                           lapicque_compile_s=_compile(firsts, seconds, med, "lapicque", store),
                           brainpy_compile_s=_compile(firsts, seconds, med, "brainpy", store) if has_ref else None,
                           lapicque_hz=hz.get("lapicque") if store == stores[0] else None,
                           brainpy_hz=hz.get("brainpy") if store == stores[0] else None,
                           load=load[0] if load else None,
                           lapicque_s=med[f"lapicque|{store}"], brainpy_s=med.get(f"brainpy|{store}"))
                main.add(**row)
                log(f"  {name:10s} N={n:<8d} T={T:<6d} {store:5s} lapicque {lq:9.3g}/s  brainpy "
                    f"{(ref or float('nan')):9.3g}/s  ratio {(lq / ref) if ref else float('nan'):5.2f}  "
                    f"(load {load[0] if load else '?'})")
            lq_float = work / med[f"lapicque|{stores[0]}"]
            for impl in extra:
                r = work / med[f"{impl}|peer"]
                other.add(model=name, N=n, T=T, impl=impl, rate=r, lapicque=lq_float, ratio=lq_float / r,
                          ratio_cpu=cmed[f"{impl}|peer"] / cmed[f"lapicque|{stores[0]}"],
                          first_s=firsts[(impl, "peer")], second_s=seconds[(impl, "peer")], hz=hz.get(impl))
                log(f"  {name:10s} N={n:<8d} T={T:<6d} {impl:18s} {r:9.3g}/s  lapicque/{impl} {lq_float / r:6.2f}")
            for impl, why in notes.items():
                other.add(model=name, N=n, T=T, impl=impl, note=why)
            del fns, extra, all_fns
            gc.collect()
            if progress is not None:
                progress()
    return main, other


def _compile(firsts, seconds, med, impl, store):
    return max(0.0, firsts[(impl, store)] + seconds[(impl, store)] - 2 * med[f"{impl}|{store}"])


def _peer_rate(out, n, T):
    try:
        import numpy as np

        if isinstance(out, (int, float, np.integer)):
            return float(out) / (n * T * M.DT_MS * 1e-3)  # spike count of this call
        a = np.asarray(out)
        return float(a.mean() / (M.DT_MS * 1e-3))
    except Exception:  # noqa: BLE001
        return None


# --------------------------------------------------------------------------
# profile throughput: every model at one size
# --------------------------------------------------------------------------
def profile_throughput(models, n=10_000, steps=10_000, repeats=3, store="float", log=print):
    t = Table("profile", f"6. Profile: lapicque vs brainpy.state at N={n:,}, T={steps:,} ({store} spikes)", [
        ("model", "model", ""), ("lapicque", "lapicque (upd/s)", "rate"), ("brainpy", "brainpy (upd/s)", "rate"),
        ("ratio", "lapicque/brainpy", "x"), ("ratio_cpu", "ratio by CPU time", "x"), ("flag", "below 1.5x?", ""),
        ("lq_kernels", "lapicque kernels/step", ""), ("ref_kernels", "brainpy kernels/step", ""),
        ("lq_eqns", "lapicque jaxpr eqns/step", ""), ("ref_eqns", "brainpy jaxpr eqns/step", ""),
        ("lq_hlo", "lapicque HLO ops/step", ""), ("ref_hlo", "brainpy HLO ops/step", ""),
        ("load", "load avg", ""),
    ], note="Kernels/step: non-trivial instructions (mostly loop fusions, each one pass over the state) in the "
            "optimized HLO while body. Op counts: equations of the for_loop body jaxpr (recursively) and "
            "instructions of the optimized "
            "HLO while-body (fusions counted as their contents); see `python -m benchmarks.profile`.")
    from .profile import op_counts

    for name in models:
        fns = {}
        for impl in M.IMPLS:
            fn, _ = M.build_forward(impl, name, n, steps, store=store)
            _first(fn)
            fns[impl] = fn
        cpu = {}
        times = interleaved(fns, repeats, cpu=cpu)
        load = load_average()
        lq, ref = (n * steps / median(times[i]) for i in M.IMPLS)
        ratio_cpu = median(cpu["brainpy"]) / median(cpu["lapicque"])
        c_lq = op_counts("lapicque", name, store=store)
        c_ref = op_counts("brainpy", name, store=store)
        t.add(model=name, lapicque=lq, brainpy=ref, ratio=lq / ref, ratio_cpu=ratio_cpu,
              flag="yes" if ratio_cpu < 1.5 else "no",
              lq_kernels=c_lq["kernels_per_step"], ref_kernels=c_ref["kernels_per_step"],
              lq_eqns=c_lq["jaxpr_eqns"], ref_eqns=c_ref["jaxpr_eqns"], lq_hlo=c_lq["hlo_ops"],
              ref_hlo=c_ref["hlo_ops"], load=load[0] if load else None)
        log(f"  {name:10s} lapicque {lq:9.3g}/s brainpy {ref:9.3g}/s ratio {lq / ref:5.2f} (cpu {ratio_cpu:5.2f}) "
            f"eqns {c_lq['jaxpr_eqns']}/{c_ref['jaxpr_eqns']} hlo {c_lq['hlo_ops']}/{c_ref['hlo_ops']}")
        del fns
        gc.collect()
    return t


# --------------------------------------------------------------------------
# 2. training step
# --------------------------------------------------------------------------
def training(sizes=(4096, 8192), batch=16, steps=500, repeats=3, peers=("snntorch", "norse"), log=print):
    from .training import build_train

    t = Table("training", f"2. Training step (BPTT) of Linear({256}) -> LIF, batch {batch}, T = {steps}", [
        ("n", "n", ""), ("impl", "implementation", ""), ("step_s", "step (s, median)", "s"),
        ("ratio", "impl time / lapicque time", "x"), ("ratio_cpu", "same, by CPU time", "x"),
        ("first_s", "1st call (s)", "s"), ("second_s", "2nd call (s)", "s"),
        ("compile_s", "compile~ (s)", "s"), ("note", "note", ""), ("load", "load avg", ""),
    ], note="One step = reset, forward T steps, rate loss, backward through time, SGD update of the weights. "
            "Ratio > 1: lapicque is faster.")
    impls = ["lapicque"] + (["brainpy"] if M.has_reference() else []) + list(peers)
    for n in sizes:
        fns, firsts, seconds, notes = {}, {}, {}, {}
        for impl in impls:
            try:
                fn = build_train(impl, n, batch, steps)
                firsts[impl], seconds[impl], _ = _first(fn)
                fns[impl] = fn
            except PeerUnavailable as e:
                notes[impl] = str(e)
            except Exception as e:  # noqa: BLE001
                notes[impl] = f"failed: {type(e).__name__}: {str(e)[:100]}"
        cpu = {}
        times = interleaved(fns, repeats, cpu=cpu)
        load = load_average()
        lq = median(times["lapicque"])
        lq_cpu = median(cpu["lapicque"])
        for impl in impls:
            if impl in fns:
                m = median(times[impl])
                t.add(n=n, impl=impl, step_s=m, ratio=m / lq, ratio_cpu=median(cpu[impl]) / lq_cpu,
                      first_s=firsts[impl], second_s=seconds[impl],
                      compile_s=max(0.0, firsts[impl] + seconds[impl] - 2 * m), load=load[0] if load else None)
                log(f"  n={n} {impl:10s} step {m:.3g} s (first {firsts[impl]:.3g} s) ratio {m / lq:.2f}")
            else:
                t.add(n=n, impl=impl, note=notes[impl])
        del fns
        gc.collect()
    return t


# --------------------------------------------------------------------------
# 3. memory (subprocess per case) and scaling
# --------------------------------------------------------------------------
def memory(models=("LIF",), sizes=(1000, 10_000, 100_000, 1_000_000), steps=1000, peers=PEERS,
           train_sizes=(4096,), train_impls=("lapicque", "brainpy", "snntorch", "norse"), train_steps=500,
           threads=1, log=print):
    from .worker import spawn

    t = Table("memory", "3. Peak memory (resident set of a process that ran only this case)", [
        ("case", "case", ""), ("impl", "implementation", ""), ("N", "N", ""), ("T", "T", ""),
        ("rss_peak_mb", "peak RSS (MiB)", "mb"), ("growth_mb", "peak - RSS after imports (MiB)", "mb"),
        ("record_mb", "spike record (MiB, float32)", "mb"), ("run_s", "run (s)", "s"), ("note", "note", ""),
    ], note="Each case runs in a fresh `python -m benchmarks.worker` process: imports, build, first call, one "
            "timed call; peak = VmHWM of /proc/self/status (ru_maxrss where /proc is missing; ru_maxrss itself would "
            "start at the parent's peak after fork + exec).")
    impls = ["lapicque"] + (["brainpy"] if M.has_reference() else [])
    for name in models:
        for n in sizes:
            T = steps_for(n, steps)
            cases = [(impl, {"kind": "forward", "impl": impl, "model": name, "n": n, "steps": T}) for impl in impls]
            if name in ("LIF", "LIFRef"):
                cases += [(p, {"kind": "forward", "impl": p, "model": name, "n": n, "steps": T}) for p in peers]
            for impl, case in cases:
                r = spawn(case, threads=threads)
                _mem_row(t, f"forward {name}", impl, n, T, r, n * T * 4 / 2 ** 20)
                log(f"  forward {name} {impl:10s} N={n:<8d} T={T}: {r}")
    for n in train_sizes:
        for impl in train_impls:
            if impl == "brainpy" and not M.has_reference():
                continue
            r = spawn({"kind": "train", "impl": impl, "n": n, "batch": 16, "steps": train_steps}, threads=threads)
            _mem_row(t, "train Linear->LIF", impl, n, train_steps, r, None)
            log(f"  train {impl:10s} n={n}: {r}")
    return t


def _mem_row(t, case, impl, n, T, r, record_mb):
    if "error" in r:
        t.add(case=case, impl=impl, N=n, T=T, note=r["error"])
    else:
        t.add(case=case, impl=impl, N=n, T=T, rss_peak_mb=r["rss_peak_mb"],
              growth_mb=r["rss_peak_mb"] - r["rss_base_mb"], record_mb=record_mb, run_s=r["run_s"])


def scaling(forward_table: Optional[Table] = None, name="LIF", n=10_000,
            t_steps=(500, 1000, 2000, 4000, 8000), sizes=(10_000, 100_000, 1_000_000), steps=1000,
            repeats=3, log=print):
    """How run time grows with N and with T (log-log slopes).

    The N slope comes from the forward table's ``float`` rows (every model in
    it) or, without one, from an N scan of ``name``; the T slope from a T scan
    of ``name`` at ``N = n``.
    """
    t = Table("scaling", "3b. Growth of run time with N and T (log-log slope; 1.00 = linear)", [
        ("model", "model", ""), ("impl", "implementation", ""), ("axis", "axis", ""), ("range", "range", ""),
        ("slope", "slope", ""), ("points", "times (s)", ""),
    ], note="N slope: time per step against N for N >= 10^4 (below that a run is dominated by fixed per-call "
            "cost); T is reduced at large N, so the time per step is compared. T slope: a T scan at fixed N. "
            "Run times include writing the spike record, which at large N*T also means page-faulting a fresh "
            "output buffer.")
    impls = M.IMPLS if M.has_reference() else ("lapicque",)
    if forward_table is not None:
        rows = [r for r in forward_table.rows if r.get("store") == "float" and r["N"] >= 10_000]
    else:
        rows = []
        for size in sizes:
            T = steps_for(size, steps)
            fns = {}
            for impl in impls:
                fn, _ = M.build_forward(impl, name, size, T)
                _first(fn)
                fns[impl] = fn
            times = interleaved(fns, repeats)
            rows.append(dict(model=name, N=size, T=T, **{f"{i}_s": median(times[i]) for i in impls}))
            del fns
            gc.collect()
    for model in sorted({r["model"] for r in rows}, key=M.MODEL_NAMES.index):
        mrows = [r for r in rows if r["model"] == model]
        for impl in impls:
            pts = [(r["N"], r[f"{impl}_s"] / r["T"]) for r in mrows if r.get(f"{impl}_s")]
            if len(pts) >= 2:
                slope = loglog_slope([p[0] for p in pts], [p[1] for p in pts])
                t.add(model=model, impl=impl, axis="N (time per step)", range=f"{pts[0][0]:,}-{pts[-1][0]:,}",
                      slope=round(slope, 2), points=", ".join(f"{p[1]:.2e}" for p in pts))
                log(f"  N scan {model} {impl}: slope {slope:.2f}")
    fns = {}
    for steps_ in t_steps:
        for impl in impls:
            fn, _ = M.build_forward(impl, name, n, steps_)
            _first(fn)
            fns[f"{impl}|{steps_}"] = fn
    times = interleaved(fns, repeats)
    for impl in impls:
        ys = [median(times[f"{impl}|{s}"]) for s in t_steps]
        slope = loglog_slope(t_steps, ys)
        t.add(model=name, impl=impl, axis=f"T (N={n:,})", range=f"{t_steps[0]}-{t_steps[-1]}",
              slope=round(slope, 2), points=", ".join(f"{y:.3g}" for y in ys))
        log(f"  T scan {impl}: slope {slope:.2f}  times {ys}")
    return t


# --------------------------------------------------------------------------
# 4. memory bandwidth
# --------------------------------------------------------------------------
def bandwidth(n=1_000_000, steps=250, repeats=5, log=print):
    import jax
    import jax.numpy as jnp

    t = Table("bandwidth", f"4. Large N: LIF at N = {n:,} against memory-bandwidth limits (T = {steps})", [
        ("what", "run", ""), ("time_s", "time (s)", "s"), ("per_step_us", "per step (us)", ""),
        ("bytes_step", "bytes moved/step (min)", ""), ("gbs", "effective GB/s", ""),
        ("frac", "LIF / this (time)", "x"),
    ], note=("A plain copy of the LIF state (N float32) gives the machine's bandwidth; a bare `lax.scan` that "
             "only carries the state and writes it into a (T, N) record is the speed of light of any recorded "
             "loop. `LIF / this` is the LIF run time over that row's time: 1.00x = at the limit."))
    x = jnp.arange(n, dtype=jnp.float32)
    copy = jax.jit(lambda a: a * 1.0000001)

    def bare(store_bool):
        def body(c, _):
            c2 = c * 0.99 + 0.02
            return c2, (c2 > 1.0) if store_bool else c2
        return jax.jit(lambda c: jax.lax.scan(body, c, None, length=steps)[1])

    bare_f, bare_b = bare(False), bare(True)
    lif_f, _ = M.build_forward("lapicque", "LIF", n, steps, store="float")
    lif_b, _ = M.build_forward("lapicque", "LIF", n, steps, store="bool")
    fns = {
        "copy": lambda: copy(x).block_until_ready(),
        "bare_float": lambda: bare_f(x).block_until_ready(),
        "bare_bool": lambda: bare_b(x).block_until_ready(),
        "lif_float": lif_f, "lif_bool": lif_b,
    }
    if M.has_reference():
        fns["ref_float"], _ = M.build_forward("brainpy", "LIF", n, steps, store="float")
    for fn in fns.values():
        fn()
        fn()
    times = {k: median(v) for k, v in interleaved(fns, repeats).items()}
    st = 4 * n
    spec = {
        "copy": ("plain copy of the state (1 call)", 1, 2 * st),
        "bare_float": ("bare scan, float32 record", steps, 2 * st + st),
        "bare_bool": ("bare scan, bool record", steps, 2 * st + n),
        "lif_float": ("lapicque LIF, float32 spikes", steps, 2 * st + st),
        "lif_bool": ("lapicque LIF, bool spikes", steps, 2 * st + n),
        "ref_float": ("brainpy LIF, float32 spikes", steps, 2 * st + st),
    }
    copy_step = times["copy"]
    for k, (label, nsteps, b) in spec.items():
        if k not in times:
            continue
        per = times[k] / nsteps
        lif_key = "lif_bool" if "bool" in k else "lif_float"
        frac = times[lif_key] / times[k] if k.startswith("bare") else (
            (times["lif_float"] / steps) / copy_step if k == "copy" else None)
        t.add(what=label, time_s=times[k], per_step_us=round(per * 1e6, 1), bytes_step=f"{b / 1e6:.1f} MB",
              gbs=round(b / per / 1e9, 2), frac=frac)
        log(f"  {label:34s} {per * 1e6:9.1f} us/step  {b / per / 1e9:6.2f} GB/s")
    t.note(f"Copy row: `LIF / this` compares one LIF step (float) with one state copy ({copy_step * 1e6:.0f} us).")
    return t


# --------------------------------------------------------------------------
# 5. compile time of a 13-model demo
# --------------------------------------------------------------------------
def compile_demo(models, n=1000, steps=1000, threads=1, target_s=20.0, log=print):
    from .worker import spawn

    t = Table("compile", f"5. Compile time of a {len(models)}-model demo (fresh process, N={n}, T={steps})", [
        ("model", "model", ""), ("lapicque", "lapicque 1st call (s)", "s"), ("brainpy", "brainpy 1st call (s)", "s"),
        ("ratio", "brainpy/lapicque", "x"), ("lapicque2", "lapicque 2nd call (s)", "s"),
        ("brainpy2", "brainpy 2nd call (s)", "s"),
    ])
    res = {}
    for impl in M.IMPLS if M.has_reference() else ("lapicque",):
        res[impl] = spawn({"kind": "compile_demo", "impl": impl, "models": list(models), "n": n, "steps": steps},
                          threads=threads)
        log(f"  {impl}: {res[impl].get('total_s', res[impl])}")
    lq = res["lapicque"]
    ref = res.get("brainpy", {})
    if "error" in lq:
        t.note("lapicque failed: " + lq["error"])
        return t
    for name in models:
        a = lq["first_call_s"][name]
        b = ref.get("first_call_s", {}).get(name)
        t.add(model=name, lapicque=a, brainpy=b, ratio=(b / a) if b else None,
              lapicque2=lq["second_call_s"][name], brainpy2=ref.get("second_call_s", {}).get(name))
    t.add(model="**total**", lapicque=lq["total_s"], brainpy=ref.get("total_s"),
          ratio=(ref["total_s"] / lq["total_s"]) if ref.get("total_s") else None,
          lapicque2=lq.get("total2_s"), brainpy2=ref.get("total2_s"))
    verdict = "meets" if lq["total_s"] < target_s else "MISSES"
    t.note(f"Each first call = build the model, trace, compile and run {steps} steps once; imports excluded "
           f"(lapicque import {lq['import_s']:.2f} s). Total {lq['total_s']:.1f} s: {verdict} the "
           f"{target_s:.0f} s target.")
    return t

