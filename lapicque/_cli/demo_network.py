"""The network page of the demo report: the Brette et al. (2007) COBA E/I network, run with simulate.

A section builder for :func:`lapicque.report.run_demo` (``extra_sections``):
raster, population rates of E and I, and the ISI CV histogram of each.
"""

from __future__ import annotations

import numpy as np
import saiunit as u

from ..report import Context, Section

__all__ = ["network_section", "coba_network"]

#: the COBA benchmark network in physiological units (NETWORKS.md, NEST's brette_et_al_2007/coba.py)
COBA = dict(R=100. * u.Mohm, tau=20. * u.ms, tau_ref=5. * u.ms, V_rest=-60. * u.mV, V_th=-50. * u.mV,
            V_reset=-60. * u.mV, bias=200. * u.pA, p=0.02, delay=0.1 * u.ms,
            exc=dict(weight=6. * u.nS, tau=5. * u.ms, E=0. * u.mV),
            inh=dict(weight=67. * u.nS, tau=10. * u.ms, E=-80. * u.mV))


def coba_network(n: int, seed: int = 0):
    """The COBA network of ``n`` LIFRef neurons (80% excitatory), one fused event-driven projection per step."""
    import braintools
    import brainstate
    import lapicque as lq

    c = COBA
    n_e = int(0.8 * n)
    k = int(round(c["p"] * n))

    def projection(lo, hi, part, s):
        return lq.AlignPostProj(comm=lq.FixedOutDegree(hi - lo, n, k, part["weight"], seed=s),
                                syn=lq.Expon.desc(n, tau=part["tau"]), out=lq.COBA.desc(E=part["E"]),
                                post=net.pop, delay=c["delay"])

    class Network(brainstate.nn.Module):
        def update(self):
            self.both(self.pop.get_spike() != 0.)
            self.pop(c["bias"])

    net = Network()
    net.n_exc = n_e
    net.pop = lq.LIFRef(n, R=c["R"], tau=c["tau"], tau_ref=c["tau_ref"], V_rest=c["V_rest"], V_th=c["V_th"],
                        V_reset=c["V_reset"], spk_reset="hard",
                        V_initializer=braintools.init.Normal(-55. * u.mV, 5. * u.mV))
    net.exc = projection(0, n_e, c["exc"], seed)
    net.inh = projection(n_e, n, c["inh"], seed + 1)
    net.both = lq.FusedProj(net.exc, net.inh)
    return net


def network_section(ctx: Context) -> Section:
    """Run the COBA network (4000 neurons for 1 s; 1000 for 300 ms when quick) and draw its page."""
    import lapicque as lq
    from .. import plot as lplot
    from ..analysis import isi_cv, population_rate

    n, duration = (1000, 300.) if ctx.quick else (4000, 1000.)
    net = coba_network(n)
    ctx.log(f"  network: {n} neurons, {duration:g} ms ...")
    res = lq.simulate(net, None, duration * u.ms, progress=False)["pop"]
    n_e = net.n_exc
    counts = res.spike_count
    rate_e, rate_i = (float(counts[sl].mean() / (duration * 1e-3)) for sl in (slice(0, n_e), slice(n_e, n)))
    raster = res.spike_raster()
    pop_e = np.asarray(population_rate(raster[:, :n_e], dt=res.dt, window=5. * u.ms).to_decimal(u.Hz))
    pop_i = np.asarray(population_rate(raster[:, n_e:], dt=res.dt, window=5. * u.ms).to_decimal(u.Hz))
    cv = isi_cv(res)
    t = np.asarray(res.times.to_decimal(u.ms))
    shown = np.r_[0:200, n_e:n_e + 50]
    fig, axes = lplot.figure(3, ncols=1, panel_size=(9.0, 2.4), height_ratios=(2.0, 1.0, 1.2))
    lplot.raster(res, ax=axes[0], neurons=shown, title="200 excitatory (rows 0-199) and 50 inhibitory neurons")
    axes[0].axhline(199.5, color=lplot.COLORS[3], lw=0.8)
    for rate, label, color in ((pop_e, f"E ({rate_e:.1f} Hz)", lplot.COLORS[0]),
                               (pop_i, f"I ({rate_i:.1f} Hz)", lplot.COLORS[3])):
        axes[1].plot(t, rate, color=color, lw=1.0, label=label)
    axes[1].set(xlabel="time (ms)", ylabel="rate (Hz)", title="population rates (5 ms box filter)")
    axes[1].legend(loc="upper right", fontsize=8)
    bins = np.linspace(0, 3, 61)
    for sl, label, color in ((slice(0, n_e), "E", lplot.COLORS[0]), (slice(n_e, n), "I", lplot.COLORS[3])):
        part = cv[sl]
        axes[2].hist(part[np.isfinite(part)], bins=bins, alpha=0.6, color=color, label=label)
    axes[2].set(xlabel="ISI coefficient of variation", ylabel="neurons", title="irregularity (ISI CV)")
    axes[2].legend(loc="upper right", fontsize=8)
    med = np.nanmedian(cv) if np.isfinite(cv).any() else float("nan")
    cap = (f"The COBA network of Brette et al. (2007) in NEST's parameters: {n} LIF neurons (80% excitatory, "
           f"C = 200 pF, g_L = 10 nS, tau_ref = 5 ms, 200 pA bias), exponential conductances (6 nS / 5 ms / 0 mV "
           f"and 67 nS / 10 ms / -80 mV), {int(round(COBA['p'] * n))} targets per neuron, 0.1 ms delay. "
           f"E {rate_e:.1f} Hz, I {rate_i:.1f} Hz, median ISI CV {med:.2f}: asynchronous irregular firing. "
           f"Without the synapses every neuron would fire regularly at 53 Hz.")
    times, neurons = res.spike_events
    data = {"spike_times_ms": times.to_decimal(u.ms), "spike_neurons": neurons, "n_exc": n_e, "t_ms": t,
            "rate_E_Hz": pop_e, "rate_I_Hz": pop_i, "isi_cv": cv}
    intro = ("<p>A network built with the brainpy.state API (<code>LIFRef</code>, <code>AlignPostProj</code>, "
             "<code>Expon</code>, <code>COBA</code>) on lapicque's event-driven connectivity, run with "
             "<code>lapicque.simulate(net, None, 1 * u.second)</code>. See <code>examples/ei_network.py</code>.</p>")
    return Section("E/I network", intro, [ctx.figure(fig, "network", cap, data)], grid=False)
