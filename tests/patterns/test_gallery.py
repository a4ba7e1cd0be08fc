"""The pattern galleries (issue 24): readable fonts, a legend for every line style, titles that fit."""

import numpy as np
import pytest

from lapicque import patterns as P

matplotlib = pytest.importorskip("matplotlib")

#: the smallest font (points) a gallery may use; the figure is about a page wide, so this is about its
#: on-screen size (the old gallery used 7 pt on a 17-inch-wide figure shrunk to the page)
MIN_FONT_PT = 8.0


@pytest.fixture(scope="module", params=["gif", "adex"])
def drawn(request):
    kind = request.param
    fig = P.gallery(kind, None, results=P.run_all(kind, precision="auto"), dpi=60)
    fig.canvas.draw()
    return kind, fig


def _texts(fig):
    from matplotlib.text import Text
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _title(ax):
    """The Text artist of an axes' left title."""
    from matplotlib.text import Text
    text = ax.get_title(loc="left")
    return next(t for t in ax.findobj(Text) if t.get_text() == text and t is not ax.yaxis.label)


def test_fonts_are_readable(drawn):
    _, fig = drawn
    sizes = [t.get_fontsize() for t in _texts(fig)]
    assert sizes and min(sizes) >= MIN_FONT_PT, sorted(set(sizes))
    assert fig.get_figwidth() <= 12.5  # not shrunk on the page


def test_legend_names_the_dashed_threshold_and_the_spike_dots(drawn):
    kind, fig = drawn
    assert len(fig.legends) == 1
    legend = fig.legends[0]
    labels = [t.get_text() for t in legend.get_texts()]
    handles = dict(zip(labels, legend.legend_handles))
    assert any(lab.startswith("V, membrane potential") for lab in labels)
    assert any(lab.startswith("spike") for lab in labels)
    dashed = [lab for lab in labels if lab.startswith("V_th")]
    panel_dashed = {(line.get_linestyle(), line.get_color()) for ax in fig.axes for line in ax.get_lines()
                    if line.get_linestyle() == "--"}
    if kind == "gif":  # every panel's red dashed line is the legend's V_th entry
        assert len(dashed) == 1
        h = handles[dashed[0]]
        assert panel_dashed == {(h.get_linestyle(), h.get_color())}
    else:
        assert not dashed and not panel_dashed


def test_titles_fit_their_panel(drawn):
    """No panel title runs into its neighbour (the long Gif names are wrapped)."""
    _, fig = drawn
    r = fig.canvas.get_renderer()
    v_axes = [ax for ax in fig.axes if ax.get_ylabel() == "V (mV)"]
    titles = [_title(ax) for ax in v_axes]
    boxes = [t.get_window_extent(r) for t in titles]
    for i, b in enumerate(boxes):
        assert b.x1 <= fig.bbox.x1
        for j, other in enumerate(v_axes):
            if j != i:
                assert not b.overlaps(other.get_window_extent(r)), titles[i].get_text()
                assert not b.overlaps(boxes[j]), (titles[i].get_text(), titles[j].get_text())
    legend_box = fig.legends[0].get_window_extent(r)
    assert not any(legend_box.overlaps(b) for b in boxes)
    assert np.all([b.height > 0 for b in boxes])
