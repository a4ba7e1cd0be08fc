r"""``python -m benchmarks.network``: the E/I network of Brette et al. (2007) in lapicque, brainpy.state, Brian2,
ANNarchy, NEST.

The network (``/work/shared/reference/NETWORKS.md``): N leaky integrate-and-fire neurons, 80 % excitatory,
C = 200 pF, g_L = 10 nS, V_th = -50 mV, V_reset = -60 mV, 5 ms refractory, exponential synapses (5 ms E,
10 ms I), a 0.1 ms synaptic delay, dt = 0.1 ms, 1 s of biological time.

* **COBA** (benchmark 1): E_L = -60 mV, 200 pA bias, conductances 6 nS (E_rev 0 mV) and 67 nS (-80 mV).
* **CUBA** (benchmark 2, in current units): E_L = -49 mV, no bias, currents +16.2 pA and -90 pA
  (Brette's 1.62 mV and -9 mV jumps times g_L).

**One seeded edge list for every simulator.**  Each presynaptic neuron gets K targets drawn uniformly with
replacement (fixed out-degree, multapses and autapses allowed: NEST's ``fixed_outdegree`` and brainstate's
``EventFixedProb`` rule), drawn by ``numpy.random.RandomState(seed).randint(0, N, (n_pre, K))`` separately for the
E rows (seed 1) and the I rows (seed 2) -- exactly what ``brainstate.nn.EventFixedProb(n_pre, N, K, seed=...)``
draws, so brainpy.state builds the identical network with its own API, and lapicque (``EdgeList``), Brian2
(``Synapses.connect(i=, j=)``) and NEST (``Connect`` with arrays) are fed the same pairs.  The initial V are one
seeded Normal(-55 mV, 5 mV) draw.  K = 0.02 N (fixed p) or K = 80 (fixed K).

Simulators (``--impls``):

* ``script`` (one process, five rows, timed interleaved; :mod:`benchmarks._network_script`): what ported code
  runs -- the brainpy.state script in its own ``brainstate.transform.for_loop`` returning float spikes:
  ``brainpy`` (brainpy.state, ``brainstate.nn.EventFixedProb`` comms, brainevent's numba kernels),
  ``lapicque-script`` (**the unchanged script**, import changed, still ``EventFixedProb`` comms),
  ``lapicque-script-own`` (the same loop with ``lapicque.EdgeList`` comms), ``loop-floor`` (the same loop and
  (T, N) float output, no network) and ``lapicque-same-process`` (``lapicque.simulate`` in that process);
  its ratios are brainpy.state's time over the row's (same process).  Run up to ``--script-max-n``;
* ``lapicque``: the brainpy.state script with the import changed (``LIFRef``, ``AlignPostProj`` + ``Expon.desc`` +
  ``COBA.desc``/``CUBA.desc``, 0.1 ms delay; comms ``lapicque.EdgeList``, which propagate with lapicque's native
  event kernel), run by ``lapicque.simulate(net, None, 1 * u.second, spikes='count')``;
* ``lapicque-pool1``: the same, with XLA's CPU client created while the process may use one core, so its
  intra-op pool has one thread (see :func:`_xla_pool_of_one`);
* ``lapicque-fused`` (only when named): the two projections in one ``lapicque.FusedProj``;
* ``brian2-standalone`` / ``brian2-numpy``: Brian2 of ``--peer-python`` (2.9 on Python 3.11), ``cpp_standalone``
  (g++, one thread) and the runtime numpy target;
* ``brian2.11-standalone``: Brian2 2.11 (Python >= 3.13) ``cpp_standalone``, from ``--brian2-new-python``;
* ``annarchy``: ANNarchy 5 (C++ code generation, one thread), from ``--annarchy-python``;
* ``nest-2`` / ``nest-1``: ``iaf_cond_exp`` (COBA) or ``iaf_psc_exp`` (CUBA) on 2 / 1 threads.

Every other run is its own process (peak memory is that process's maximum RSS).  Reported per run: build
(network construction), compile (first run minus a steady run for the JIT simulators; code generation + C++
build + binary start for Brian2 ``cpp_standalone`` and ANNarchy), run (the median of the steady 1 s runs:
seconds per biological second; Brian2 standalone and ANNarchy run their compiled program ``--repeats`` times),
its process CPU time, E/I rates, peak memory.  A timing *counts* only if both rates agree within 5 % with the
median of all simulators of that case; otherwise it is printed with a cross.  Ratios are peer time / lapicque
time (> 1: lapicque faster); the ``script`` rows' ratios are brainpy.state's time / the row's, same process.
Kernels per step (XLA thunks in the optimized HLO of one step, :mod:`benchmarks.hlo_kernels`) are counted for
``simulate`` and the user's loop at the first size of each model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ._common import RESULTS_DIR, Table, load_average, version_of, write_results
from ._network_peers import _peak_mb  # the peers' workers measure memory the same way
from ._network_script import VARIANTS as SCRIPT_ROWS
from .peer_envs import default_python

HERE = Path(__file__).resolve().parent
PEERS_SCRIPT = HERE / "_network_peers.py"
IMPLS = ("lapicque", "lapicque-pool1", "lapicque-fused", "script", "brian2-standalone", "brian2.11-standalone",
         "annarchy", "brian2-numpy", "nest-2", "nest-1")
#: the table's rows in order: the ``script`` group is one process with several rows
ROWS = ("lapicque", "lapicque-pool1", "lapicque-fused") + SCRIPT_ROWS + IMPLS[4:]
#: which interpreter option runs which peer, and the module it needs
PEER_OF = {"brian2-standalone": ("peer_python", "brian2"), "brian2-numpy": ("peer_python", "brian2"),
           "nest-2": ("peer_python", "nest"), "nest-1": ("peer_python", "nest"),
           "brian2.11-standalone": ("brian2_new_python", "brian2"), "annarchy": ("annarchy_python", "ANNarchy")}
RATE_RTOL = 0.05
#: left out of --quick: slow (NEST on one thread: ~10 s; Brian2 standalone and ANNarchy: a C++ build of 30-90 s)
#: or redundant
QUICK_SKIP = ("nest-1", "brian2-standalone", "brian2.11-standalone", "annarchy", "lapicque-pool1")
#: not run unless named in --impls
OPTIONAL = ("lapicque-fused",)
SEED_E, SEED_I, SEED_V = 1, 2, 3

# the parameters of benchmarks/_network_peers.py, in lapicque's units (mV, nS, pA, ms)
PARAMS = {
    "COBA": dict(E_L=-60., I_e=200., w_e=6., w_i=67., tau_e=5., tau_i=10., E_e=0., E_i=-80.),
    "CUBA": dict(E_L=-49., I_e=0., w_e=16.2, w_i=-90., tau_e=5., tau_i=10.),
}


# --------------------------------------------------------------------------------------------------------------------
# the network file
# --------------------------------------------------------------------------------------------------------------------
def make_network(n: int, k: int, path: Path) -> Path:
    """Write the seeded edge list (fixed out-degree ``k``) and initial potentials of an ``n``-neuron network."""
    n_e = int(0.8 * n)
    t_e = np.random.RandomState(SEED_E).randint(0, n, size=(n_e, k))
    t_i = np.random.RandomState(SEED_I).randint(0, n, size=(n - n_e, k))
    pre = np.repeat(np.arange(n), k).astype(np.int32)
    post = np.concatenate([t_e.ravel(), t_i.ravel()]).astype(np.int32)
    V0 = np.random.RandomState(SEED_V).normal(-55., 5., n)
    np.savez(path, pre=pre, post=post, V0=V0, n_e=n_e, k=k)
    return path


# --------------------------------------------------------------------------------------------------------------------
# lapicque and brainpy.state: the same brainpy.state-style script, the library a parameter
# --------------------------------------------------------------------------------------------------------------------
def build_ei(bp, model, net, comm, fused=False):
    """The brainpy.state COBA/CUBA script (one population, E and I projections); ``bp`` is the library.

    ``fused``: lapicque only, the two projections run as one :class:`lapicque.FusedProj` (one event call per step).
    """
    import brainstate
    import braintools
    import saiunit as u
    p = PARAMS[model]
    n, n_e = net["V0"].size, int(net["n_e"])
    V0 = np.asarray(net["V0"], dtype=np.float32)
    w_unit = u.nS if model == "COBA" else u.pA

    def syn(tau):  # CUBA: the synaptic variable is a current (pA)
        g0 = braintools.init.Constant(0. * w_unit)
        return bp.Expon.desc(n, tau=tau * u.ms, g_initializer=g0)

    def out(E, sign=1.):
        return bp.COBA.desc(E=E * u.mV) if model == "COBA" else bp.CUBA.desc(scale=sign * 1.)

    class EINet(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.pop = bp.LIFRef(n, R=100. * u.Mohm, tau=20. * u.ms, tau_ref=5. * u.ms, V_rest=p["E_L"] * u.mV,
                                 V_th=-50. * u.mV, V_reset=-60. * u.mV, spk_reset="hard",
                                 V_initializer=lambda shape, *a, **k: u.math.asarray(V0) * u.mV)
            self.E = bp.AlignPostProj(comm=comm("E", p["w_e"] * w_unit), syn=syn(p["tau_e"]),
                                      out=out(p.get("E_e", 0.)), post=self.pop, delay=0.1 * u.ms)
            self.I = bp.AlignPostProj(comm=comm("I", abs(p["w_i"]) * w_unit), syn=syn(p["tau_i"]),
                                      out=out(p.get("E_i", 0.), -1.), post=self.pop, delay=0.1 * u.ms)
            self.both = bp.FusedProj(self.E, self.I) if fused else None

        def update(self, i=None):  # lapicque.simulate sets t itself; a bare for_loop passes the step index
            if i is None:
                return self.step()
            with brainstate.environ.context(i=i, t=i * brainstate.environ.get_dt()):
                return self.step()

        def step(self):
            spk = self.pop.get_spike() != 0.
            if self.both is not None:
                self.both(spk)
            else:
                self.E(spk[:n_e])
                self.I(spk[n_e:])
            self.pop(p["I_e"] * u.pA)
            spk = self.pop.get_spike() != 0.
            return spk[:n_e].sum(), spk[n_e:].sum()

    return EINet()


def _lapicque_comm(net):
    import lapicque
    n, n_e = net["V0"].size, int(net["n_e"])
    pre, post = net["pre"], net["post"]
    exc = pre < n_e
    edges = {"E": (n_e, pre[exc], post[exc]), "I": (n - n_e, pre[~exc] - n_e, post[~exc])}
    return lambda which, w: lapicque.EdgeList(edges[which][0], n, edges[which][1], edges[which][2], w)


def _brainpy_comm(net):
    import brainstate
    n, n_e, k = net["V0"].size, int(net["n_e"]), int(net["k"])
    sizes, seeds = {"E": n_e, "I": n - n_e}, {"E": SEED_E, "I": SEED_I}
    return lambda which, w: brainstate.nn.EventFixedProb(sizes[which], n, conn_num=k, conn_weight=w,
                                                         seed=seeds[which])


def _timed(fn, repeats):
    """Wall and process CPU times of every call (the first compiles), and the last call's output."""
    times, cpu, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return times, cpu, out


def run_jax(spec, net):
    """Worker for lapicque (through lapicque.simulate), one process per run."""
    import brainstate
    import lapicque
    import saiunit as u
    brainstate.environ.set(dt=0.1 * u.ms)
    n, n_e, seconds = net["V0"].size, int(net["n_e"]), spec["duration_s"]
    t0 = time.perf_counter()
    fused = spec["impl"].startswith("lapicque-fused")
    model = build_ei(lapicque, spec["model"], net, _lapicque_comm(net), fused=fused)
    fn = lambda: lapicque.simulate(model, None, seconds * u.second, spikes="count")  # noqa: E731
    note = "simulate, EdgeList comms" + (" in one FusedProj" if fused else "")
    note += ", XLA pool of 1 thread" if spec["impl"].endswith("-pool1") else ""
    build = time.perf_counter() - t0
    times, cpu, out = _timed(fn, spec["repeats"])
    counts = np.asarray(next(iter(out.values())).spike_count)  # the one population (its name is the engine's)
    rates = (counts[:n_e].sum() / n_e / seconds, counts[n_e:].sum() / (n - n_e) / seconds)
    steady = times[1:] or times
    run = statistics.median(steady)
    return dict(build_s=build, compile_s=times[0] - run, run_s=run, first_s=times[0], all_s=times,
                cpu_s=statistics.median(cpu[1:] or cpu), rates=[float(r) for r in rates],
                version=version_of("lapicque"), note=note)


def run_script(spec, net):
    """Worker for the ``script`` group: the ported script's variants in this one process (see _network_script)."""
    import brainstate
    import saiunit as u
    from ._network_script import run_group
    brainstate.environ.set(dt=0.1 * u.ms)
    comms = {"brainstate": _brainpy_comm(net), "lapicque": _lapicque_comm(net)}
    group = run_group(spec, net, build_ei, comms)
    versions = {"brainpy": version_of("brainpy")}
    for name, r in group.items():
        r["version"] = versions.get(name, version_of("lapicque") if name.startswith("lapicque") else "")
    return {"group": group}


# --------------------------------------------------------------------------------------------------------------------
# orchestration: one process per run
# --------------------------------------------------------------------------------------------------------------------
def _xla_pool_of_one():
    """Create XLA's CPU client while this process may run on one core only, so its intra-op pool has one thread.

    XLA sizes that pool by the schedulable CPUs at client creation; a loop body of more than 8 kernels then runs
    them on the pool with cross-thread hand-offs (xla/backends/cpu/runtime/thunk_executor.cc), which costs more
    than the kernels at N = 4000.  The affinity is restored at once: only the pool's thread stays on that core.
    """
    import jax
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        jax.devices()
    finally:
        os.sched_setaffinity(0, cpus)


def worker(spec_path):
    """``--worker SPEC``: run one lapicque / brainpy.state case in this process and print its RESULT line."""
    with open(spec_path) as fh:
        spec = json.load(fh)
    if spec["impl"].endswith("-pool1"):
        _xla_pool_of_one()
    net = dict(np.load(spec["net_file"]))
    out = run_script(spec, net) if spec["impl"] == "script" else run_jax(spec, net)
    out["peak_mb"] = _peak_mb()
    print("RESULT " + json.dumps(out), flush=True)


def run_case(spec, workdir, python, timeout):
    """Run one case in a fresh process of ``python``; returns its RESULT dict, or a dict with an ``error``.

    Peers run ``_network_peers.py`` with their interpreter's ``bin/`` first on ``PATH`` (ANNarchy calls the
    ``cmake`` installed next to it: the system's may be too old).
    """
    path = Path(workdir) / f"spec_{spec['impl']}_{spec['model']}_{spec['n']}_{spec['k']}.json"
    path.write_text(json.dumps(spec))
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]), MPLBACKEND="Agg")
    if spec["impl"] in PEER_OF:
        cmd = [python, str(PEERS_SCRIPT), str(path)]
        env["PATH"] = os.pathsep.join([str(Path(python).parent), env.get("PATH", "")])
    else:
        cmd = [python, "-m", "benchmarks.network", "--worker", str(path)]
    load0 = (load_average() or [None])[0]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=HERE.parent, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout} s"}
    load1 = (load_average() or [None])[0]
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            out = json.loads(line[len("RESULT "):])
            out["wall_s"] = time.perf_counter() - t0
            out["load"] = None if load0 is None or load1 is None else round((load0 + load1) / 2, 1)
            return out
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": " | ".join(tail)[-300:] or f"exit code {proc.returncode}"}


def expand(impl, result):
    """The table rows of one process: the ``script`` group gives one per variant (sharing load and memory)."""
    if "group" not in result:
        return {impl: result}
    return {name: dict(r, load=result.get("load"), peak_mb=result.get("peak_mb"), impl=name)
            for name, r in result["group"].items()}


def impl_threads(impl):
    return 2 if impl == "nest-2" else 1


def agreement(results):
    """Mark each run whose E and I rates are within RATE_RTOL of the median over all runs of the case."""
    ok = {i: r for i, r in results.items() if r.get("rates")}  # the loop floor has none
    if not ok:
        return None
    med = [statistics.median(r["rates"][k] for r in ok.values()) for k in (0, 1)]
    for r in ok.values():
        r["rate_dev"] = max(abs(r["rates"][k] - med[k]) / med[k] if med[k] > 0 else 0. for k in (0, 1))
        r["counts"] = r["rate_dev"] <= RATE_RTOL
    return med


# --------------------------------------------------------------------------------------------------------------------
# tables and plot
# --------------------------------------------------------------------------------------------------------------------
COLUMNS = [("model", "model", "s"), ("conn", "connectivity", "s"), ("n", "N", "g"), ("k", "K", "g"),
           ("impl", "simulator", "s"), ("note", "what ran", "s"), ("build_s", "build s", "s"),
           ("compile_s", "compile s", "s"), ("run_s", "run s per bio s", "s"),
           ("first_total_s", "build+first run s", "s"),
           ("cpu_s", "run CPU s", "s"), ("load", "load", "s"), ("rate_e", "E Hz", "rate"), ("rate_i", "I Hz", "rate"),
           ("agree", "rates agree", "s"), ("peak_mb", "peak MB", "mb"), ("ratio", "peer / lapicque (run)", "x"),
           ("ratio_cpu", "peer / lapicque (CPU)", "x"), ("ratio_first", "peer / lapicque (build+first)", "x"),
           ("vs_brainpy", "brainpy.state / row (same process)", "x"),
           ("vs_brainpy_cpu", "brainpy.state / row (CPU, same process)", "x"), ("kernels", "kernels per step", "s")]


def _ratio(a, b):
    return a / b if a and b else None


def _row(model, conn, n, k, impl, r, ref, bp):
    """One table row; ``ref``: the lapicque simulate run of the case, ``bp``: brainpy.state's script run."""
    row = dict(model=model, conn=conn, n=n, k=k, impl=impl)
    if "error" in r:
        row.update(note="failed: " + r["error"][:120])
        return row
    first_total = r["build_s"] + r["first_s"]
    row.update(note=f"{r.get('version', '')} {r.get('note', '')}".strip(), build_s=r["build_s"],
               compile_s=r.get("compile_s"), run_s=r["run_s"], first_total_s=first_total, cpu_s=r.get("cpu_s"),
               load=r.get("load"), peak_mb=r.get("peak_mb"), kernels=(r.get("kernels") or {}).get("text"))
    if r.get("rates"):
        row.update(rate_e=r["rates"][0], rate_i=r["rates"][1],
                   agree=("yes" if r.get("counts") else f"NO ({100 * r.get('rate_dev', 0):.1f}%)"))
    if ref and "run_s" in ref and impl != ref.get("impl") and impl not in SCRIPT_ROWS:
        row["ratio"] = r["run_s"] / ref["run_s"]
        row["ratio_cpu"] = _ratio(r.get("cpu_s"), ref.get("cpu_s"))
        row["ratio_first"] = first_total / (ref["build_s"] + ref["first_s"])
    if bp and "run_s" in bp and impl in SCRIPT_ROWS and impl != "brainpy":
        row["vs_brainpy"] = bp["run_s"] / r["run_s"]
        row["vs_brainpy_cpu"] = _ratio(bp.get("cpu_s"), r.get("cpu_s"))
    return row


def plot(rows, path):
    """Log-log run time per biological second against N, one panel per connectivity rule (COBA)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    conns = sorted({r["conn"] for r in rows})
    if not conns:
        return None
    fig, axes = plt.subplots(1, len(conns), figsize=(5.5 * len(conns), 4.2), squeeze=False)
    for ax, conn in zip(axes[0], conns):
        for impl in ROWS:
            pts = sorted((r["n"], r["run_s"]) for r in rows if r["conn"] == conn and r["impl"] == impl
                         and r["model"] == "COBA" and r.get("run_s") and r.get("agree") == "yes")
            if pts:
                ax.loglog(*zip(*pts), "o-", label=impl)
        ax.set(title=f"COBA, {conn}", xlabel="neurons N", ylabel="seconds per biological second")
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


#: the summary's columns: (row, header); the script rows compare with brainpy.state, the rest with simulate
SCRIPT_HEAD = [("brainpy", "brainpy.state script"), ("lapicque-script", "unchanged brainpy.state script"),
               ("lapicque-script-own", "lapicque comm, user's loop"), ("loop-floor", "loop floor (no network)"),
               ("lapicque-same-process", "simulate, same process")]
PEER_HEAD = [("lapicque", "simulate"), ("lapicque-pool1", "simulate, 1 XLA thread"),
             ("brian2-standalone", "Brian2 2.9 standalone"), ("brian2.11-standalone", "Brian2 2.11 standalone"),
             ("annarchy", "ANNarchy 5"), ("brian2-numpy", "Brian2 numpy"), ("nest-2", "NEST 2 thr"),
             ("nest-1", "NEST 1 thr")]


#: the headline: what a user runs, every time against brainpy.state's unchanged script (1x); the script rows are
#: one process (interleaved), simulate and the peers their own processes in the same run
HEADLINE = [("brainpy", "brainpy.state script (1x)"), ("lapicque-script", "unchanged brainpy.state script"),
            ("lapicque", "simulate"), ("brian2-standalone", "Brian2 2.9 standalone"),
            ("brian2.11-standalone", "Brian2 2.11 standalone"), ("annarchy", "ANNarchy 5")]


def headline_rows(rows):
    """``vs_brainpy_all`` (brainpy.state's run time / the row's) on every headline row of each case."""
    out = []
    for key in _cases(rows):
        by = {r["impl"]: r for r in rows if (r["model"], r["conn"], r["n"], r["k"]) == key}
        bp = by.get("brainpy", {}).get("run_s")
        for impl, _ in HEADLINE:
            r = by.get(impl)
            if r is not None:
                out.append(dict(r, vs_brainpy_all=(bp / r["run_s"] if bp and r.get("run_s") and impl != "brainpy"
                                                   else None)))
    return out


def _cases(rows):
    cases = []
    for r in rows:
        key = (r["model"], r["conn"], r["n"], r["k"])
        if key not in cases:
            cases.append(key)
    return cases


def _cell(r, ratio_key, cpu_key):
    if not r.get("run_s"):
        return "failed" if r else "-"
    text = f"{r['run_s']:.3g} s"
    if r.get(ratio_key) is not None:
        text += f" ({r[ratio_key]:.2f}x"
        text += f"; CPU {r[cpu_key]:.2f}x)" if r.get(cpu_key) is not None else ")"
    return text + ("" if r.get("agree", "yes") == "yes" else " ✗")


def _pivot(rows, heads, ratio_key, cpu_key, extra=()):
    heads = [(i, h) for i, h in heads if any(r["impl"] == i for r in rows)]
    if not heads:
        return ""
    head = ["model", "connectivity", "N", "K"] + [h for _, h in heads] + [h for h, _ in extra]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for key in _cases(rows):
        by = {r["impl"]: r for r in rows if (r["model"], r["conn"], r["n"], r["k"]) == key}
        if not any(i in by for i, _ in heads):
            continue
        cells = [key[0], key[1], f"{key[2]:,}", str(key[3])] + [_cell(by.get(i, {}), ratio_key, cpu_key)
                                                                 for i, _ in heads]
        cells += [fn(by) for _, fn in extra]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _first(impl):
    return lambda by: f"{by[impl]['first_total_s']:.3g} s" if by.get(impl, {}).get("first_total_s") else "-"


def summary(table, reference="lapicque"):
    """Markdown: (1) the ported script in one process, ratios = brainpy.state / row (wall; CPU); (2) simulate
    against the peers, ratios = peer / simulate (wall; CPU); (3) kernels per step.  A cross: rates off by > 5 %."""
    rows = table.rows
    out = ["**Headline: what users run** (x = brainpy.state script's time / the row's; the script rows in one "
           "process, simulate and each peer in its own process of the same run; a cross: rates off by > 5 %, the "
           "time does not count)\n",
           _pivot(headline_rows(rows), HEADLINE, "vs_brainpy_all", None),
           "\n**The ported script** (one process, interleaved; x = brainpy.state's time / the row's)\n",
           _pivot(rows, SCRIPT_HEAD, "vs_brainpy", "vs_brainpy_cpu"),
           f"\n**simulate and the peers** (one process each; x = peer / {reference})\n",
           _pivot(rows, PEER_HEAD, "ratio", "ratio_cpu",
                  extra=[(f"{reference} build+first run", _first(reference)),
                         ("Brian2 2.9 build+run", _first("brian2-standalone")),
                         ("Brian2 2.11 build+run", _first("brian2.11-standalone")),
                         ("ANNarchy build+run", _first("annarchy"))])]
    kern = [(r["model"], r["n"], r["impl"], r["kernels"]) for r in rows if r.get("kernels")]
    if kern:
        out.append("\n**Kernels per step** (XLA thunks in the optimized HLO of one step)\n")
        out += [f"- {m} N={n:,} {impl}: {text}" for m, n, impl, text in kern]
    return "\n".join(out) + "\n"


def peers_available(a):
    """``{impl: version or None}`` and ``{impl: reason}`` for every peer of ``a.impls`` (can its interpreter
    import it?)."""
    found, why, cache = {}, {}, {}
    for impl in a.impls.split(","):
        if impl not in PEER_OF:
            continue
        option, mod = PEER_OF[impl]
        python = getattr(a, option)
        if not python:
            found[impl], why[impl] = None, f"no interpreter (--{option.replace('_', '-')}; see benchmarks/peer_envs.py)"
            continue
        if (python, mod) not in cache:
            code = f"import {mod}; print({mod}.__version__)"
            try:
                p = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
                ok = p.returncode == 0 and p.stdout.strip()
                cache[python, mod] = (p.stdout.strip().splitlines()[-1] if ok else None,
                                      None if ok else (p.stderr.strip().splitlines() or ["?"])[-1][:200])
            except (OSError, subprocess.TimeoutExpired) as err:
                cache[python, mod] = (None, str(err)[:200])
        found[impl], reason = cache[python, mod]
        if reason:
            why[impl] = f"{python} cannot import {mod}: {reason}"
    return found, why


# --------------------------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.network", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="N = 4000, COBA only, lapicque + brainpy.state + the fast installed peers (< 2 min)")
    p.add_argument("--sizes", default="4000,8000,16000,32000")
    p.add_argument("--models", default="COBA,CUBA")
    p.add_argument("--conns", default="p,K", help="p: K = 0.02 N; K: K = 80")
    p.add_argument("--impls", default=",".join(i for i in IMPLS if i not in OPTIONAL),
                   help=f"comma-separated subset of {','.join(IMPLS)}")
    p.add_argument("--reference", default="lapicque", help="the lapicque row the ratios are taken against")
    p.add_argument("--slow-max-n", type=int, default=8000,
                   help="largest N for the slow peers (brian2-numpy, nest-1); 0 = no limit")
    p.add_argument("--cuba-sizes", default="4000,16000", help="sizes of the CUBA model (a subset of --sizes)")
    p.add_argument("--peer-python", default=sys.executable,
                   help="interpreter with brian2 (2.9) / nest installed (Brian2 2.9 wants numpy < 2.4)")
    p.add_argument("--brian2-new-python", default=default_python("brian2-2.11"),
                   help="interpreter with Brian2 2.11 (Python >= 3.13; `python -m benchmarks.peer_envs install`)")
    p.add_argument("--annarchy-python", default=default_python("annarchy"),
                   help="interpreter with ANNarchy 5 and cmake (`python -m benchmarks.peer_envs install`)")
    p.add_argument("--script-max-n", type=int, default=16000,
                   help="largest N of the `script` group (its (T, N) float output: 0.64 GB at 16,000)")
    p.add_argument("--duration", type=float, default=1.0, help="biological seconds per run")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed runs per process (JAX: after the compiling call(s); compiled peers: runs of the binary)")
    p.add_argument("--rounds", type=int, default=1,
                   help="run every process of a case this many times, alternating the order; medians are reported")
    p.add_argument("--timeout", type=int, default=900, help="seconds per process")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--stem", default=None)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def plan(a):
    """The (model, conn, n, k) cases; at N = 4000 the two rules are one network (K = 80 = 0.02 N)."""
    sizes = [4000] if a.quick else [int(float(s)) for s in a.sizes.split(",")]
    models = ["COBA"] if a.quick else a.models.split(",")
    cases = []
    for model in models:
        for n in sizes:
            if model == "CUBA" and not a.quick and n not in [int(float(c)) for c in a.cuba_sizes.split(",")]:
                continue
            ks = {}
            for conn in a.conns.split(","):
                k = int(round(0.02 * n)) if conn == "p" else 80
                ks.setdefault(k, []).append("p = 0.02" if conn == "p" else "K = 80")
            cases += [(model, " / ".join(names), n, k) for k, names in ks.items()]
    return cases


def _impls(a, peers, n):
    out = []
    for impl in a.impls.split(","):
        impl = "script" if impl == "brainpy" else impl  # brainpy.state now runs in the script group
        if impl in PEER_OF and not peers.get(impl):
            continue
        if a.slow_max_n and n > a.slow_max_n and impl in ("brian2-numpy", "nest-1"):
            continue
        if impl == "script" and a.script_max_n and n > a.script_max_n:
            continue
        if a.quick and impl in QUICK_SKIP:
            continue
        if impl not in out:
            out.append(impl)
    return out


def _log_run(log, model, conn, n, k, impl, r):
    for name, x in expand(impl, r).items():
        log(f"  {model} {conn} N={n} K={k} {name}: " + (x["error"] if "error" in x else
            f"build {x['build_s']:.2f} s, first {x['first_s']:.2f} s, run {x['run_s']:.3f} s "
            f"(CPU {x.get('cpu_s') or float('nan'):.3f} s), "
            + (f"rates {x['rates'][0]:.2f}/{x['rates'][1]:.2f} Hz, " if x.get("rates") else "")
            + f"{x.get('peak_mb') or 0:.0f} MB, load {x.get('load')}"))


def merge_rounds(runs):
    """One result from the rounds of one row: medians of run and CPU time; the rest from the first good round."""
    good = [r for r in runs if "run_s" in r]
    if not good:
        return runs[0]
    out = dict(good[0])
    out["run_s"] = statistics.median(r["run_s"] for r in good)
    cpus = [r["cpu_s"] for r in good if r.get("cpu_s") is not None]
    out["cpu_s"] = statistics.median(cpus) if cpus else None
    out["load"] = statistics.median(r["load"] for r in good if r.get("load") is not None) \
        if any(r.get("load") is not None for r in good) else None
    out["rounds"] = [round(r["run_s"], 4) for r in good]
    return out


def run_rows(a, spec0, impls, tmp, log):
    """Every implementation of one case, ``a.rounds`` times in alternating order; ``{row: merged result}``."""
    rounds = {}
    for rnd in range(max(a.rounds, 1)):
        for impl in (impls if rnd % 2 == 0 else impls[::-1]):
            python = getattr(a, PEER_OF[impl][0]) if impl in PEER_OF else sys.executable
            spec = dict(spec0, impl=impl, threads=impl_threads(impl),
                        kernels=(impl == "script" and spec0.get("kernels") and rnd == 0))
            r = dict(run_case(spec, tmp, python, a.timeout), impl=impl)
            _log_run(log, spec0["model"], spec0["conn"], spec0["n"], spec0["k"], impl, r)
            for name, x in expand(impl, r).items():
                rounds.setdefault(name, []).append(dict(x, impl=name))
    return {name: merge_rounds(runs) for name, runs in rounds.items()}


def section(a, log=print, progress=None):
    """Run every case of ``a`` (parsed arguments); returns the table, the run facts and the peers found."""
    peers, why = peers_available(a)
    info = {"load_average_start": load_average(), "peers": peers, "peers_skipped": why,
            "peer_pythons": {o: getattr(a, o) for o in ("peer_python", "brian2_new_python", "annarchy_python")},
            "lapicque": version_of("lapicque"), "brainpy": version_of("brainpy"), "jax": version_of("jax"),
            "brainstate": version_of("brainstate"), "brainevent": version_of("brainevent"),
            "numba": version_of("numba"), "cpu_count": os.cpu_count(), "rounds": a.rounds, "repeats": a.repeats}
    log(f"network benchmark: peers {peers}, load {info['load_average_start']}")
    for impl, reason in why.items():
        log(f"  skipping {impl}: {reason}")
    table = Table("network", "E/I network of Brette et al. (2007): 1 s of biological time, dt = 0.1 ms", COLUMNS,
                  note="One seeded edge list for all (fixed out-degree, multapses allowed); ratios = peer / "
                       f"{a.reference}, script rows: brainpy.state / row (same process); a run counts only if its "
                       "E and I rates are within 5 % of the case median.")
    seen_models = set()
    with tempfile.TemporaryDirectory(prefix="lq_net_") as tmp:
        for model, conn, n, k in plan(a):
            net_file = make_network(n, k, Path(tmp) / f"net_{n}_{k}.npz")
            impls = _impls(a, peers, n)
            spec0 = dict(model=model, conn=conn, n=n, k=k, net_file=str(net_file), duration_s=a.duration,
                         repeats=a.repeats, kernels=model not in seen_models and "script" in impls)
            seen_models.update([model] if "script" in impls else [])
            results = run_rows(a, spec0, impls, tmp, log)
            agreement(results)
            ref, bp = results.get(a.reference), results.get("brainpy")
            for impl in [r for r in ROWS if r in results]:
                table.add(**_row(model, conn, n, k, impl, results[impl], ref, bp))
            if progress:
                progress(table, info)
    return table, info


def main(argv=None):
    a = parse_args(argv)
    if a.worker:
        return worker(a.worker)
    stem = a.stem or ("network_quick" if a.quick else "network")
    t_start = time.perf_counter()

    def save(table, info):
        info["wall_s"] = round(time.perf_counter() - t_start, 1)
        return write_results([table], info, a.out, stem)

    table, info = section(a, log=lambda m: print(m, flush=True), progress=save)
    paths = save(table, info)
    png = plot(table.rows, a.out / f"{stem}_scaling.png")
    short = summary(table, a.reference)
    (a.out / f"{stem}_summary.md").write_text(short)
    print()
    print(table.markdown())
    print(short)
    print(f"wrote {paths['markdown']}, {paths['json']}, {stem}_summary.md and {png} "
          f"({time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
