"""Brian2, ANNarchy and NEST builders of the Brette et al. (2007) E/I network (a worker script: numpy + the peer only).

Run as ``python benchmarks/_network_peers.py SPEC.json`` by :mod:`benchmarks.network`, possibly with another
interpreter (``--peer-python``: Brian2 2.9 wants numpy < 2.4; Brian2 2.11 and ANNarchy each run from their own
virtual environment, see ``benchmarks/peer_envs.py``).  The spec names the simulator, the model (COBA or
CUBA), the network file (the seeded edge list and initial potentials every simulator gets) and the threads;
the last line printed is ``RESULT {json}`` with build / compile / run seconds, the E and I rates and the peak
memory of this process.

Every peer gets the same edge list as lapicque (one synapse per row of ``pre``/``post``, multapses kept), the
same initial V, the same 0.1 ms synaptic delay and 0.1 ms step (ANNarchy stores a projection as a sparse
matrix: k parallel edges between one pair become one synapse of weight k w, the same input for these linear
synapses).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import tempfile
import time

import numpy as np

#: neuron and synapse parameters (NETWORKS.md; CUBA: Brette et al. 2007 benchmark 2 in current units)
PARAMS = {
    "COBA": dict(E_L=-60., I_e=200., w_e=6., w_i=67., tau_e=5., tau_i=10., E_e=0., E_i=-80.),  # nS, pA, mV
    "CUBA": dict(E_L=-49., I_e=0., w_e=16.2, w_i=-90., tau_e=5., tau_i=10.),  # pA, mV
}
C_M, G_L, V_TH, V_RESET, T_REF, DT = 200., 10., -50., -60., 5., 0.1  # pF, nS, mV, mV, ms, ms


def _peak_mb():
    """Peak resident memory of this process (MiB): VmHWM, which exec resets (ru_maxrss keeps the parent's)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.


def _dist_version(dist, fallback):
    """The installed distribution's full version (ANNarchy's ``__version__`` says only ``5.0``)."""
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:  # noqa: BLE001 - any failure: the module's own string
        return fallback


def _rates(counts, n_e, seconds):
    counts = np.asarray(counts)
    return float(counts[:n_e].sum() / n_e / seconds), float(counts[n_e:].sum() / (counts.size - n_e) / seconds)


def _brian2_equations(model):
    p = PARAMS[model]
    if model == "COBA":
        return (f"dv/dt = ({G_L}*nS*({p['E_L']}*mV - v) + ge*({p['E_e']}*mV - v) + gi*({p['E_i']}*mV - v)"
                f" + {p['I_e']}*pA) / ({C_M}*pF) : volt (unless refractory)\n"
                f"dge/dt = -ge / ({p['tau_e']}*ms) : siemens\ndgi/dt = -gi / ({p['tau_i']}*ms) : siemens\n",
                f"ge_post += {p['w_e']}*nS", f"gi_post += {p['w_i']}*nS")
    return (f"dv/dt = ({G_L}*nS*({p['E_L']}*mV - v) + ie + ii) / ({C_M}*pF) : volt (unless refractory)\n"
            f"die/dt = -ie / ({p['tau_e']}*ms) : amp\ndii/dt = -ii / ({p['tau_i']}*ms) : amp\n",
            f"ie_post += {p['w_e']}*pA", f"ii_post += ({p['w_i']})*pA")


def _brian2_network(b2, spec, net):
    n, n_e = net["V0"].size, int(net["n_e"])
    eqs, on_e, on_i = _brian2_equations(spec["model"])
    G = b2.NeuronGroup(n, eqs, threshold=f"v >= {V_TH}*mV", reset=f"v = {V_RESET}*mV",
                       refractory=T_REF * b2.ms, method="exponential_euler")
    G.v = net["V0"] * b2.mV
    pre, post = net["pre"], net["post"]
    exc = pre < n_e
    se = b2.Synapses(G[:n_e], G, on_pre=on_e, delay=DT * b2.ms)
    se.connect(i=pre[exc], j=post[exc])
    si = b2.Synapses(G[n_e:], G, on_pre=on_i, delay=DT * b2.ms)
    si.connect(i=pre[~exc] - n_e, j=post[~exc])
    mon = b2.SpikeCounter(G) if hasattr(b2, "SpikeCounter") else b2.SpikeMonitor(G, record=False)
    return b2.Network(G, se, si, mon), mon


def _children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _standalone_runs(b2, build_dir, repeats):
    """Build once, then run the compiled binary ``repeats`` times: (build + first start s, run s list, CPU s list).

    Run time is the binary's own timer of its simulation loop; CPU time is the child process's (start included).
    """
    t1 = time.perf_counter()
    b2.device.build(directory=build_dir, run=False, compile=True, clean=True)  # default would be ./output
    runs, cpus = [], []
    for _ in range(max(repeats, 1)):
        c = _children_cpu()
        b2.device.run(build_dir, None, False, [])  # the compiled binary, a child process
        cpus.append(_children_cpu() - c)
        runs.append(float(b2.device._last_run_time))
        if len(runs) == 1:
            compile_s = time.perf_counter() - t1 - runs[0]  # code generation, compiler and the binary's start/IO
    return compile_s, runs, cpus


def brian2(spec, net):
    import brian2 as b2
    standalone = spec["impl"].endswith("-standalone")
    seconds = spec["duration_s"]
    build_dir = tempfile.mkdtemp(prefix="lq_b2_") if standalone else None
    if standalone:
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    else:
        b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = DT * b2.ms
    t0 = time.perf_counter()
    network, mon = _brian2_network(b2, spec, net)
    build = time.perf_counter() - t0
    if standalone:
        network.run(seconds * b2.second)
        compile_s, runs, cpus = _standalone_runs(b2, build_dir, spec.get("repeats", 1))
    else:
        t1, c1 = time.perf_counter(), time.process_time()
        network.run(seconds * b2.second)
        runs, cpus = [time.perf_counter() - t1], [time.process_time() - c1]
        compile_s = None  # numpy target: code generation happens inside the (timed) run
    counts = np.asarray(mon.count)  # the last run's (every run starts from the same initial state)
    if build_dir:
        shutil.rmtree(build_dir, ignore_errors=True)
    run = float(np.median(runs))
    return dict(build_s=build, compile_s=compile_s, run_s=run, first_s=runs[0] + (compile_s or 0.),
                cpu_s=float(np.median(cpus)), all_s=runs, rates=_rates(counts, int(net["n_e"]), seconds),
                version=b2.__version__,
                note=(f"cpp_standalone, 1 thread, g++; median of {len(runs)} runs of the binary (memory: the Python "
                      "process; the binary runs as its child)") if standalone else "runtime, numpy target")


def _annarchy_neuron(ann, model):
    """The LIF of NETWORKS.md in ANNarchy's equations (mV, ms, nS, pA, pF); exponential Euler as Brian2."""
    p = PARAMS[model]
    if model == "COBA":
        drive = f"{G_L} * ({p['E_L']} - v) + g_exc * ({p['E_e']} - v) + g_inh * ({p['E_i']} - v) + {p['I_e']}"
    else:
        drive = f"{G_L} * ({p['E_L']} - v) + g_exc - g_inh"  # CUBA: g_* are currents (pA)
    return ann.Neuron(
        equations=f"""
            {C_M} * dv/dt = {drive} : init={p['E_L']}, exponential
            {p['tau_e']} * dg_exc/dt = - g_exc : exponential
            {p['tau_i']} * dg_inh/dt = - g_inh : exponential
        """,
        spike=f"v >= {V_TH}", reset=f"v = {V_RESET}", refractory=T_REF)


def _sparse(pre, post, n_pre, n_post, w):
    from scipy.sparse import coo_matrix
    return coo_matrix((np.full(pre.size, w), (pre, post)), shape=(n_pre, n_post)).tocsr()  # sums multapses


def annarchy(spec, net):
    """ANNarchy 5: C++ code generation (g++ -O2 -march=native), one OpenMP thread."""
    import ANNarchy as ann
    n, n_e = net["V0"].size, int(net["n_e"])
    p = PARAMS[spec["model"]]
    t0 = time.perf_counter()
    network = ann.Network(dt=DT, seed=1)
    network.config(num_threads=spec["threads"], verbose=False)
    pop = network.create(geometry=n, neuron=_annarchy_neuron(ann, spec["model"]))
    pop.v = net["V0"]
    pre, post = net["pre"], net["post"]
    exc = pre < n_e
    proj_e = network.connect(pre=pop[:n_e], post=pop, target="exc")
    proj_e.from_sparse(_sparse(pre[exc], post[exc], n_e, n, p["w_e"]), delays=DT)
    proj_i = network.connect(pre=pop[n_e:], post=pop, target="inh")
    proj_i.from_sparse(_sparse(pre[~exc] - n_e, post[~exc], n - n_e, n, abs(p["w_i"])), delays=DT)
    mon = network.monitor(pop, ["spike"])
    build = time.perf_counter() - t0
    build_dir = tempfile.mkdtemp(prefix="lq_ann_")
    t1 = time.perf_counter()
    network.compile(directory=build_dir, silent=True)
    compile_s = time.perf_counter() - t1
    runs, cpus, counts = [], [], None
    for _ in range(max(spec.get("repeats", 1), 1)):  # every run from the initial state (reset() restores it)
        if runs:
            network.reset()
        t2, c2 = time.perf_counter(), time.process_time()
        network.simulate(spec["duration_s"] * 1000.)
        runs.append(time.perf_counter() - t2)
        cpus.append(time.process_time() - c2)
        spikes = mon.get("spike")  # also empties the monitor
        counts = np.array([len(spikes.get(i, ())) for i in range(n)]) if counts is None else counts
    shutil.rmtree(build_dir, ignore_errors=True)
    return dict(build_s=build, compile_s=compile_s, run_s=float(np.median(runs)), first_s=runs[0] + compile_s,
                cpu_s=float(np.median(cpus)), all_s=runs,
                rates=_rates(counts, n_e, spec["duration_s"]), version=_dist_version("annarchy", ann.__version__),
                note=f"C++ code generation, {spec['threads']} thread, float64; median of {len(runs)} runs")


def _nest_neurons(nest, model, n, V0):
    p = PARAMS[model]
    common = dict(C_m=C_M, E_L=p["E_L"], V_th=V_TH, V_reset=V_RESET, t_ref=T_REF, I_e=p["I_e"],
                  tau_syn_ex=p["tau_e"], tau_syn_in=p["tau_i"])
    if model == "COBA":
        pop = nest.Create("iaf_cond_exp", n, params=dict(common, g_L=G_L, E_ex=p["E_e"], E_in=p["E_i"]))
    else:
        pop = nest.Create("iaf_psc_exp", n, params=dict(common, tau_m=C_M / G_L))
    pop.V_m = V0
    return pop


def nest(spec, net):
    import nest as N
    N.set_verbosity("M_ERROR")
    N.ResetKernel()
    N.SetKernelStatus({"resolution": DT, "local_num_threads": spec["threads"], "print_time": False,
                       "rng_seed": 12345})
    n, n_e = net["V0"].size, int(net["n_e"])
    p = PARAMS[spec["model"]]
    t0 = time.perf_counter()
    pop = _nest_neurons(N, spec["model"], n, net["V0"])
    pre, post = net["pre"], net["post"]
    first = int(pop[0].global_id)
    # NEST routes a synapse by the sign of its weight: negative weights go to the inhibitory conductance/current
    weights = np.where(pre < n_e, p["w_e"], -abs(p["w_i"])).astype(float)
    N.Connect(pre.astype(np.int64) + first, post.astype(np.int64) + first, conn_spec="one_to_one",
              syn_spec={"weight": weights, "delay": np.full(pre.size, DT)})
    rec = N.Create("spike_recorder")
    N.Connect(pop, rec)
    build = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), time.process_time()
    N.Simulate(spec["duration_s"] * 1000.)
    run, cpu = time.perf_counter() - t1, time.process_time() - c1
    senders = np.asarray(rec.get("events")["senders"]) - first
    counts = np.bincount(senders, minlength=n)
    model = "iaf_cond_exp" if spec["model"] == "COBA" else "iaf_psc_exp"
    return dict(build_s=build, compile_s=None, run_s=run, first_s=run, cpu_s=cpu,
                rates=_rates(counts, n_e, spec["duration_s"]),
                version=N.__version__, note=f"{model}, {spec['threads']} thread(s)")


def main(path):
    with open(path) as fh:
        spec = json.load(fh)
    net = dict(np.load(spec["net_file"]))
    impl = spec["impl"]
    if impl.startswith("brian2"):
        out = brian2(spec, net)
    elif impl.startswith("annarchy"):
        out = annarchy(spec, net)
    elif impl.startswith("nest"):
        out = nest(spec, net)
    else:
        raise SystemExit(f"_network_peers: unknown impl {impl!r}")
    out["peak_mb"] = _peak_mb()
    out["pid"] = os.getpid()
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
