"""The network page of the demo report: the Brette et al. (2007) COBA E/I network, run with simulate.

A section builder for :func:`lapicque.report.run_demo` (``extra_sections``):
raster (neuron 0 at the bottom) over the population rates of E and I on the same time axis, and the
ISI CV histogram of each, from the neurons with enough intervals after the onset.
"""

from __future__ import annotations

import numpy as np
import saiunit as u

from ..report import Context, Section

__all__ = ["network_section", "coba_network", "settled_isi_cv"]

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


#: the ISI CV uses spikes after this onset (the synchronous start from the random initial V lasts ~20 ms)
CV_TRANSIENT_MS = 50.0
#: and only neurons with at least this many intervals there (fewer give a CV dominated by chance, e.g. 0 for two
#: equal intervals); the others are counted in the caption, not drawn
CV_MIN_INTERVALS = 5
#: the histogram's CV axis ends here; larger CVs are counted in its last bin
CV_AXIS_MAX = 3.0


def settled_isi_cv(spike_times, transient_ms: float = CV_TRANSIENT_MS, min_intervals: int = CV_MIN_INTERVALS):
    """ISI CV of each neuron from its spikes after ``transient_ms``; NaN with fewer than ``min_intervals`` there.

    Parameters
    ----------
    spike_times : list of Quantity[time]
        One array of spike times per neuron (``result.spike_times``).
    transient_ms : float
        Spikes at or before this time (ms) are left out.
    min_intervals : int
        Neurons with fewer inter-spike intervals after the transient get NaN.

    Returns
    -------
    cv : numpy.ndarray
        One CV (std / mean of the intervals) per neuron, NaN where left out.
    n_intervals : numpy.ndarray of int
        The number of intervals each neuron had after the transient.

    Examples
    --------
    >>> import saiunit as u
    >>> regular = [60., 70., 80., 90., 100., 110.] * u.ms      # 5 equal intervals after 50 ms
    >>> onset = [1., 2., 3., 60., 70.] * u.ms                   # 1 interval after 50 ms
    >>> cv, n = settled_isi_cv([regular, onset])
    >>> cv.tolist(), n.tolist()
    ([0.0, nan], [5, 1])
    """
    from ..analysis import isi_cv
    after = [x[x > transient_ms * u.ms] for x in spike_times]
    n_intervals = np.array([max(int(x.size) - 1, 0) for x in after], dtype=np.int64)
    cv = np.array([isi_cv(x, min_intervals=min_intervals) for x in after], dtype=np.float64)
    return cv, n_intervals


def _cv_panel(ax, cv, n_intervals, n_e: int, colors, window_ms: float) -> str:
    """The ISI CV histograms of E and I (neurons with enough intervals); return the caption's sentences.

    ``window_ms`` is the time after the transient (for the rate of the regular neurons the caption names).
    """
    n = cv.size
    bins = np.linspace(0, CV_AXIS_MAX, 61)
    for sl, label, color in ((slice(0, n_e), "E", colors[0]), (slice(n_e, n), "I", colors[3])):
        part = cv[sl][np.isfinite(cv[sl])]
        ax.hist(np.minimum(part, CV_AXIS_MAX), bins=bins, alpha=0.6, color=color,  # the last bin holds CV >= 3
                label=f"{label} ({part.size} of {cv[sl].size})")
    ax.set(xlabel="ISI coefficient of variation", ylabel="neurons",
           title=f"irregularity (ISI CV after {CV_TRANSIENT_MS:g} ms, neurons with \u2265 {CV_MIN_INTERVALS} "
                 f"intervals)")
    ax.set_xlim(0, CV_AXIS_MAX)
    ax.legend(loc="upper right", fontsize=8)
    left_out = int(np.sum(~np.isfinite(cv)))
    silent = int(np.sum(n_intervals == 0))
    med = float(np.nanmedian(cv)) if np.isfinite(cv).any() else float("nan")
    over = int(np.sum(cv[np.isfinite(cv)] >= CV_AXIS_MAX))
    over_text = f" {over} neurons with CV of {CV_AXIS_MAX:g} or more are counted in the last bin." if over else ""
    regular = np.isfinite(cv) & (cv < 0.2)
    reg_text = "" if not regular.any() else (
        f" The {int(regular.sum())} neurons with CV below 0.2 each have {int(np.median(n_intervals[regular]))} "
        f"intervals (median) and fire at {np.mean((n_intervals[regular] + 1) / (window_ms * 1e-3)):.0f} Hz on "
        f"average.")
    return (f"The ISI CV is computed from each neuron's spikes after the first {CV_TRANSIENT_MS:g} ms (the "
            f"synchronous onset) and only for neurons with at least {CV_MIN_INTERVALS} intervals there: "
            f"{left_out} of {n} neurons ({100. * left_out / n:.0f}%) are left out, {silent} of them with at most "
            f"one spike. Median CV of the others {med:.2f}.{over_text}{reg_text}")


def _network_figure(res, n_e: int, pop_e, pop_i, rate_e: float, rate_i: float, cv, n_intervals):
    """Raster (neuron 0 at the bottom) over the E and I rates on the same time axis, and the ISI CV histograms."""
    from .. import plot as lplot
    n = cv.size
    t = np.asarray(res.times.to_decimal(u.ms))
    shown = np.r_[0:200, n_e:n_e + 50]
    fig, axes = lplot.figure(3, ncols=1, panel_size=(9.0, 2.4), height_ratios=(2.0, 1.0, 1.2))
    lplot.raster(res, ax=axes[0], neurons=shown,
                 title=f"excitatory neurons 0-199 (below the line) and inhibitory {n_e}-{n_e + 49} (above)")
    axes[0].axhline(199.5, color=lplot.COLORS[3], lw=0.8)
    axes[0].set_yticks([0, 50, 100, 150, 200, 249])  # labelled with the neurons shown: 0 ... 150, n_e, n_e + 49
    axes[1].sharex(axes[0])  # the rate panel's time axis is the raster's
    for rate, label, color in ((pop_e, f"E ({rate_e:.1f} Hz)", lplot.COLORS[0]),
                               (pop_i, f"I ({rate_i:.1f} Hz)", lplot.COLORS[3])):
        axes[1].plot(t, rate, color=color, lw=1.0, label=label)
    axes[1].set(xlabel="time (ms)", ylabel="rate (Hz)", title="population rates (5 ms box filter)")
    axes[1].set_ylim(bottom=0)
    axes[1].legend(loc="upper right", fontsize=8)
    window = float(res.t_end.to_decimal(u.ms)) - CV_TRANSIENT_MS
    cv_text = _cv_panel(axes[2], cv, n_intervals, n_e, lplot.COLORS, window)
    return fig, cv_text


def network_section(ctx: Context) -> Section:
    """Run the COBA network (4000 neurons for 1 s; 1000 for 300 ms when quick) and draw its page."""
    import lapicque as lq
    from ..analysis import population_rate

    import brainstate
    n, duration = (1000, 300.) if ctx.quick else (4000, 1000.)
    net = coba_network(n)
    ctx.log(f"  network: {n} neurons, {duration:g} ms ...")
    with brainstate.random.seed_context(2007):  # the random starting V: the same page every time
        res = lq.simulate(net, None, duration * u.ms, progress=False)["pop"]
    n_e = net.n_exc
    counts = res.spike_count
    rate_e, rate_i = (float(counts[sl].mean() / (duration * 1e-3)) for sl in (slice(0, n_e), slice(n_e, n)))
    raster = res.spike_raster()
    pop_e = np.asarray(population_rate(raster[:, :n_e], dt=res.dt, window=5. * u.ms).to_decimal(u.Hz))
    pop_i = np.asarray(population_rate(raster[:, n_e:], dt=res.dt, window=5. * u.ms).to_decimal(u.Hz))
    cv, n_intervals = settled_isi_cv(res.spike_times)
    fig, cv_text = _network_figure(res, n_e, pop_e, pop_i, rate_e, rate_i, cv, n_intervals)
    cap = (f"The COBA network of Brette et al. (2007) in NEST's parameters: {n} LIF neurons (80% excitatory, "
           f"C = 200 pF, g_L = 10 nS, tau_ref = 5 ms, 200 pA bias), exponential conductances (6 nS / 5 ms / 0 mV "
           f"and 67 nS / 10 ms / -80 mV), {int(round(COBA['p'] * n))} targets per neuron, 0.1 ms delay. "
           f"E {rate_e:.1f} Hz, I {rate_i:.1f} Hz: asynchronous irregular firing. {cv_text} "
           f"Without the synapses every neuron would fire regularly at 53 Hz.")
    times, neurons = res.spike_events
    data = {"spike_times_ms": times.to_decimal(u.ms), "spike_neurons": neurons, "n_exc": n_e,
            "t_ms": res.times.to_decimal(u.ms), "rate_E_Hz": pop_e, "rate_I_Hz": pop_i, "isi_cv": cv,
            "isi_intervals_after_transient": n_intervals, "cv_transient_ms": CV_TRANSIENT_MS,
            "cv_min_intervals": CV_MIN_INTERVALS}
    intro = ("<p>A network built with the brainpy.state API (<code>LIFRef</code>, <code>AlignPostProj</code>, "
             "<code>Expon</code>, <code>COBA</code>) on lapicque's event-driven connectivity, run with "
             "<code>lapicque.simulate(net, None, 1 * u.second)</code>. See <code>examples/ei_network.py</code>.</p>")
    return Section("E/I network", intro, [ctx.figure(fig, "network", cap, data)], grid=False)
