"""Plots of simulation results: rasters, voltage and adaptation traces, f-I curves.

Needs :mod:`matplotlib` (``pip install lapicque[plot]``), imported only when a
function here is called.  Figures are created with
:class:`matplotlib.figure.Figure` and an Agg canvas, never through
``pyplot``: they work on headless machines without touching the global
backend and are not kept alive by pyplot's figure manager.  In a notebook a
returned figure displays as usual; to draw into your own ``pyplot`` axes pass
``ax=``.

Axis labels carry units (time in ms, voltages in mV, currents in the unit of
the recorded quantity, rates in Hz).

Examples
--------
>>> import saiunit as u, lapicque
>>> from lapicque import plot
>>> res = lapicque.simulate(lapicque.AdExIF(1), 30 * u.mA, 100 * u.ms, record=("V", "w"))
>>> fig = plot.traces(res, title="AdExIF")
>>> [ax.get_ylabel() for ax in fig.axes]    # currents in the unit that reads best
['V (mV)', 'w (mA)']
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import saiunit as u

__all__ = ["figure", "new_figure", "raster", "voltage", "traces", "fi_curve", "pattern", "save", "readable_unit"]

#: colours used for multiple curves (colour-blind friendly, matplotlib's tab10 order)
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf"]


def _mpl():
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - matplotlib is an optional dependency
        raise ImportError("lapicque.plot needs matplotlib: pip install 'lapicque[plot]'") from e
    return matplotlib, Figure, FigureCanvasAgg


def new_figure(figsize) -> "matplotlib.figure.Figure":  # noqa: F821
    """A matplotlib Figure of ``figsize`` inches drawn without pyplot (works without a display)."""
    _, Figure, FigureCanvasAgg = _mpl()
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _axes(ax, figsize=(6.0, 3.5)):
    if ax is not None:
        return ax
    return new_figure(figsize).add_subplot(1, 1, 1)


def _unit_label(name: str, value) -> str:
    if isinstance(value, u.Quantity) and not value.is_unitless:
        return f"{name} ({value.unit})"
    return f"{name} (dimensionless)"


def _mantissa(value) -> np.ndarray:
    return np.asarray(value.mantissa if isinstance(value, u.Quantity) else value)


#: the units a current is shown in, smallest first (the one that puts its largest value in [1, 1000))
_CURRENT_LADDER = ("pA", "nA", "uA", "mA", "amp")


def readable_unit(value):
    """A unit that shows ``value`` with a mantissa between 1 and 1000 (currents only; others keep theirs).

    Examples
    --------
    >>> import saiunit as u
    >>> readable_unit([1e-7, 3e-7] * u.mA)
    Unit("pA")
    >>> readable_unit(30. * u.mV)
    Unit("mV")
    """
    if not isinstance(value, u.Quantity) or not u.have_same_dim(value, u.mA):
        return u.get_unit(value)
    peak = float(np.nanmax(np.abs(np.asarray(value.to_decimal(u.amp), dtype=np.float64)), initial=0.0))
    ladder = [getattr(u, name) for name in _CURRENT_LADDER]
    if peak == 0.0:
        return value.unit
    for unit in ladder:
        if peak < 999.5 * float(np.asarray((1.0 * unit).to_decimal(u.amp))):
            return unit
    return ladder[-1]


def _legend_outside(ax):
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small", frameon=False)


def _column(value, n_samples: int, neuron: int) -> np.ndarray:
    """One neuron's samples (mantissa) of a recorded trace."""
    return _mantissa(value).reshape(n_samples, -1)[:, neuron]


def _times_ms(value) -> np.ndarray:
    return np.asarray(value.to_decimal(u.ms), dtype=np.float64)


def figure(n_panels: int = 1, ncols: Optional[int] = None, *, panel_size=(4.2, 3.0), title: Optional[str] = None,
           sharex: bool = False, sharey: bool = False, height_ratios: Optional[Sequence[float]] = None):
    """A figure with ``n_panels`` axes on a grid (unused grid cells hidden).

    Parameters
    ----------
    n_panels : int, default 1
        Number of axes.
    ncols : int, optional
        Columns of the grid (default: up to 4).
    panel_size : (float, float), default (4.2, 3.0)
        Size of one panel in inches.
    title : str, optional
        Figure title.
    sharex, sharey : bool
        Share axes between panels.
    height_ratios : sequence of float, optional
        Relative heights of the grid rows (the figure height is scaled by
        their sum).

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : list of matplotlib.axes.Axes
        The ``n_panels`` axes, row by row.

    Examples
    --------
    >>> from lapicque import plot
    >>> fig, axes = plot.figure(5, ncols=3, title="five panels")
    >>> len(axes), sum(ax.get_visible() for ax in fig.axes)
    (5, 5)
    """
    if n_panels < 1:
        raise ValueError(f"figure: n_panels must be >= 1; got {n_panels}.")
    ncols = ncols or min(n_panels, 4)
    nrows = -(-n_panels // ncols)
    rows_height = panel_size[1] * (nrows if height_ratios is None else float(np.sum(height_ratios)))
    fig = new_figure((panel_size[0] * ncols, rows_height + (0.4 if title else 0)))
    grid = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex, sharey=sharey,
                        gridspec_kw=None if height_ratios is None else {"height_ratios": list(height_ratios)})
    axes = list(grid.reshape(-1))
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize="large", fontweight="bold")
    return fig, axes[:n_panels]


def save(fig, path: str, dpi: int = 120) -> str:
    """Write ``fig`` to ``path`` (format from the extension; folders are created; an existing file is replaced
    only once the new one is complete); return the path."""
    from ._core.atomic import atomic_path
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    return path


# --------------------------------------------------------------------------
# raster
# --------------------------------------------------------------------------
def _neuron_axis(ax, n_rows: int, neurons: Optional[np.ndarray]) -> None:
    """Row 0 at the bottom (as Brian2 and NEST draw it), ticks on whole rows, labelled with the neuron shown."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.set_ylim(-0.5, n_rows - 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(nbins="auto", steps=(1, 2, 2.5, 5, 10), integer=True, min_n_ticks=1))
    if neurons is not None:
        def label(y, _pos):
            row = int(round(y))
            return str(int(neurons[row])) if abs(y - row) < 1e-9 and 0 <= row < neurons.size else ""
        ax.yaxis.set_major_formatter(FuncFormatter(label))


def raster(spikes, ax=None, *, dt=None, t0=0. * u.ms, neurons: Optional[Sequence[int]] = None,
           color="k", markersize: Optional[float] = None, title: Optional[str] = None):
    """Spike raster: one row per neuron, one tick per spike.

    Neuron 0 (or the first of ``neurons``) is the bottom row, as in Brian2
    and NEST; the y ticks sit on whole rows and name the neuron each shows.

    Parameters
    ----------
    spikes : SimulationResult or array_like of bool
        A result (``spikes='dense'``) or a raster ``(n_steps, ...)``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (default: a new figure).
    dt, t0 : Quantity[time], optional
        Time step and start of a raw raster.
    neurons : sequence of int, optional
        Flat indices of the neurons to show, bottom row first (default all);
        the row ticks are labelled with these indices.
    color : color, default 'k'
    markersize : float, optional
        Tick size (default: scaled to the number of rows).
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np, saiunit as u
    >>> from lapicque import plot
    >>> r = np.zeros((100, 3), bool); r[10::20, 1] = True
    >>> ax = plot.raster(r, dt=0.1 * u.ms)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('time (ms)', 'neuron')
    >>> tuple(float(y) for y in ax.get_ylim())     # rising: neuron 0 is the bottom row
    (-0.5, 2.5)
    """
    from ._results.events import as_events

    try:
        steps, neur, n_steps, shape, dt_ms, t0_ms = as_events(spikes, dt, t0)
    except TypeError as e:  # a network's result, or a raw raster without its dt
        raise TypeError(f"plot.raster: {e}") from None
    M = int(np.prod(shape, dtype=np.int64))
    t = t0_ms + (steps + 1.0) * dt_ms
    if neurons is not None:
        neurons = np.asarray(neurons, dtype=np.int64).reshape(-1)
        row_of = np.full(M, -1, dtype=np.int64)
        row_of[neurons] = np.arange(neurons.size)
        rows = row_of[neur]
        keep = rows >= 0
        t, rows = t[keep], rows[keep]
        n_rows = neurons.size
    else:
        rows, n_rows = neur, M
    ax = _axes(ax)
    if markersize is None:
        markersize = float(np.clip(300.0 / max(n_rows, 1), 0.8, 6.0))
    ax.plot(t, rows, linestyle="none", marker="|", markersize=markersize, color=color,
            markeredgewidth=max(0.4, min(1.0, markersize / 4)), rasterized=t.size > 5000)
    ax.set_xlim(t0_ms, t0_ms + n_steps * dt_ms)
    _neuron_axis(ax, n_rows, neurons)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------
# traces
# --------------------------------------------------------------------------
def _threshold_for(result, neuron: int) -> Tuple[Optional[np.ndarray], str]:
    """(threshold in mV: per trace sample or a scalar, its label) for the voltage panel."""
    model = result.model
    n_samples = len(result.trace_times)
    if "V_th" in result.traces:  # dynamic threshold (Gif) that was recorded
        return _mantissa(result.traces["V_th"]).reshape(n_samples, -1)[:, neuron], "threshold V_th"
    V_th = getattr(model, "V_th", None)
    if isinstance(V_th, u.Quantity) and u.have_same_dim(V_th, u.mV):
        V_th = V_th.to_decimal(u.mV)
    elif isinstance(V_th, u.Quantity) or not np.issubdtype(np.asarray(V_th).dtype, np.number):
        return None, ""  # (a plain number is the threshold of a dimensionless V: FitzHughNagumo, HindmarshRose)
    vals = np.broadcast_to(np.asarray(V_th), tuple(model.varshape)).reshape(-1)
    thr = np.asarray(vals[neuron % vals.size])
    beta = getattr(model, "beta", None)
    if isinstance(beta, u.Quantity) and u.have_same_dim(beta, u.mV) and "a" in result.traces:
        # adaptive threshold (ALIF): V_th + beta * a
        b = np.broadcast_to(np.asarray(beta.to_decimal(u.mV)), tuple(model.varshape)).reshape(-1)
        a = _mantissa(result.traces["a"]).reshape(n_samples, -1)[:, neuron]
        return thr + b[neuron % b.size] * a, "threshold V_th + beta a"
    return thr, "threshold V_th"


def _spike_marks(t: np.ndarray, v: np.ndarray, thr, st: np.ndarray) -> np.ndarray:
    """Where to mark each spike (mV): the threshold at the spike's sample, or ``V`` there without a threshold.

    A spike at time ``st`` is the sample where ``V`` first reached the
    threshold (the reset shows at the next sample); an adaptive threshold
    jumps after it, so it is read at that sample (the last one at or before
    ``st`` when the trace is recorded more sparsely).
    """
    half = 0.5 * float(t[1] - t[0]) if t.size > 1 else 0.0
    at = np.clip(np.searchsorted(t, st + 1e-3 * half, side="right") - 1, 0, t.size - 1)
    if thr is None:
        return v[at]
    if np.ndim(thr) == 0:
        return np.full(st.size, float(thr))
    return np.asarray(thr)[at]


def _peak_mV(spike_peak) -> float:
    if not (isinstance(spike_peak, u.Quantity) and u.have_same_dim(spike_peak, u.mV)):
        raise TypeError(f"voltage: spike_peak must be a voltage (e.g. 20 * u.mV); got {spike_peak!r}.")
    return float(np.asarray(spike_peak.to_decimal(u.mV)).reshape(-1)[0])


def voltage(result, neuron: int = 0, ax=None, *, var: str = "V", mark_spikes: bool = True,
            threshold: bool = True, spike_peak=None, color=None, label: Optional[str] = None,
            title: Optional[str] = None, legend: bool = True):
    """Membrane potential of one neuron over time, with spikes marked.

    An integrate-and-fire model has no action potential: the stored ``V``
    stops at the first sample at or above the threshold (the cut-off of the
    exponential and quadratic models) and is reset at the next step.  Each
    spike is therefore marked by a dot on the threshold it crossed, at the
    spike's time, and the figure shows no voltage the model never had.  To
    draw the classic stroke instead, state the peak it rises to with
    ``spike_peak`` (e.g. an action potential's +20 mV): the strokes run from
    the threshold to that value and the legend names it.  The threshold
    (fixed, or the dynamic ``V_th`` of Gif / ``V_th + beta a`` of ALIF) is
    drawn dashed.

    Parameters
    ----------
    result : SimulationResult
        A run that recorded ``var`` (``record=('V',)``).
    neuron : int, default 0
        Flat index of the neuron.
    ax : matplotlib.axes.Axes, optional
    var : str, default 'V'
        The recorded voltage variable.
    mark_spikes, threshold : bool, default True
        Mark the spikes (needs ``spikes='dense'``) / draw the threshold line.
    spike_peak : Quantity[voltage], optional
        Draw each spike as a stroke from the threshold up to this stated
        value instead of a dot on the threshold.
    color, label, title : optional
    legend : bool, default True

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> from lapicque import plot
    >>> res = lapicque.simulate(lapicque.LIF(1), 2 * u.mA, 30 * u.ms, record=("V",))
    >>> ax = plot.voltage(res)
    >>> ax.get_ylabel(), [line.get_label() for line in ax.get_lines()]
    ('V (mV)', ['V', 'threshold V_th', 'spikes (at threshold)'])
    >>> ax = plot.voltage(res, spike_peak=20 * u.mV)
    >>> [c.get_label() for c in ax.collections]
    ['spikes (drawn to 20 mV)']
    """
    if var not in result.traces:
        raise ValueError(f"voltage: the result has no trace {var!r}; run simulate(..., record=({var!r},)). "
                         f"Recorded: {sorted(result.traces) or 'none'}.")
    peak = None if spike_peak is None else _peak_mV(spike_peak)
    ax = _axes(ax)
    color = color or COLORS[0]
    trace = result.traces[var]
    n_samples = len(result.trace_times)
    v = _mantissa(trace).reshape(n_samples, -1)
    if not 0 <= neuron < v.shape[1]:
        raise IndexError(f"voltage: neuron {neuron} out of range (0..{v.shape[1] - 1}).")
    v = np.asarray(v[:, neuron], dtype=np.float64)
    t = _times_ms(result.trace_times)
    ax.plot(t, v, color=color, lw=1.2, label=label or var)
    thr, thr_label = _threshold_for(result, neuron) if (threshold and var == "V") else (None, "")
    if thr is not None:
        if np.ndim(thr) == 0:
            ax.axhline(float(thr), color="0.45", lw=0.9, ls="--", label=thr_label)
        else:
            ax.plot(t, thr, color="0.45", lw=0.9, ls="--", label=thr_label)
    st = _times_ms(result.spike_times[neuron]) if mark_spikes and result.spike_mode == "dense" else np.zeros(0)
    if st.size:
        base = _spike_marks(t, v, thr, st)
        if peak is None:
            ax.plot(st, base, linestyle="none", marker="o", markersize=3.5, color=COLORS[3], zorder=3,
                    label="spikes (at threshold)")
        else:
            ax.vlines(st, base, np.maximum(base, peak), color=color, lw=1.0, label=f"spikes (drawn to {peak:g} mV)")
    ax.set_xlim(float(result.t0.to_decimal(u.ms)), float(result.t_end.to_decimal(u.ms)))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(_unit_label(var, trace))
    if title:
        ax.set_title(title)
    if legend:
        _legend_outside(ax)
    return ax


def traces(result, neuron: int = 0, *, names: Optional[Sequence[str]] = None, title: Optional[str] = None,
           fig=None, panel_size=(7.0, 2.4)):
    """Voltage (with spikes) and the other recorded variables of one neuron, one panel each.

    Variables sharing a unit (e.g. Gif's ``I1`` and ``I2``) share a panel;
    a recorded dynamic threshold ``V_th`` is drawn in the voltage panel.

    Parameters
    ----------
    result : SimulationResult
        A run with recorded traces (``record=('V', 'w')`` etc.).
    neuron : int, default 0
        Flat index of the neuron.
    names : sequence of str, optional
        Variables to show (default: every recorded trace).
    title : str, optional
    fig : matplotlib.figure.Figure, optional
        Draw into this (empty) figure instead of a new one.
    panel_size : (float, float)

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> from lapicque import plot
    >>> res = lapicque.simulate(lapicque.Gif(1), 2 * u.mA, 50 * u.ms, record=("V", "V_th", "I1", "I2"))
    >>> fig = plot.traces(res)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['V (mV)', 'current (mA)']
    """
    names = list(result.traces) if names is None else list(names)
    missing = [n for n in names if n not in result.traces]
    if missing:
        raise ValueError(f"traces: not recorded: {missing}; recorded: {sorted(result.traces) or 'none'}.")
    others = [n for n in names if n not in ("V", "V_th") and np.asarray(_mantissa(result.traces[n])).dtype != bool]
    groups: Dict[str, List[str]] = {}
    for n in others:
        key = str(result.traces[n].unit) if isinstance(result.traces[n], u.Quantity) else f"1:{n}"
        groups.setdefault(key, []).append(n)
    n_panels = (1 if "V" in names else 0) + len(groups)
    if n_panels == 0:
        raise ValueError("traces: nothing to plot; record 'V' or another variable.")
    if fig is None:
        fig = new_figure((panel_size[0], panel_size[1] * n_panels + (0.3 if title else 0)))
    axes = fig.subplots(n_panels, 1, sharex=True, squeeze=False)[:, 0]
    i = 0
    if "V" in names:
        voltage(result, neuron, axes[0], legend=True)
        i = 1
    t = _times_ms(result.trace_times)
    n_samples = len(t)
    for key, group in groups.items():
        ax = axes[i]
        cols = {n: _column(result.traces[n], n_samples, neuron) for n in group}
        q = result.traces[group[0]]
        unit = readable_unit(u.Quantity(np.concatenate([c for c in cols.values()]), unit=q.unit)) \
            if isinstance(q, u.Quantity) else None
        for j, n in enumerate(group):
            vals = cols[n] if unit is None else np.asarray(u.Quantity(cols[n], unit=q.unit).to_decimal(unit))
            ax.plot(t, vals, color=COLORS[(j + 1) % len(COLORS)], lw=1.2, label=n)
        shown = q if unit is None else u.Quantity(1.0, unit=unit)
        if len(group) == 1:
            ax.set_ylabel(_unit_label(group[0], shown))
        else:
            dim_name = "current" if isinstance(q, u.Quantity) and u.have_same_dim(q, u.mA) else "value"
            ax.set_ylabel(_unit_label(dim_name, shown))
            _legend_outside(ax)
        ax.set_xlabel("time (ms)")
        i += 1
    for ax in axes[:-1]:
        ax.set_xlabel("")
    if title:
        axes[0].set_title(title)
    return fig


# --------------------------------------------------------------------------
# f-I curves
# --------------------------------------------------------------------------
def _input_axis(inputs, unit=None):
    """(values, axis label) of f-I inputs: a current, another quantity, or plain numbers."""
    if isinstance(inputs, u.Quantity) and not inputs.is_unitless:
        unit = unit or inputs.unit
        kind = "input current" if u.have_same_dim(inputs, u.mA) else "input"
        return np.asarray(inputs.to_decimal(unit)).reshape(-1), f"{kind} ({unit})"
    values = u.get_mantissa(inputs) if isinstance(inputs, u.Quantity) else inputs
    try:
        return np.asarray(values, dtype=float).reshape(-1), "input (dimensionless)"
    except (TypeError, ValueError):
        raise TypeError(f"fi_curve: the inputs must be currents (e.g. [1., 2.] * u.mA), another quantity or "
                        f"plain numbers; got {inputs!r}.") from None


def fi_curve(currents, rates, ax=None, *, label: Optional[str] = None, title: Optional[str] = None,
             color=None, marker: Optional[str] = "o", current_unit=None):
    """Firing rate against input current (or the model's own input: mV/ms for Izhikevich, plain numbers).

    Parameters
    ----------
    currents : Quantity or array_like
        Inputs: currents, another quantity (the model's ``input_unit``), or plain numbers for a
        dimensionless input.
    rates : Quantity[frequency]
        Firing rates (e.g. from :func:`lapicque.analysis.fi_curve`).
    ax : matplotlib.axes.Axes, optional
    label, title, color : optional
    marker : str or None, default 'o'
    current_unit : saiunit.Unit, optional
        Unit of the input axis (default: the unit of ``currents``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import saiunit as u
    >>> from lapicque import plot
    >>> ax = plot.fi_curve([0., 1., 2.] * u.mA, [0., 10., 30.] * u.Hz, label="LIF")
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('input current (mA)', 'firing rate (Hz)')
    >>> plot.fi_curve([0.25, 0.5], [2., 25.] * u.Hz).get_xlabel()     # FitzHughNagumo: a plain input
    'input (dimensionless)'
    """
    if not isinstance(rates, u.Quantity) or not u.have_same_dim(rates, u.Hz):
        raise TypeError("fi_curve: rates must be a frequency quantity (e.g. from analysis.fi_curve).")
    x, xlabel = _input_axis(currents, current_unit)
    y = np.asarray(rates.to_decimal(u.Hz)).reshape(-1)
    ax = _axes(ax, figsize=(5.0, 3.5))
    ax.plot(x, y, marker=marker, markersize=3, lw=1.4, color=color or COLORS[0], label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("firing rate (Hz)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title)
    if label:
        ax.legend(loc="upper left", fontsize="small")
    return ax


# --------------------------------------------------------------------------
# published patterns
# --------------------------------------------------------------------------
def pattern(result, *, passed: Optional[bool] = None, panel_size=(7.5, 2.2)):
    """One published pattern (a :class:`lapicque.patterns.PatternResult`): V (and V_th) over its input.

    Parameters
    ----------
    result : PatternResult
        From :func:`lapicque.patterns.run`.
    passed : bool, optional
        Add a check mark (True) or a cross (False) to the title.
    panel_size : (float, float)
        Size of the voltage panel; the current panel is half as high.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from lapicque import patterns, plot
    >>> fig = plot.pattern(patterns.run("tonic"))
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['V (mV)', 'I (pA)']
    """
    p = result.pattern
    fig = new_figure((panel_size[0], panel_size[1] * 1.5 + 0.4))
    ax_v, ax_i = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (2, 1)})
    t = np.asarray(result.t)
    ax_v.plot(t, result.V, color="k", lw=0.9, label="V")
    if "V_th" in result.traces:
        ax_v.plot(t, result.traces["V_th"], color=COLORS[1], lw=0.9, ls="--", label="V_th")
        _legend_outside(ax_v)
    mark = "" if passed is None else ("  \u2713" if passed else "  \u2717")
    ax_v.set_title(f"{p.key}: {p.name} ({p.model}){mark}", loc="left", fontsize=10)
    ax_v.set_ylabel("V (mV)")
    ax_i.step(t[:-1], result.current, where="post", color="0.4", lw=0.9)
    ax_i.set_ylabel(f"I ({p.current_unit})")
    ax_i.set_xlabel("time (ms)")
    ax_i.set_xlim(0, p.duration_ms)
    for ax in (ax_v, ax_i):
        ax.grid(True, alpha=0.3)
    return fig
