"""The demo report's figures (issue 24): what they draw, asserted on the drawn artists, not on pixels.

No voltage above the model's largest V or the threshold it crossed, tick labels on every f-I panel,
one title size and stated ticks in the guard figure, the network raster on the rate panel's time axis
with neuron 0 at the bottom, and an ISI CV histogram of only the neurons with enough intervals.
"""

import dataclasses

import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque import report

matplotlib = pytest.importorskip("matplotlib")


@dataclasses.dataclass
class KeepingContext(report.Context):
    """A report context that also keeps each figure object (the real one only saves it)."""

    figures: dict = dataclasses.field(default_factory=dict)

    def figure(self, fig, name, caption, data=None, extra_html=""):
        self.figures[name] = fig
        return super().figure(fig, name, caption, data, extra_html)


@pytest.fixture
def ctx(tmp_path):
    return KeepingContext(out=str(tmp_path), quick=True, log=lambda *a: None, dpi=40)


def _drawn_y(ax):
    ys = [np.asarray(line.get_ydata(), dtype=np.float64).reshape(-1) for line in ax.get_lines()]
    ys += [np.asarray(seg)[:, 1] for c in ax.collections for seg in c.get_segments()]
    return np.concatenate(ys)


def _visible_labels(labels):
    return [t.get_text() for t in labels if t.get_visible() and t.get_text()]


def test_conventions_figure_draws_nothing_above_each_models_cut_off(ctx):
    """Before: strokes to +35 mV where V_peak = 0 mV (right) and to -49 mV above V_th = -55 mV (left)."""
    section = report._conventions(ctx)
    fig = ctx.figures["conventions"]
    v_axes = [ax for ax in fig.axes if ax.get_ylabel() == "V (mV)"]
    assert len(v_axes) == 2
    for ax, cut_off in zip(v_axes, (-55.0, 0.0)):  # AdExIF seed defaults; Naud et al. (2008) V_peak
        assert _drawn_y(ax).max() <= cut_off + 1e-4, (ax.get_title(), _drawn_y(ax).max())
        assert any(line.get_label().startswith("spikes") and len(line.get_xdata()) > 3 for line in ax.get_lines())
    assert "red dots" in section.figures[0].caption


def test_guard_figure_titles_ticks_and_largest_V(ctx):
    """Before: -11 mV strokes where the caption says the largest V is -30 mV; titles of 10 and 12 pt;
    symlog ticks printed as -10^2, 10^2."""
    section = report._guard_section(ctx)
    left, right = ctx.figures["guard"].axes[:2]
    assert left.title.get_fontsize() == right.title.get_fontsize()
    assert _drawn_y(right).max() == pytest.approx(-30.0, abs=1e-4)  # ExpIF's V_th: the largest V it stores
    assert "largest V -30 mV" in section.figures[0].caption
    ticks = [(float(y), lab.get_text()) for y, lab in zip(left.get_yticks(), left.get_yticklabels())]
    assert ticks == [(y, text) for y, text in report._GUARD_TICKS]
    assert len(left.yaxis.get_minorticklocs()) == 0


def test_every_fi_panel_has_tick_labels_on_both_axes():
    """Before: sharex/sharey hid the inner panels' tick labels (ALIF, ExpIF, QuaIF, AdQuaIF had none)."""
    names = list(lq.MODELS)
    currents = np.linspace(0., report.FI_MAX_MA, 11)
    rates = np.stack([np.maximum(currents - k, 0.) * 10. for k in range(len(names))])
    rheo = np.array([report._rheobase(currents, r) for r in rates])
    fig = report._fi_grid(names, currents, rates, rheo)
    fig.canvas.draw()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == names
    for ax in panels:
        assert len(_visible_labels(ax.get_xticklabels())) >= 3, ax.get_title()
        assert len(_visible_labels(ax.get_yticklabels())) >= 3, ax.get_title()
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("I (mA)", "rate (Hz)")


def test_settled_isi_cv_leaves_out_onset_only_and_short_trains():
    """CV from the spikes after the transient, only with enough intervals; a Poisson train gives 1."""
    from lapicque._cli.demo_network import CV_MIN_INTERVALS, CV_TRANSIENT_MS, settled_isi_cv
    rng = np.random.default_rng(3)
    poisson = CV_TRANSIENT_MS + np.cumsum(rng.exponential(2.0, 4000))  # 4000 exponential intervals
    trains = [np.arange(60., 200., 10.),                 # regular after the transient: CV 0
              np.array([1., 2., 3., 4.]),                # fires only in the onset: left out (the old false 0)
              np.array([60., 70., 85.]),                 # 2 intervals: too few
              poisson]
    cv, n = settled_isi_cv([t * u.ms for t in trains])
    assert n.tolist() == [13, 0, 2, 3999]
    assert cv[0] == 0.0 and np.isnan(cv[1]) and np.isnan(cv[2])
    assert cv[3] == pytest.approx(1.0, abs=0.05)  # 4000 intervals: the CV's standard error is about 0.016
    assert CV_MIN_INTERVALS >= 3


def test_network_figure_time_axes_rows_and_cv_histogram(ctx):
    """The E/I page (quick: 1000 neurons, 300 ms): the raster's time axis is the rate panel's, neuron 0 at
    the bottom, and the ISI CV histogram counts exactly the neurons with enough intervals after the onset;
    the caption says how many were left out."""
    from lapicque._cli import demo_network as dn
    section = dn.network_section(ctx)
    fig = ctx.figures["network"]
    fig.canvas.draw()
    raster, rates, hist = fig.axes[:3]
    assert raster.get_xlim() == rates.get_xlim() == (0.0, 300.0)
    r_box, p_box = raster.get_position(), rates.get_position()
    assert (r_box.x0, r_box.x1) == pytest.approx((p_box.x0, p_box.x1))
    assert not raster.yaxis_inverted() and raster.get_ylim()[0] < raster.get_ylim()[1]
    labels = {int(y): t.get_text() for y, t in zip(raster.get_yticks(), raster.get_yticklabels())}
    assert labels[0] == "0" and labels[200] == "800"  # row 200 shows the first inhibitory neuron
    data = np.load(f"{ctx.out}/network.npz")
    cv, n_int = data["isi_cv"], data["isi_intervals_after_transient"]
    # the intervals after the transient, counted again from the saved spikes
    t, who = data["spike_times_ms"], data["spike_neurons"]
    late = np.bincount(who[t > dn.CV_TRANSIENT_MS], minlength=cv.size)
    np.testing.assert_array_equal(n_int, np.maximum(late - 1, 0))
    assert np.array_equal(np.isfinite(cv), n_int >= dn.CV_MIN_INTERVALS)
    assert sum(p.get_height() for p in hist.patches) == np.isfinite(cv).sum() > 0
    left_out = int(np.sum(~np.isfinite(cv)))
    cap = section.figures[0].caption
    assert f"{left_out} of 1000 neurons" in cap and f"at least {dn.CV_MIN_INTERVALS} intervals" in cap
