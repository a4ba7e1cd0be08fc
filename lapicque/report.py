"""The demo report: every model explained with its equation, parameters, traces and f-I curve, as HTML.

``lapicque demo --out DIR`` (or :func:`run_demo`) writes ``DIR/index.html``
with PNG figures, and beside each figure an ``.npz`` file holding the data it
draws.  Sections: the conventions (units of the seed defaults against a
physiological parameter set), f-I curves on common axes and overlaid with
each rheobase marked, one figure per model with its equation and the
parameter values used, the cut-off guard against the reference
implementation's blow-up, a heterogeneous population, the published firing
patterns, and the versions of everything that produced the report.

More sections (e.g. a network page) plug in through ``extra_sections``: each
is a callable ``f(ctx) -> Section`` receiving the :class:`Context` that saves
figures and their data.
"""

from __future__ import annotations

import dataclasses
import html
import os
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import saiunit as u

__all__ = ["run_demo", "Section", "Figure", "Context", "MODEL_TEXT", "DEMO_CURRENTS"]

#: per model: the current of the trace figure (mA), for the seed defaults
DEMO_CURRENTS = {
    "IF": 1.3, "LIF": 1.3, "LIFRef": 1.5, "ALIF": 2., "ExpIF": 6., "ExpIFRef": 6., "AdExIF": 30.,
    "AdExIFRef": 30., "QuaIF": 12., "AdQuaIF": 40., "AdQuaIFRef": 40., "Gif": 2., "GifRef": 2.,
}
#: f-I currents shared by every model (mA): common axes
FI_MAX_MA = 50.0
#: the common rate axis ends here (Hz); faster curves leave the panel and say how fast they get
Y_CAP_HZ = 600.0

_LIF_V = "&tau; dV/dt = &minus;(V &minus; V<sub>rest</sub>) + R I"
_RESET = ("spike when V &ge; V<sub>th</sub>, then V &larr; V<sub>reset</sub> (hard) or "
          "V &minus; (V<sub>th</sub> &minus; V<sub>reset</sub>) (soft, the default)")
_REF = "; no integration for &tau;<sub>ref</sub> after a spike (a whole number of steps)"
_ADAPT = "&tau;<sub>w</sub> dw/dt = a (V &minus; V<sub>rest</sub>) &minus; w; at a spike w &larr; w + b"
_EXP = "&Delta;<sub>T</sub> exp((V &minus; V<sub>T</sub>)/&Delta;<sub>T</sub>)"
_QUA = "&tau; dV/dt = c (V &minus; V<sub>rest</sub>)(V &minus; V<sub>c</sub>)"
#: per model: (equation in HTML, note)
MODEL_TEXT: Dict[str, Tuple[str, str]] = {
    "IF": ("&tau; dV/dt = &minus;V + R I; spike when V &ge; V<sub>th</sub>, then V &larr; V &minus; V<sub>th</sub> "
           "(soft) or 0 (hard)",
           "With the seed's defaults (V<sub>rest</sub> = V<sub>reset</sub> = 0 mV) IF and LIF obey the same "
           "equation: the seed's IF keeps the &minus;V leak, so the two traces and f-I curves are identical."),
    "LIF": (f"{_LIF_V}; {_RESET}", "Identical to IF with the seed defaults (see IF)."),
    "LIFRef": (f"{_LIF_V}; {_RESET}{_REF}", ""),
    "ALIF": (f"{_LIF_V}; &tau;<sub>a</sub> da/dt = &minus;a; spike when V &ge; V<sub>th</sub> + &beta; a, "
             "then a &larr; a + 1 and V is reset", "The adaptation variable a is dimensionless."),
    "ExpIF": (f"&tau; dV/dt = &minus;(V &minus; V<sub>rest</sub>) + {_EXP} + R I; {_RESET}",
              "V<sub>th</sub> is the cut-off of the divergent upswing (see the guard section)."),
    "ExpIFRef": (f"&tau; dV/dt = &minus;(V &minus; V<sub>rest</sub>) + {_EXP} + R I; {_RESET}{_REF}", ""),
    "AdExIF": (f"&tau; dV/dt = &minus;(V &minus; V<sub>rest</sub>) + {_EXP} &minus; R w + R I; {_ADAPT}; {_RESET}",
               ""),
    "AdExIFRef": (f"&tau; dV/dt = &minus;(V &minus; V<sub>rest</sub>) + {_EXP} &minus; R w + R I; {_ADAPT}; "
                  f"{_RESET}{_REF}", ""),
    "QuaIF": (f"{_QUA} + R I; {_RESET}", ""),
    "AdQuaIF": (f"{_QUA} &minus; R w + R I; {_ADAPT}; {_RESET}", ""),
    "AdQuaIFRef": (f"{_QUA} &minus; R w + R I; {_ADAPT}; {_RESET}{_REF}", ""),
    "Gif": ("&tau; dV/dt = &minus;(V &minus; V<sub>rest</sub>) + R (I<sub>1</sub> + I<sub>2</sub> + I); "
            "dI<sub>j</sub>/dt = &minus;k<sub>j</sub> I<sub>j</sub>; dV<sub>th</sub>/dt = a (V &minus; "
            "V<sub>rest</sub>) &minus; b (V<sub>th</sub> &minus; V<sub>th,&infin;</sub>); at a spike "
            "I<sub>j</sub> &larr; R<sub>j</sub> I<sub>j</sub> + A<sub>j</sub>, V &larr; V<sub>reset</sub>, "
            "V<sub>th</sub> &larr; max(V<sub>th,reset</sub>, V<sub>th</sub>)",
            "The threshold V<sub>th</sub> is dynamic (dashed in the trace)."),
    "GifRef": ("Gif (above) with a refractory period &tau;<sub>ref</sub>", ""),
}

#: the reference (brainpy.state 0.1.0, ExpIF defaults, 6 mA, dt = 0.1 ms, soft reset): V (mV) every 1 ms from
#: t = 0.1 ms (the state after step 0), measured with brainpy 2.8.2 -- used when brainpy is not installed
REFERENCE_EXPIF_6MA = {
    "dt_ms": 0.1, "every_ms": 1.0, "first_ms": 0.1, "blowup_ms": 21.7, "peak_mV": 4.9451477e+23,
    "V_mV": [-64.932, -64.282, -63.676, -63.109, -62.576, -62.070, -61.587, -61.122, -60.671, -60.229,
             -59.791, -59.351, -58.903, -58.440, -57.953, -57.427, -56.843, -56.169, -55.351, -54.272,
             -52.625, -48.872, 4.7512e+23, 4.2991e+23, 3.8900e+23, 3.5198e+23, 3.1849e+23, 2.8818e+23,
             2.6075e+23, 2.3594e+23],
}


@dataclasses.dataclass
class Figure:
    """One figure of the report: its PNG, caption (HTML), optional data file and HTML shown beside it."""

    file: str
    caption: str
    data: Optional[str] = None
    extra_html: str = ""


@dataclasses.dataclass
class Section:
    """A titled section: an introduction (HTML), figures (in a grid when several) and HTML after them."""

    title: str
    intro: str = ""
    figures: List[Figure] = dataclasses.field(default_factory=list)
    after: str = ""
    grid: bool = True


@dataclasses.dataclass
class Context:
    """What a section builder gets: the output folder, the size of the run, and the writers."""

    out: str
    quick: bool
    log: Callable[[str], None]
    dpi: int
    written: List[str] = dataclasses.field(default_factory=list)

    def figure(self, fig, name: str, caption: str, data=None, extra_html: str = "") -> Figure:
        """Save ``fig`` as ``name.png`` and ``data`` (a dict of arrays) as ``name.npz``; return the entry.

        ``data`` may also name the ``.npz`` file of another figure drawing the same data.
        """
        from . import plot as lplot
        self.written.append(lplot.save(fig, os.path.join(self.out, f"{name}.png"), dpi=self.dpi))
        data_file = data if isinstance(data, str) else None
        if isinstance(data, dict) and data:
            data_file = f"{name}.npz"
            np.savez_compressed(os.path.join(self.out, data_file), **{k: np.asarray(v) for k, v in data.items()})
            self.written.append(os.path.join(self.out, data_file))
        return Figure(f"{name}.png", caption, data_file, extra_html)


# --------------------------------------------------------------------------
# runs
# --------------------------------------------------------------------------
def _fi_currents(quick: bool) -> np.ndarray:
    """0-50 mA in steps of 0.5 mA (1 mA quick), and 0.1 mA (0.25 mA quick) up to 20 mA for the rheobase."""
    coarse = np.linspace(0.0, FI_MAX_MA, 51 if quick else 101)
    fine = np.linspace(0.0, 20.0, 81 if quick else 201)
    return np.unique(np.round(np.concatenate([coarse, fine]), 6)).astype(np.float32)


def _run_model(name: str, quick: bool):
    """One run per model: the f-I population (common currents) plus one neuron with a current step."""
    import lapicque
    from ._neurons.refractory import BOOKKEEPING
    from .analysis import firing_rate

    cls = lapicque.MODELS[name]
    currents = _fi_currents(quick)
    n = currents.size + 1
    i_trace, t_on = DEMO_CURRENTS.get(name, 5.0), 20.0
    base = np.concatenate([currents, [0.0]]).astype(np.float32)
    step = np.zeros(n, np.float32)
    step[-1] = i_trace

    def current(t):
        on = (t >= t_on * u.ms).astype(np.float32)
        return u.Quantity(base + step * on, unit=u.mA)

    duration = (300. if quick else 1000.) * u.ms
    transient = (50. if quick else 200.) * u.ms
    model = cls(n)
    record = tuple(s for s in model.state_names() if s not in BOOKKEEPING)
    res = lapicque.simulate(model, current, duration, 0.1 * u.ms, record=record, progress=False)
    rates = np.asarray(firing_rate(res, start=transient, method="isi").to_decimal(u.Hz))[:-1]
    return model, res, currents, rates, i_trace


def _rheobase(currents, rates) -> float:
    """Smallest tested current with a non-zero rate (NaN if none fires)."""
    firing = np.nonzero(rates > 0)[0]
    return float(currents[firing[0]]) if firing.size else float("nan")


def _trace_figure(name, res, i_trace, t_show):
    """V (with spikes and threshold) and the varying states of the trace neuron, currents in readable units."""
    from . import plot as lplot
    n = res.n_neurons - 1
    shown = []
    for r in res.traces:  # leave out bookkeeping and states that stay constant (e.g. Gif's I1, I2 at rest)
        vals = np.asarray(u.get_mantissa(res.traces[r])).reshape(len(res.trace_times), -1)[:, n]
        if r == "V" or np.ptp(vals) > 0:
            shown.append(r)
    fig = lplot.traces(res, neuron=n, names=shown, panel_size=(7.5, 2.3),
                       title=f"{name}: {i_trace:g} mA step at 20 ms (seed defaults)")
    for ax in fig.axes:
        ax.set_xlim(0, t_show)
    data = {"t_ms": res.trace_times.to_decimal(u.ms), "I_step_mA": np.float32(i_trace),
            "spike_times_ms": res.spike_times[n].to_decimal(u.ms)}
    for r in shown:
        q = res.traces[r]
        data[f"{r}" + (f"_{u.get_unit(q)}" if isinstance(q, u.Quantity) else "")] = \
            np.asarray(u.get_mantissa(q)).reshape(len(res.trace_times), -1)[:, n]
    return fig, data


#: units a parameter is shown in, by dimension: the first one giving a mantissa in [1, 1000) is taken
_LADDERS = (("ohm", "kohm", "Mohm", "Gohm"), ("pS", "nS", "uS", "mS", "siemens"), ("pA", "nA", "uA", "mA", "amp"))


def _readable(value) -> str:
    """A parameter value in the unit that reads best (83.3 Mohm, 2 nS, 60 pA; times in ms, voltages in mV)."""
    q = getattr(value, "value", value)
    if not isinstance(q, u.Quantity) or q.is_unitless:
        arr = np.asarray(u.get_mantissa(q)).reshape(-1)
        return f"{arr[0]:.4g}" if arr.size == 1 and arr.dtype.kind == "f" else str(q)
    unit = q.unit
    for ladder in _LADDERS:
        units = [getattr(u, n) for n in ladder if hasattr(u, n)]
        if units and u.have_same_dim(q, 1.0 * units[0]):
            peak = float(np.max(np.abs(np.asarray(q.to_decimal(units[0]))))) or 1.0
            unit = next((x for x in units if peak < 999.5 * float((1.0 * x).to_decimal(units[0]))), units[-1])
    arr = np.asarray(q.to_decimal(unit), dtype=np.float64).reshape(-1)
    text = f"{arr[0]:.4g}" if arr.size == 1 else f"[{', '.join(f'{x:.4g}' for x in arr[:4])}, ...]"
    return f"{text} {unit}"


def _param_table(model) -> str:
    """The model's parameters, one row each, in readable units."""
    from ._cli.values import model_parameters
    rows = []
    for info in model_parameters(type(model)):
        if info.role == "initial value":
            continue
        value = getattr(model, info.name, info.default)
        text = str(value) if info.kind in ("choice", "bool") else _readable(value)
        rows.append(f"<tr><td><code>{html.escape(info.name)}</code></td><td>{html.escape(text)}</td></tr>")
    return f'<table class="par"><tbody>{"".join(rows)}</tbody></table>'


# --------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------
def _mV(value) -> float:
    """A scalar voltage parameter in mV."""
    return float(np.asarray(u.Quantity(value).to_decimal(u.mV)).reshape(-1)[0])


def _conventions(ctx: Context) -> Section:
    """The seed's R = 1 ohm scale (mA) next to the physiological Naud AdEx set (pA, MOhm, nS)."""
    import lapicque
    from . import patterns
    from . import plot as lplot

    pat = patterns.get("adaptation")
    phys = pat.make(1)
    seed = lapicque.AdExIF(1, spk_reset="hard")
    dur, t_on = 400.0, 20.0
    n = int(round(dur / 0.1))
    step = (np.arange(n) * 0.1 >= t_on).astype(np.float32)
    runs = [("seed defaults, R = 1 ohm: 30 mA step", seed, u.Quantity(30.0 * step, unit=u.mA)),
            ("Naud et al. 2008 (adaptation): 500 pA step", phys, u.Quantity(500.0 * step, unit=u.pA))]
    fig = lplot.new_figure((12.0, 4.6))
    axes = fig.subplots(2, 2, sharex=True, squeeze=False)
    data = {}
    for j, (title, model, current) in enumerate(runs):
        res = lapicque.simulate(model, current, dur * u.ms, 0.1 * u.ms, record=("V", "w"), time_varying=True,
                                progress=False)
        lplot.voltage(res, 0, ax=axes[0, j], title=title, legend=False)
        w = res.traces["w"].reshape(-1)
        unit = lplot.readable_unit(w)
        axes[1, j].plot(np.asarray(res.trace_times.to_decimal(u.ms), dtype=np.float64),
                        np.asarray(w.to_decimal(unit)), color=lplot.COLORS[1])
        axes[1, j].set_ylabel(f"w ({unit})")
        axes[1, j].set_xlabel("time (ms)")
        axes[0, j].set_xlabel("")
        key = "seed" if j == 0 else "naud"
        data.update({f"{key}_t_ms": res.trace_times.to_decimal(u.ms), f"{key}_V_mV": res.traces["V"].to_decimal(u.mV),
                     f"{key}_w_{unit}": w.to_decimal(unit)})
    side = (f'<div class="cols"><div><b>AdExIF, seed defaults</b>{_param_table(seed)}</div>'
            f'<div><b>AdExIF, Naud et al. (2008) &ldquo;adaptation&rdquo;</b>{_param_table(phys)}</div></div>')
    cap = ("The same class, lapicque.AdExIF, on two scales. Left: the seed's defaults, R = 1 ohm, so a drive of "
           "1 mV needs 1 mA and currents (input and adaptation w) are in mA. Right: the physiological set of "
           "Naud et al. (2008): C = 200 pF, g<sub>L</sub> = 12 nS (R = 83 M&Omega;, &tau; = C/g<sub>L</sub> = "
           "16.7 ms), a = 2 nS, b = 60 pA, with a 500 pA step; w is in pA. Currents are plotted in the unit "
           "that puts them between 1 and 1000. Spikes are red dots on the cut-off each crossed (dashed: "
           f"V<sub>th</sub> = {_mV(seed.V_th):g} mV on the left, V<sub>th</sub> = V<sub>peak</sub> = "
           f"{_mV(phys.V_th):g} mV on the right): V never goes beyond it, so no upstroke above it is drawn.")
    intro = ("<p>Units: time in ms, voltages in mV. The seed's default parameters (those of the reference "
             "brainpy.state) use R = 1 &Omega; and &tau; of a few ms, so input currents are in <b>mA</b>; every "
             "model accepts physiological values in any unit (e.g. <code>R=83*u.Mohm</code>, "
             "<code>a=2*u.nS</code>, <code>b=60*u.pA</code>). Time convention: step <i>i</i> runs with "
             "<i>t</i> = <i>i</i>&middot;dt and reports its spikes and states at (<i>i</i>+1)&middot;dt. "
             "All runs use <code>lapicque.simulate</code> at dt = 0.1 ms.</p>")
    return Section("Conventions and scale", intro, [ctx.figure(fig, "conventions", cap, data)], after=side,
                   grid=False)


def _fi_top(rates) -> float:
    """The common rate axis' top (Hz): the fastest rate, capped at :data:`Y_CAP_HZ`, plus 5%."""
    return min(float(np.nanmax(rates)), Y_CAP_HZ) * 1.05 or 1.0


def _fi_grid(names, currents, rates, rheo):
    """One f-I panel per model on common axes, each with its own tick labels; the rheobase dotted."""
    from . import plot as lplot
    top = _fi_top(rates)
    grid, axes = lplot.figure(len(names), ncols=5, panel_size=(3.0, 2.3), sharex=True, sharey=True,
                              title=f"f-I curves on common axes (seed defaults; rates above {Y_CAP_HZ:g} Hz off scale)")
    for k, (name, ax) in enumerate(zip(names, axes)):
        ax.plot(currents, rates[k], color=lplot.COLORS[k % len(lplot.COLORS)], lw=1.4)
        ax.set_title(name, fontsize=10)
        ax.grid(True, alpha=0.3)
        if rates[k].max() > top:
            ax.text(0.97, 0.06, f"up to {rates[k].max():.0f} Hz\n(off scale)", transform=ax.transAxes,
                    ha="right", va="bottom", fontsize=8, color="0.3")
        if np.isfinite(rheo[k]):
            ax.axvline(rheo[k], color="0.5", ls=":", lw=1)
        ax.set_xlim(0, FI_MAX_MA)
        ax.set_ylim(0, top)
        # shared axes hide the inner panels' tick labels: every panel gets its own, so none reads unlabelled
        ax.tick_params(labelbottom=True, labelleft=True, labelsize=8)
        ax.set_xlabel("I (mA)", fontsize=8)
        ax.set_ylabel("rate (Hz)", fontsize=8)
    return grid


def _fi_overlay(names, currents, rates, rheo):
    """All f-I curves on one axes, each model's rheobase marked with a triangle on the current axis."""
    from . import plot as lplot
    top = _fi_top(rates)
    over = lplot.new_figure((9.0, 5.0)).add_subplot(1, 1, 1)
    for k, name in enumerate(names):
        color = lplot.COLORS[k % len(lplot.COLORS)]
        over.plot(currents, rates[k], color=color, ls="-" if k < len(lplot.COLORS) else "--", lw=1.3,
                  label=f"{name} ({rheo[k]:g} mA)")
        if np.isfinite(rheo[k]):
            over.plot([rheo[k]], [0], marker="v", color=color, ms=8, clip_on=False, zorder=5)
    over.set_xlim(0, FI_MAX_MA)
    over.set_ylim(0, top)
    over.set_xlabel("input current (mA)")
    over.set_ylabel("firing rate (Hz)")
    over.set_title("all models, rheobase (first current that fires) marked with a triangle")
    over.grid(True, alpha=0.3)
    over.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False,
                title="model (rheobase)")
    return over.figure


def _fi_section(ctx: Context, runs) -> Section:
    names = list(runs)
    currents = _fi_currents(ctx.quick)
    rates = np.stack([runs[n][3] for n in names])
    rheo = np.array([_rheobase(currents, r) for r in rates])
    data = {"currents_mA": currents, "rates_Hz": rates, "models": np.array(names), "rheobase_mA": rheo}
    dur = "300 ms" if ctx.quick else "1 s"
    how = (f"one vectorized run per model ({currents.size} currents, {dur}, dt = 0.1 ms), rate = inverse mean "
           f"inter-spike interval after a {'50' if ctx.quick else '200'} ms transient")
    figs = [ctx.figure(_fi_grid(names, currents, rates, rheo), "fi_curves",
                       f"f-I curves of the 13 models on common axes: {how}. Dotted: rheobase.", data),
            ctx.figure(_fi_overlay(names, currents, rates, rheo), "fi_overlay",
                       "The same curves overlaid (IF and LIF coincide); each triangle marks a model's rheobase, the "
                       f"smallest current that fires within the run, resolved to {currents[1] - currents[0]:g} mA "
                       "below 20 mA.", "fi_curves.npz")]
    return Section("f-I curves", "", figs, grid=False)


def _models_section(ctx: Context, runs) -> Section:
    figs = []
    t_show = 150. if ctx.quick else 250.
    v_if = runs["IF"][1].traces["V"] if "IF" in runs else None
    for name, (model, res, _, _, i_trace) in runs.items():
        fig, data = _trace_figure(name, res, i_trace, t_show)
        eq, note = MODEL_TEXT.get(name, ("", ""))
        if name == "LIF" and v_if is not None:
            diff = float(np.max(np.abs(np.asarray(res.traces["V"].to_decimal(u.mV))
                                       - np.asarray(v_if.to_decimal(u.mV)))))
            note += f" Largest difference of V between the IF and LIF runs: {diff:.3g} mV."
        side = (f'<p class="eq">{eq}</p>' + (f"<p>{note}</p>" if note else "")
                + "<p>Parameters used (the seed defaults):</p>" + _param_table(model))
        adapt = [a.get_ylabel() for a in fig.axes[1:]]
        extra = f"; below: {', '.join(adapt)}" if adapt else ""
        cap = (f"{name}: membrane potential for a {i_trace:g} mA step at 20 ms (spikes marked by red dots on the "
               f"threshold they crossed: V stops at the first sample at or above it and is reset at the next step, "
               f"so no upstroke is drawn; threshold dashed){extra}.")
        figs.append(ctx.figure(fig, f"trace_{name}", cap, data, extra_html=side))
    intro = ("<p>One figure per model: its equation, the parameter values of the run and the response of one "
             "neuron to a current step. Every model is one lapicque class with the brainpy.state "
             "constructor.</p>")
    return Section("The models", intro, figs, grid=False)


def _reference_expif(n_steps: int):
    """V (mV) of brainpy.state's ExpIF at 6 mA, every step; None when brainpy is not installed."""
    try:
        import brainpy.state as bp
        import brainstate
    except Exception:  # noqa: BLE001 - brainpy is optional (the test extra installs it)
        return None
    m = bp.ExpIF(1)
    with brainstate.environ.context(dt=0.1 * u.ms):
        m.init_state()

        def step(i):
            with brainstate.environ.context(t=i * 0.1 * u.ms, i=i):
                m.update(6. * u.mA)
            return m.V.value

        V = brainstate.transform.for_loop(step, np.arange(n_steps))
    return np.asarray(V.to_decimal(u.mV), dtype=np.float64).reshape(-1)


def _guard_section(ctx: Context) -> Section:
    import lapicque

    n = 300
    model = lapicque.ExpIF(1)
    res = lapicque.simulate(model, 6. * u.mA, n * 0.1 * u.ms, 0.1 * u.ms, record=("V",), progress=False)
    t = np.asarray(res.trace_times.to_decimal(u.ms), dtype=np.float64)
    ours = np.asarray(res.traces["V"].to_decimal(u.mV), dtype=np.float64).reshape(-1)
    ref = _reference_expif(n)
    if ref is None:
        source = "stored numbers measured with brainpy 2.8.2"
        ref_t = REFERENCE_EXPIF_6MA["first_ms"] + np.arange(len(REFERENCE_EXPIF_6MA["V_mV"])) * \
            REFERENCE_EXPIF_6MA["every_ms"]
        ref = np.asarray(REFERENCE_EXPIF_6MA["V_mV"])
        peak, t_peak = REFERENCE_EXPIF_6MA["peak_mV"], REFERENCE_EXPIF_6MA["blowup_ms"]
    else:
        source, ref_t = "run now with brainpy.state", t
        peak, t_peak = float(np.nanmax(ref)), float(ref_t[int(np.nanargmax(ref))])
    fig = _guard_figure(res, t, ours, ref_t, ref)
    mv = {k: float(np.asarray(getattr(model, k).to_decimal(u.mV))) for k in ("V_th", "V_reset")}
    cap = (f"ExpIF with the seed defaults at 6 mA, dt = 0.1 ms. The reference ({source}) reaches "
           f"V = {peak:.3g} mV at t = {t_peak:g} ms: near the upswing one exponential-Euler step multiplies the "
           f"divergent term by exprel(dt J) and V jumps by more than twenty orders of magnitude; the soft reset, "
           f"which subtracts V_th - V_reset = {mv['V_th'] - mv['V_reset']:g} mV per spike, cannot bring it back. "
           f"lapicque evaluates the divergent term at min(V, V_th) and stores a step that overshoots as exactly "
           f"V_th = {mv['V_th']:g} mV (a spike): largest V {ours.max():.3g} mV, {int(res.spike_count.sum())} "
           f"spike(s) in {n * 0.1:g} ms. Below V_th the two trajectories agree.")
    data = {"t_ms": t, "V_lapicque_mV": ours, "t_reference_ms": ref_t, "V_reference_mV": ref}
    return Section("The cut-off guard", "", [ctx.figure(fig, "guard", cap, data)], grid=False)


#: the guard figure's symmetric-log axis: linear within +-100 mV, decades above; its ticks and their labels
_GUARD_TICKS = ((-100., "\u2212100"), (-50., "\u221250"), (0., "0"), (100., "100"), (1e8, "10$^{8}$"),
                (1e16, "10$^{16}$"), (1e24, "10$^{24}$"))


def _guard_figure(res, t, ours, ref_t, ref):
    """Left: both trajectories on a symmetric log scale; right: lapicque's on a linear one."""
    from matplotlib.ticker import NullLocator

    from . import plot as lplot
    fig = lplot.new_figure((12.0, 3.6))
    a, b = fig.subplots(1, 2)
    a.plot(ref_t, ref, color=lplot.COLORS[3], lw=1.4, label="brainpy.state (reference)")
    a.plot(t, ours, color=lplot.COLORS[0], lw=1.4, label="lapicque")
    a.set_yscale("symlog", linthresh=100.0, linscale=8.0)  # the +-100 mV range takes about 40% of the height
    a.set_ylim(-100.0, 1e26)
    a.set_yticks([y for y, _ in _GUARD_TICKS], [text for _, text in _GUARD_TICKS])
    a.yaxis.set_minor_locator(NullLocator())
    a.set_ylabel("V (mV), linear to \u00b1100, then log")
    a.legend(loc="center left", fontsize="small")
    lplot.voltage(res, 0, ax=b, legend=False)
    b.legend(loc="center left", fontsize="small")
    for ax, title in ((a, "ExpIF, seed defaults, 6 mA: the reference overflows"),
                      (b, "lapicque: the upswing stops at V_th and is reset")):
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel("time (ms)")
        ax.grid(True, alpha=0.3)
    return fig


def _population_section(ctx: Context) -> Section:
    """1000 heterogeneous LIFRef neurons: sorted bias currents, a common 8 Hz drive and private noise."""
    import braintools
    import brainstate
    import jax
    import jax.numpy as jnp

    import lapicque
    from . import plot as lplot
    from .analysis import firing_rate, isi_cv, population_rate

    n, dt_ms, sigma = 1000, 0.1, 40.0  # sigma: white-noise amplitude (mA) per step, scaled by sqrt(dt)
    rng = np.random.default_rng(7)
    tau = rng.uniform(10., 30., n).astype(np.float32)
    V_th = rng.normal(-50., 1.5, n).astype(np.float32)
    bias = np.sort(rng.uniform(10., 22., n)).astype(np.float32)
    model = lapicque.LIFRef(n, R=1. * u.ohm, tau=tau * u.ms, tau_ref=2. * u.ms, V_th=V_th * u.mV,
                            V_reset=-70. * u.mV, V_rest=-65. * u.mV,
                            V_initializer=braintools.init.Uniform(-70. * u.mV, -50. * u.mV))
    key = jax.random.PRNGKey(0)

    def current(t):
        i = brainstate.environ.get("i")
        noise = jax.random.normal(jax.random.fold_in(key, i), (n,)) * sigma * jnp.sqrt(dt_ms)
        drive = 4.0 * jnp.sin(2 * jnp.pi * 8.0 * t.to_decimal(u.second))
        return u.Quantity(bias + drive + noise, unit=u.mA)

    res = lapicque.simulate(model, current, (400. if ctx.quick else 1000.) * u.ms, dt_ms * u.ms, progress=False)
    rate = population_rate(res, window=5. * u.ms)
    fig, axes = lplot.figure(2, ncols=1, panel_size=(9.0, 2.6), height_ratios=(2.2, 1.0), sharex=True)
    lplot.raster(res, ax=axes[0], title=f"{n} heterogeneous LIFRef neurons (sorted by bias current, weakest at "
                                        f"the bottom)")
    axes[0].set_xlabel("")
    t = np.asarray(res.times.to_decimal(u.ms))
    axes[1].plot(t, np.asarray(rate.to_decimal(u.Hz)), color=lplot.COLORS[3], lw=1.0)
    axes[1].set_ylim(bottom=0)
    axes[1].set(xlabel="time (ms)", ylabel="population rate (Hz)", title="population rate (5 ms box filter)")
    axes[1].grid(True, alpha=0.3)
    r = np.asarray(firing_rate(res).to_decimal(u.Hz))
    cv = isi_cv(res)
    cv_text = f"median ISI CV {np.median(cv[np.isfinite(cv)]):.2f}" if np.isfinite(cv).any() else "no ISI CV"
    times, neurons = res.spike_events
    cap = (f"Raster of a heterogeneous population: membrane time constants 10-30 ms, thresholds -50 mV +- 1.5 mV, "
           f"bias currents 10-22 mA (neurons sorted by bias, neuron 0 the weakest, at the bottom), a shared 8 Hz "
           f"drive and private white noise. "
           f"{n} neurons, mean rate {r.mean():.1f} Hz (range {r.min():.1f}-{r.max():.1f} Hz), {cv_text}.")
    data = {"spike_times_ms": times.to_decimal(u.ms), "spike_neurons": neurons, "bias_mA": bias, "tau_ms": tau,
            "V_th_mV": V_th, "t_ms": t, "population_rate_Hz": rate.to_decimal(u.Hz)}
    return Section("Population", "", [ctx.figure(fig, "raster", cap, data)], grid=False)


_TABLE_COLUMNS = (("key", "key"), ("name", "behaviour"), ("dt_ms", "dt (ms)"), ("precision", "float bits"),
                  ("n_spikes", "spikes"), ("first_spike_ms", "first spike (ms)"), ("label", "classified as"),
                  ("passed", "confirmed"), ("criterion", "criterion"))


def _table_html(rows) -> str:
    def cell(key, value):
        if key == "passed":
            return "&#10004;" if value else "&#10008;"
        if isinstance(value, float):
            return "" if not np.isfinite(value) else f"{value:.2f}"
        return html.escape(str(value))
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in _TABLE_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{cell(k, r.get(k, ''))}</td>" for k, _ in _TABLE_COLUMNS) + "</tr>"
                   for r in rows)
    return f'<table class="pat"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _pattern_sections(ctx: Context) -> List[Section]:
    from . import patterns
    out = []
    for kind, title, source in (
            ("adex", "AdEx firing patterns", "Naud et al. (2008), AdExIF (C in pF, g in nS, currents in pA), "
                                             "hard reset"),
            ("gif", "Generalized IF behaviours", "Mihala&#351; &amp; Niebur (2009) panels A-T, Gif, hard reset")):
        ctx.log(f"  {title.lower()} ...")
        results = patterns.run_all(kind, precision="auto")
        fig = patterns.gallery(kind, None, results=results)
        rows = patterns.summary(results)
        n_ok = sum(bool(r["passed"]) for r in rows)
        data = {}
        for key, r in results.items():
            data.update({f"{key}_t_ms": r.t, f"{key}_V_mV": r.V, f"{key}_I_{r.pattern.current_unit}": r.current,
                         f"{key}_spike_times_ms": r.spike_times})
        cap = (f"{source}: membrane potential over the input current of each published protocol (the legend "
               f"names the lines: the dynamic threshold dashed red, spikes as dots where V reached the threshold "
               f"or the cut-off); a check mark where the objective classifier confirms the named behaviour "
               f"({n_ok} of {len(rows)}).")
        out.append(Section(title, "", [ctx.figure(fig, f"patterns_{kind}", cap, data)], after=_table_html(rows),
                           grid=False))
    return out


def _versions_section() -> Section:
    import platform
    from importlib import metadata
    from ._results.formats import versions
    v = versions()
    for extra in ("brainpy", "matplotlib"):
        try:
            v[extra] = metadata.version(extra)
        except metadata.PackageNotFoundError:
            pass
    v["platform"] = platform.platform()
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(x))}</td></tr>" for k, x in v.items())
    return Section("Versions", "<p>This report was produced with:</p>",
                   after=f'<table class="par"><tbody>{rows}</tbody></table>', grid=False)


# --------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------
_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1250px;margin:2em auto;padding:0 1em;color:#222;"
    "line-height:1.45}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}"
    "figure{margin:1.2em 0}img{max-width:100%;border:1px solid #ddd}"
    "figcaption{color:#444;font-size:.93em;margin-top:.4em}.data{font-size:.85em;margin-left:.5em}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:1em}"
    ".model{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1.2em;align-items:start;"
    "border-top:1px solid #eee;padding-top:.6em}.side{font-size:.92em}"
    ".eq{font-family:'STIX Two Math','Cambria Math',serif;font-size:1.08em;background:#f7f7fa;padding:.4em .6em;"
    "border-left:3px solid #99a}"
    ".cols{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}"
    "code{background:#f4f4f4;padding:0 .2em}table{border-collapse:collapse;font-size:.9em;margin:.4em 0}"
    "td,th{border:1px solid #ddd;padding:.15em .5em;text-align:left}nav a{margin-right:1em}")


def _figure_html(f: Figure) -> str:
    link = f' <a class="data" href="{html.escape(f.data)}">data (NPZ)</a>' if f.data else ""
    img = (f'<figure><a href="{html.escape(f.file)}"><img src="{html.escape(f.file)}" alt="{html.escape(f.file)}">'
           f"</a><figcaption>{f.caption}{link}</figcaption></figure>")
    if f.extra_html:
        return f'<div class="model"><div>{img}</div><div class="side">{f.extra_html}</div></div>'
    return img


def _anchor(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")


def write_index(out: str, sections: Sequence[Section], quick: bool, version: str) -> str:
    """Write ``out/index.html`` from the sections; return its path."""
    nav = " ".join(f'<a href="#{_anchor(s.title)}">{html.escape(s.title)}</a>' for s in sections)
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>lapicque {html.escape(version)} demo</title><style>{_CSS}</style></head><body>",
             f"<h1>lapicque {html.escape(version)}: integrate-and-fire models</h1>",
             f"<p>Generated by <code>lapicque demo{' --quick' if quick else ''}</code> on "
             f"{html.escape(time.strftime('%Y-%m-%d %H:%M'))}. Each figure links its data as an NPZ file "
             f"(<code>numpy.load</code>).</p>", f"<nav>{nav}</nav>"]
    for s in sections:
        parts.append(f'<h2 id="{_anchor(s.title)}">{html.escape(s.title)}</h2>{s.intro}')
        grid = s.grid and len(s.figures) > 1
        parts.append('<div class="grid">' if grid else "")
        parts += [_figure_html(f) for f in s.figures]
        parts.append("</div>" if grid else "")
        parts.append(s.after)
    parts.append("</body></html>")
    from ._core.atomic import atomic_write
    path = os.path.join(out, "index.html")
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(p for p in parts if p) + "\n")
    return path


def run_demo(out: str, quick: bool = False, log=print,
             extra_sections: Sequence[Callable[[Context], Section]] = ()) -> List[str]:
    """Build the demo report in ``out``; return the written paths (PNG, NPZ and ``index.html``).

    Parameters
    ----------
    out : str
        Output folder (created).
    quick : bool
        Shorter runs and fewer currents (for tests).
    log : callable
        Progress messages.
    extra_sections : sequence of callables
        Each ``f(ctx) -> Section`` adds a section before the versions (e.g.
        a network page); ``ctx.figure(fig, name, caption, data)`` saves a
        figure and its data.
    """
    import lapicque
    os.makedirs(out, exist_ok=True)
    ctx = Context(out=out, quick=quick, log=log, dpi=80 if quick else 110)
    log(f"lapicque demo{' (quick)' if quick else ''}: simulating {len(lapicque.MODELS)} models ...")
    runs = {}
    for name in lapicque.MODELS:
        runs[name] = _run_model(name, quick)
        rates = runs[name][3]
        log(f"  {name:<11} f-I: {rates.max():7.1f} Hz at {FI_MAX_MA:g} mA, rheobase "
            f"{_rheobase(runs[name][2], rates):g} mA")
    sections = [_conventions(ctx), _fi_section(ctx, runs), _models_section(ctx, runs), _guard_section(ctx)]
    log("  population raster ...")
    sections.append(_population_section(ctx))
    sections += _pattern_sections(ctx)
    sections += [make(ctx) for make in extra_sections]
    sections.append(_versions_section())
    ctx.written.append(write_index(out, sections, quick, lapicque.__version__))
    return ctx.written
