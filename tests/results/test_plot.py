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
    assert labels == ["V", "threshold V_th", "spikes"]
    # one spike stroke per spike of neuron 1
    strokes = [c for c in axes[0].collections if c.get_label() == "spikes"][0]
    assert len(strokes.get_segments()) == adex.spike_count[1] > 0
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
