"""The papers' figure: one panel per pattern, ``V`` (and ``V_th``) over the input current."""

from __future__ import annotations

import math
import textwrap
from typing import Mapping, Optional, Union

import numpy as np

from ._classify import classify
from ._run import PatternResult, run_all
from ._tables import _family

__all__ = ["gallery"]

#: the figure's width (inches) and each panel's height: at the report's 110 dpi a page wide, so the fonts below
#: are shown at about their size
PAGE_WIDTH_IN = 12.0
PANEL_HEIGHT_IN = 2.9
#: font sizes (points)
FONT = {"suptitle": 13, "title": 10, "label": 9, "ticks": 8.5, "legend": 9.5}
#: a panel title longer than this (characters) is wrapped onto a second line
TITLE_CHARS = {"gif": 34, "adex": 70}
#: tick steps (no 0, 80, 160 ... ticks)
_STEPS = (1, 2, 2.5, 5, 10)
#: what each panel draws, in the legend's words
_V_TH = dict(color="tab:red", lw=1.0, ls="--")
_SPIKE = dict(linestyle="none", marker="o", color="tab:blue", ms=3.5)


def gallery(kind: str = "adex", path=None, *, dt=None, results: Optional[Mapping[str, PatternResult]] = None,
            precision: Union[None, int, str] = "auto", ncols: Optional[int] = None, dpi: int = 110):
    """Draw every pattern of a family, one panel each: ``V`` (and ``V_th``) over the input current.

    Uses a headless Agg canvas (no pyplot, no global backend change).  Each
    panel's title carries the key, the name and a check mark when
    :func:`classify` confirms the behaviour; one legend under the title names
    the lines (``V``, Gif's dynamic threshold ``V_th`` dashed red, the spike
    dots, the input current).  The figure is about 12 inches wide whatever
    ``ncols``, so its fonts read at their size on a page.

    Parameters
    ----------
    kind : {'adex', 'gif'}
        Which family.
    path : str or path-like, optional
        Where to save the figure (format from the suffix); ``None``: don't save.
    dt : Quantity or float (ms), optional
        Step (default: each pattern's own).
    results : mapping, optional
        Results of :func:`run_all` to draw instead of running again.
    precision : None, 32, 64 or 'auto'
        As in :func:`run_all` (``'auto'``: panel B in float64).
    ncols : int, optional
        Panels per row (default 2 for AdEx, 4 for Gif).
    dpi : int
        Resolution when saving.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pats = list(_family(kind).values())
    if results is None:
        results = run_all(kind, dt, precision=precision)
    ncols = ncols or (2 if kind == "adex" else 4)
    nrows = int(math.ceil(len(pats) / ncols))
    width = PAGE_WIDTH_IN / ncols  # the whole figure is about a page wide, whatever the number of columns
    head, foot = 1.2, 0.5          # inches for the title and legend, and below the last row
    height = PANEL_HEIGHT_IN * nrows + head + foot
    fig = Figure(figsize=(width * ncols, height))
    FigureCanvasAgg(fig)
    outer = fig.add_gridspec(nrows, ncols, left=0.75 / (width * ncols), right=0.985, bottom=foot / height,
                             top=1 - head / height, wspace=0.32, hspace=0.42)
    for i, p in enumerate(pats):
        _draw_panel(fig, outer[i // ncols, i % ncols], p, results[p.key], kind)
    title = ("AdEx firing patterns (Naud et al. 2008) on lapicque.AdExIF" if kind == "adex"
             else "Mihala\u015f & Niebur (2009) behaviours A\u2013T on lapicque.Gif")
    fig.suptitle(title, fontsize=FONT["suptitle"], y=1 - 0.1 / height, va="top")
    _legend(fig, kind, y=1 - 0.45 / height)
    if path is not None:
        from ..plot import save
        save(fig, path, dpi=dpi)
    return fig


def _legend(fig, kind: str, y: float) -> None:
    """One legend for every panel, under the title: V, the dynamic threshold (Gif), the spike dots, I."""
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color="k", lw=1.0, label="V, membrane potential (mV)")]
    if kind == "gif":
        handles.append(Line2D([], [], **_V_TH, label="V_th, dynamic threshold (mV)"))
        handles.append(Line2D([], [], **_SPIKE, label="spike (V reaches V_th)"))
    else:
        handles.append(Line2D([], [], **_SPIKE, label="spike (V reaches the cut-off V_peak)"))
    handles.append(Line2D([], [], color="tab:gray", lw=1.0, label="input current I (lower panel)"))
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, y), ncol=len(handles), frameon=False,
               fontsize=FONT["legend"], handlelength=2.2, columnspacing=1.6)


def _draw_panel(fig, cell, p, r: PatternResult, kind: str) -> None:
    """One pattern: V (and V_th, spikes marked) above the input current, in grid cell ``cell``."""
    from matplotlib.ticker import MaxNLocator
    c = classify(r)
    inner = cell.subgridspec(2, 1, height_ratios=(3, 1), hspace=0.08)
    ax_v = fig.add_subplot(inner[0])
    ax_i = fig.add_subplot(inner[1], sharex=ax_v)
    t = r.t
    ax_v.plot(t, r.V, color="k", lw=0.8)
    if "V_th" in r.traces:
        ax_v.plot(t, r.traces["V_th"], **{**_V_TH, "lw": 0.9})
    if r.spike_times.size:
        idx = np.clip(np.round(r.spike_times / r.dt_ms).astype(int), 0, t.size - 1)
        top = r.traces["V_th"][idx] if "V_th" in r.traces else r.V[idx]
        ax_v.plot(r.spike_times, top, **{**_SPIKE, "ms": 3.0})
    mark = "\u2713" if c.passed else "\u2717"
    title = textwrap.fill(f"{p.key + '  ' if kind == 'gif' else ''}{p.name}  {mark}", TITLE_CHARS.get(kind, 60))
    ax_v.set_title(title, fontsize=FONT["title"], loc="left")
    ax_v.tick_params(labelbottom=False, labelsize=FONT["ticks"])
    ax_v.yaxis.set_major_locator(MaxNLocator(4, steps=_STEPS))
    ax_v.set_ylabel("V (mV)", fontsize=FONT["label"])
    ax_i.step(t[:-1], r.current, where="post", color="tab:gray", lw=0.9)
    ax_i.set_ylabel(f"I ({p.current_unit})", fontsize=FONT["label"])
    ax_i.set_xlabel("t (ms)", fontsize=FONT["label"], labelpad=1)
    ax_i.tick_params(labelsize=FONT["ticks"])
    ax_i.xaxis.set_major_locator(MaxNLocator(5, steps=_STEPS))
    ax_i.yaxis.set_major_locator(MaxNLocator(2, steps=_STEPS))
    lo, hi = float(np.min(r.current)), float(np.max(r.current))
    pad = 0.15 * max(hi - lo, abs(hi), 1e-12)
    ax_i.set_ylim(min(lo, 0.0) - pad, max(hi, 0.0) + pad)
    ax_v.set_xlim(0, p.duration_ms)
