"""The E/I network of Brette et al. (2007), COBA and CUBA, in lapicque and in Brian2 from one edge list.

One seeded draw gives the edges (fixed out-degree ``K``, targets uniform with replacement) and the initial
potentials (Normal(-55 mV, 5 mV): about 16 % of the neurons start at or above threshold).  lapicque runs the
brainpy.state-style script (``LIFRef`` + ``AlignPostProj`` on an ``EdgeList``, 0.1 ms delay, hard reset) through
``simulate``; Brian2 runs the same equations (numpy target, exponential Euler, float64).

Run as a script (``python tests/_ei_reference.py 64 COBA:1 CUBA:2 ...``) it prints lapicque's rates in float64
(``jax_enable_x64`` must be set before JAX starts, hence a process of its own) as one ``RESULT <json>`` line.
"""

import json
import sys

import numpy as np

N, K, STEPS = 4000, 80, 10000  # 1 s at dt = 0.1 ms
#: lapicque's units: mV, nS (COBA) or pA (CUBA), ms; CUBA is Brette's 1.62 mV / -9 mV jumps times g_L = 10 nS
PARAMS = {
    "COBA": dict(E_L=-60., I_e=200., w_e=6., w_i=67., tau_e=5., tau_i=10., E_e=0., E_i=-80.),
    "CUBA": dict(E_L=-49., I_e=0., w_e=16.2, w_i=-90., tau_e=5., tau_i=10.),
}


def make_net(seed, n=N, k=K):
    """Edges (pre, post) and initial V (mV) of one network; the first 80 % of the neurons are excitatory."""
    rs = np.random.RandomState(seed)
    post = rs.randint(0, n, size=(n, k)).ravel().astype(np.int32)
    pre = np.repeat(np.arange(n), k).astype(np.int32)
    return {"pre": pre, "post": post, "V0": rs.normal(-55., 5., n), "n_e": int(0.8 * n)}


def _rates(counts, n_e, steps):
    seconds = steps * 1e-4
    return [float(counts[:n_e].sum() / n_e / seconds), float(counts[n_e:].sum() / (counts.size - n_e) / seconds)]


def lapicque_net(model, net):
    """The brainpy.state script with the import changed (lapicque's EdgeList carries the drawn edges)."""
    import brainstate
    import braintools
    import saiunit as u
    import lapicque as lq
    p, V0, n_e = PARAMS[model], net["V0"], net["n_e"]
    n = V0.size
    wu = u.nS if model == "COBA" else u.pA
    exc = net["pre"] < n_e

    def syn(tau):
        return lq.Expon.desc(n, tau=tau * u.ms, g_initializer=braintools.init.Constant(0. * wu))

    def out(E, sign=1.):
        return lq.COBA.desc(E=E * u.mV) if model == "COBA" else lq.CUBA.desc(scale=sign)

    class EINet(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.pop = lq.LIFRef(n, R=100. * u.Mohm, tau=20. * u.ms, tau_ref=5. * u.ms, V_rest=p["E_L"] * u.mV,
                                 V_th=-50. * u.mV, V_reset=-60. * u.mV, spk_reset="hard",
                                 V_initializer=braintools.init.Constant(
                                     u.math.asarray(V0, dtype=brainstate.environ.dftype()) * u.mV))
            self.E = lq.AlignPostProj(comm=lq.EdgeList(n_e, n, net["pre"][exc], net["post"][exc], p["w_e"] * wu),
                                      syn=syn(p["tau_e"]), out=out(p.get("E_e", 0.)), post=self.pop,
                                      delay=0.1 * u.ms)
            self.I = lq.AlignPostProj(comm=lq.EdgeList(n - n_e, n, net["pre"][~exc] - n_e, net["post"][~exc],
                                                       abs(p["w_i"]) * wu),
                                      syn=syn(p["tau_i"]), out=out(p.get("E_i", 0.), -1.), post=self.pop,
                                      delay=0.1 * u.ms)

        def update(self):
            spk = self.pop.get_spike() != 0.
            self.E(spk[:n_e])
            self.I(spk[n_e:])
            self.pop(p["I_e"] * u.pA)

    return EINet()


def lapicque_rates(model, net, steps=STEPS):
    import saiunit as u
    import lapicque as lq
    res = lq.simulate(lapicque_net(model, net), None, steps * 0.1 * u.ms, dt=0.1 * u.ms, spikes="count")
    return _rates(res["pop"].spike_count, net["n_e"], steps)


def brian2_rates(model, net, steps=STEPS):
    """The same network in Brian2 (numpy target): same edges, same initial V, same delay."""
    import brian2 as b2
    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    b2.defaultclock.dt = 0.1 * b2.ms
    n, n_e = net["V0"].size, net["n_e"]
    if model == "COBA":
        eqs = """dv/dt = (10*nS*(-60*mV - v) + ge*(0*mV - v) + gi*(-80*mV - v) + 200*pA) / (200*pF) : volt (unless refractory)
                 dge/dt = -ge / (5*ms) : siemens
                 dgi/dt = -gi / (10*ms) : siemens"""
        on_e, on_i = "ge_post += 6*nS", "gi_post += 67*nS"
    else:
        eqs = """dv/dt = (10*nS*(-49*mV - v) + ge + gi) / (200*pF) : volt (unless refractory)
                 dge/dt = -ge / (5*ms) : amp
                 dgi/dt = -gi / (10*ms) : amp"""
        on_e, on_i = "ge_post += 16.2*pA", "gi_post -= 90*pA"
    G = b2.NeuronGroup(n, eqs, threshold="v >= -50*mV", reset="v = -60*mV", refractory=5 * b2.ms,
                       method="exponential_euler")
    G.v = net["V0"] * b2.mV
    exc = net["pre"] < n_e
    se = b2.Synapses(G[:n_e], G, on_pre=on_e, delay=0.1 * b2.ms)
    se.connect(i=net["pre"][exc], j=net["post"][exc])
    si = b2.Synapses(G[n_e:], G, on_pre=on_i, delay=0.1 * b2.ms)
    si.connect(i=net["pre"][~exc] - n_e, j=net["post"][~exc])
    mon = b2.SpikeMonitor(G)
    b2.run(steps * 0.1 * b2.ms)
    return _rates(np.bincount(np.asarray(mon.i), minlength=n), n_e, steps)


if __name__ == "__main__":
    import jax
    jax.config.update("jax_enable_x64", sys.argv[1] == "64")
    import brainstate
    import saiunit as u
    brainstate.environ.set(dt=0.1 * u.ms, precision=int(sys.argv[1]))
    out = {}
    for case in sys.argv[2:]:
        model, seed = case.split(":")
        out[case] = lapicque_rates(model, make_net(int(seed)))
    print("RESULT " + json.dumps(out))
