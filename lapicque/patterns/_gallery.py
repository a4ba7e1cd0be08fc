"""The papers' figure: one panel per pattern, ``V`` (and ``V_th``) over the input current."""

from __future__ import annotations

import math
from typing import Mapping, Optional, Union

import numpy as np

from ._classify import classify
from ._run import PatternResult, run_all
from ._tables import _family

__all__ = ["gallery"]


def gallery(kind: str = "adex", path=None, *, dt=None, results: Optional[Mapping[str, PatternResult]] = None,
            precision: Union[None, int, str] = "auto", ncols: Optional[int] = None, dpi: int = 110):
    """Draw every pattern of a family, one panel each: ``V`` (and ``V_th``) over the input current.

    Uses a headless Agg canvas (no pyplot, no global backend change).  Each
    panel's title carries the key, the name and a check mark when
    :func:`classify` confirms the behaviour.

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
    height = 2.6 * nrows + 0.6
    fig = Figure(figsize=(4.2 * ncols, height))
    FigureCanvasAgg(fig)
    outer = fig.add_gridspec(nrows, ncols, left=0.06 if ncols > 2 else 0.09, right=0.97, bottom=0.45 / height,
                             top=1 - 0.75 / height, wspace=0.25, hspace=0.5)
    for i, p in enumerate(pats):
        _draw_panel(fig, outer[i // ncols, i % ncols], p, results[p.key], kind)
    title = ("AdEx firing patterns (Naud et al. 2008) on lapicque.AdExIF" if kind == "adex"
             else "Mihala\u015f & Niebur (2009) behaviours A\u2013T on lapicque.Gif")
    fig.suptitle(title, fontsize=11, y=1 - 0.15 / height, va="top")
    if path is not None:
        from ..plot import save
        save(fig, path, dpi=dpi)
    return fig


def _draw_panel(fig, cell, p, r: PatternResult, kind: str) -> None:
    """One pattern: V (and V_th, spikes marked) above the input current, in grid cell ``cell``."""
    c = classify(r)
    inner = cell.subgridspec(2, 1, height_ratios=(3, 1), hspace=0.08)
    ax_v = fig.add_subplot(inner[0])
    ax_i = fig.add_subplot(inner[1], sharex=ax_v)
    t = r.t
    ax_v.plot(t, r.V, color="k", lw=0.8)
    if "V_th" in r.traces:
        ax_v.plot(t, r.traces["V_th"], color="tab:red", lw=0.8, ls="--")
    if r.spike_times.size:
        idx = np.clip(np.round(r.spike_times / r.dt_ms).astype(int), 0, t.size - 1)
        top = r.traces["V_th"][idx] if "V_th" in r.traces else r.V[idx]
        ax_v.plot(r.spike_times, top, ".", color="tab:blue", ms=3)
    mark = "\u2713" if c.passed else "\u2717"
    ax_v.set_title(f"{p.key if kind == 'gif' else ''}{'  ' if kind == 'gif' else ''}{p.name}  {mark}",
                   fontsize=9, loc="left")
    ax_v.tick_params(labelbottom=False, labelsize=7)
    ax_v.set_ylabel("V (mV)", fontsize=7)
    ax_i.step(t[:-1], r.current, where="post", color="tab:gray", lw=0.8)
    ax_i.set_ylabel(f"I ({p.current_unit})", fontsize=7)
    ax_i.set_xlabel("t (ms)", fontsize=7)
    ax_i.tick_params(labelsize=7)
    lo, hi = float(np.min(r.current)), float(np.max(r.current))
    pad = 0.15 * max(hi - lo, abs(hi), 1e-12)
    ax_i.set_ylim(min(lo, 0.0) - pad, max(hi, 0.0) + pad)
    ax_v.set_xlim(0, p.duration_ms)
