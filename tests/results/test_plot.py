"""lapicque.plot: headless figures with labelled axes; PNGs are written and non-empty."""

import sys

import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque import analysis, plot

matplotlib = pytest.importorskip("matplotlib")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    with open(path, "rb") as f:
        head = f.read(8)
    return head == PNG_MAGIC and path.stat().st_size > 5000


@pytest.fixture(scope="module")
def adex():
    return lq.simulate(lq.AdExIF(3), [20., 30., 40.] * u.mA, 60 * u.ms, record=("V", "w"))


def test_traces_with_spikes_marked_and_units(adex, tmp_path):
    backend = matplotlib.get_backend()
    fig = plot.traces(adex, neuron=1, title="AdExIF")
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["V (mV)", "w (mA)"]
    assert axes[-1].get_xlabel() == "time (ms)"
    assert axes[0].get_title() == "AdExIF"
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert labels == ["V", "threshold V_th", "spikes (at threshold)"]
    # one dot per spike of neuron 1, at its time, on the threshold
    dots = [line for line in axes[0].get_lines() if line.get_label() == "spikes (at threshold)"][0]
    assert len(dots.get_xdata()) == adex.spike_count[1] > 0
    np.testing.assert_allclose(dots.get_xdata(), adex.spike_times[1].to_decimal(u.ms))
    np.testing.assert_allclose(dots.get_ydata(), adex.model.V_th.to_decimal(u.mV))
    path = tmp_path / "sub" / "adex.png"
    plot.save(fig, str(path))
    assert _is_png(path)
    assert matplotlib.get_backend() == backend  # the global backend is left alone


def test_voltage_threshold_follows_dynamic_thresholds():
    res = lq.simulate(lq.ALIF(1), 2 * u.mA, 40 * u.ms, record=("V", "a"))
    ax = plot.voltage(res)
    thr = [line for line in ax.get_lines() if line.get_label().startswith("threshold")][0]
    assert thr.get_label() == "threshold V_th + beta a"
    assert np.ptp(thr.get_ydata()) > 0
    fig = plot.traces(res)
    assert fig.axes[1].get_ylabel() == "a (dimensionless)"
    with pytest.raises(ValueError, match="record"):
        plot.voltage(lq.simulate(lq.ALIF(1), 2 * u.mA, 5 * u.ms))


def test_a_dimensionless_threshold_is_drawn_and_spikes_sit_on_it():
    """FitzHughNagumo's V and V_th are plain numbers: the threshold line is there and the spike dots are on it."""
    res = lq.simulate(lq.FitzHughNagumo(1), 0.5, 200 * u.ms, record=("V",))
    ax = plot.voltage(res)
    thr = [line for line in ax.get_lines() if line.get_label() == "threshold V_th"]
    assert len(thr) == 1 and np.all(np.asarray(thr[0].get_ydata()) == 1.)
    dots = np.concatenate([np.asarray(line.get_ydata()) for line in ax.get_lines()
                           if line.get_label() == "spikes (at threshold)"])
    assert res.spike_count[0] > 0 and dots.size == res.spike_count[0] and np.all(dots == 1.)


def _drawn_y(ax):
    """Every y value the axes draws in data units: lines (incl. axhline) and line collections (strokes)."""
    ys = [np.asarray(line.get_ydata(), dtype=np.float64) for line in ax.get_lines()]
    ys += [np.asarray(seg)[:, 1] for c in ax.collections for seg in c.get_segments()]
    return np.concatenate([y.reshape(-1) for y in ys])


def _highest_V(res):
    """The largest V the run stored, or the threshold it crossed (mV): nothing drawn may go above it."""
    v = float(np.max(res.traces["V"].to_decimal(u.mV)))
    thr = float(np.max(res.model.V_th.to_decimal(u.mV)))
    if "a" in res.traces:  # ALIF: the threshold is V_th + beta a
        thr += float(np.max(res.model.beta.to_decimal(u.mV) * np.asarray(res.traces["a"])))
    return max(v, thr)


@pytest.mark.parametrize("case", ["expif_guard", "naud_vpeak_0", "alif_adaptive", "lif"])
def test_voltage_draws_no_voltage_the_model_never_had(case):
    """Spikes are dots on the threshold: no stroke above the cut-off (issue 24: +35 mV where V_peak = 0,
    -11 mV in the guard figure whose largest V is -30 mV)."""
    from lapicque import patterns
    if case == "expif_guard":  # the report's guard figure: seed ExpIF at 6 mA stops at V_th = -30 mV
        res = lq.simulate(lq.ExpIF(1), 6. * u.mA, 30 * u.ms, record=("V",))
    elif case == "naud_vpeak_0":  # the conventions figure: Naud's set, V_th = V_peak = 0 mV
        res = lq.simulate(patterns.get("adaptation").make(1), 500 * u.pA, 200 * u.ms, record=("V", "w"))
    elif case == "alif_adaptive":
        res = lq.simulate(lq.ALIF(1), 2 * u.mA, 60 * u.ms, record=("V", "a"))
    else:
        res = lq.simulate(lq.LIF(1), 2 * u.mA, 30 * u.ms, record=("V",))
    assert res.spike_count[0] > 0
    ax = plot.voltage(res)
    top = _highest_V(res)
    assert _drawn_y(ax).max() <= top + 1e-4, (case, _drawn_y(ax).max(), top)
    dots = [line for line in ax.get_lines() if line.get_label().startswith("spikes")][0]
    assert len(dots.get_xdata()) == res.spike_count[0]
    # each dot sits on the threshold line at the spike's time (the sample where V reached it), which V reached
    thr = np.asarray([line for line in ax.get_lines() if line.get_label().startswith("threshold")][0].get_ydata())
    t, x = res.trace_times.to_decimal(u.ms), np.asarray(dots.get_xdata())
    on_line = np.interp(x, t, thr) if thr.size == t.size else np.full(x.shape, thr[0])  # a trace or an axhline
    np.testing.assert_allclose(dots.get_ydata(), on_line, rtol=0, atol=1e-6)
    v_at = np.interp(x, t, np.asarray(res.traces["V"].to_decimal(u.mV)).reshape(-1))
    assert np.all(v_at >= dots.get_ydata() - 1e-4)
    # a stroke is drawn only to a peak the caller states, and the legend says which
    ax = plot.voltage(res, spike_peak=20 * u.mV)
    strokes = [c for c in ax.collections if c.get_label() == "spikes (drawn to 20 mV)"][0]
    assert len(strokes.get_segments()) == res.spike_count[0]
    assert max(np.asarray(seg)[:, 1].max() for seg in strokes.get_segments()) == pytest.approx(20.0)
    with pytest.raises(TypeError, match="voltage"):
        plot.voltage(res, spike_peak=20 * u.mA)


def test_raster_neuron_0_at_the_bottom_with_whole_row_ticks(adex):
    """As Brian2 and NEST: neuron 0 is the bottom row; ticks sit on rows (no -0.5, 0.5, 1.5)."""
    ax = plot.raster(adex)
    lo, hi = ax.get_ylim()
    assert lo < hi and not ax.yaxis_inverted()
    rows = ax.get_lines()[0].get_ydata()
    assert [int(np.sum(rows == k)) for k in range(3)] == [int(c) for c in adex.spike_count]  # neuron k on row k
    ax.figure.canvas.draw()
    shown = [t for t in ax.get_yticks() if lo <= t <= hi]
    assert shown and all(float(t).is_integer() for t in shown), shown
    two = np.zeros((50, 2), bool)
    two[::7, :] = True
    ax = plot.raster(two, dt=0.1 * u.ms)
    ax.figure.canvas.draw()
    assert [t for t in ax.get_yticks() if -0.5 <= t <= 1.5] == [0, 1]
    # rows of a selection are labelled with the neurons they show, bottom first
    ax = plot.raster(adex, neurons=[2, 0])
    ax.figure.canvas.draw()
    labels = {int(t): lab.get_text() for t, lab in zip(ax.get_yticks(), ax.get_yticklabels()) if 0 <= t <= 1}
    assert labels == {0: "2", 1: "0"}


def test_raster_and_fi_curve(adex, tmp_path):
    ax = plot.raster(adex, title="three neurons")
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("time (ms)", "neuron", "three neurons")
    xs = ax.get_lines()[0].get_xdata()
    assert len(xs) == adex.spike_count.sum()
    ax = plot.raster(adex, neurons=[2])
    assert len(ax.get_lines()[0].get_xdata()) == adex.spike_count[2]

    I = np.linspace(0., 5., 6, dtype=np.float32) * u.mA
    rates = analysis.fi_curve("LIF", I, 100 * u.ms)
    ax = plot.fi_curve(I, rates, label="LIF", title="f-I")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("input current (mA)", "firing rate (Hz)")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), rates.to_decimal(u.Hz))
    plot.save(ax.figure, str(tmp_path / "fi.png"))
    assert _is_png(tmp_path / "fi.png")
    with pytest.raises(TypeError, match="frequency"):
        plot.fi_curve(I, [1.] * u.mA)


def test_multi_panel_helper(tmp_path):
    fig, axes = plot.figure(5, ncols=2, title="five")
    assert len(axes) == 5 and len(fig.axes) == 6
    assert sum(ax.get_visible() for ax in fig.axes) == 5
    raster = np.zeros((200, 10), bool)
    raster[::17, ::3] = True
    plot.raster(raster, ax=axes[0], dt=0.1 * u.ms)
    plot.save(fig, str(tmp_path / "panels.png"))
    assert _is_png(tmp_path / "panels.png")
    with pytest.raises(ValueError):
        plot.figure(0)


def test_plotting_does_not_need_pyplot():
    # figures are matplotlib.figure.Figure objects with their own Agg canvas
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    fig, _ = plot.figure(1)
    assert isinstance(fig.canvas, FigureCanvasAgg)
    assert "lapicque.plot" in sys.modules


def test_currents_are_drawn_in_a_readable_unit():
    """The Naud AdEx set's adaptation current (tens of pA) is drawn in pA, with the values in pA."""
    from lapicque import patterns
    model = patterns.get("adaptation").make(1)
    res = lq.simulate(model, 500 * u.pA, 100 * u.ms, record=("V", "w"))
    fig = plot.traces(res)
    assert fig.axes[1].get_ylabel() == "w (pA)"
    drawn = fig.axes[1].get_lines()[0].get_ydata()
    np.testing.assert_allclose(drawn, res.traces["w"].to_decimal(u.pA).reshape(-1), rtol=1e-6)
    assert 10 < np.max(drawn) < 1000
    assert plot.readable_unit([2e-3, 5e-3] * u.amp) == u.mA
    assert plot.readable_unit([0., 0.] * u.mA) == u.mA


def test_pattern_figure(tmp_path):
    from lapicque import patterns
    res = patterns.run("A")  # Gif tonic spiking: V and its dynamic threshold
    fig = plot.pattern(res, passed=True)
    ax_v, ax_i = fig.axes[:2]
    assert ax_v.get_title(loc="left").endswith("\u2713") and ax_i.get_ylabel().startswith("I (")
    assert [line.get_label() for line in ax_v.get_lines()] == ["V", "V_th"]
    path = tmp_path / "A.png"
    plot.save(fig, str(path))
    assert _is_png(path)
