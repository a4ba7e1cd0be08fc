"""Classifying a spike train: groups, bursts, features, and each pattern's criteria as data.

A pattern's criteria are a row of :class:`Check` objects, each a kind of
:data:`CHECK_KINDS` (spikes in a window, silence in a window, latency, ISI
statistics, bursts, ...) with its parameters.  Windows are given in segments of
the pattern's protocol (:class:`Window`) or as the end of the run
(:class:`Tail`), so their times come from the protocol in :mod:`._tables`.
:data:`GIF_CHECKS` holds one row per Gif panel; the AdEx patterns share one
rule set, :func:`adex_label`.
"""

from __future__ import annotations

import dataclasses
import math
from types import MappingProxyType
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple

import numpy as np
import saiunit as u

from ._run import PatternResult
from ._tables import GIF_TAU_MS, GIF_V_REST_MV, Pattern

__all__ = ["Classification", "classify", "classify_all", "summary", "spike_features", "split_groups",
           "adex_label", "BURST_RATIO", "REGULAR_BURST_CV", "Window", "Tail", "Check", "CHECK_KINDS",
           "GIF_CHECKS", "checks"]

#: an ISI this many times longer than a neighbouring ISI separates two spike groups,
#: and a group is a burst when the silence after it is this many times its longest ISI
BURST_RATIO = 3.0
#: bursts recur regularly when the intervals between their onsets vary by less than this CV
#: (observed <= 0.013 for the regular patterns, >= 0.15 for AdEx irregular spiking)
REGULAR_BURST_CV = 0.05


def split_groups(spike_times, ratio: float = BURST_RATIO) -> List[np.ndarray]:
    """Split a spike train into groups at ISIs ``> ratio`` times a neighbouring ISI.

    An interval much longer than the one before it ends a group (the end of a
    burst); one much longer than the one after it starts a new group (the start
    of a burst).  Gradually lengthening intervals (adaptation) never split.

    >>> [g.tolist() for g in split_groups([10., 12., 14., 60., 62., 64., 110.])]
    [[10.0, 12.0, 14.0], [60.0, 62.0, 64.0], [110.0]]
    """
    t = np.asarray(spike_times, dtype=float)
    if t.size == 0:
        return []
    isi = np.diff(t)
    groups, start = [], 0
    for i, x in enumerate(isi):
        nb = [isi[j] for j in (i - 1, i + 1) if 0 <= j < isi.size]
        if nb and x > ratio * min(nb):
            groups.append(t[start:i + 1])
            start = i + 1
    groups.append(t[start:])
    return groups


def _bursts(groups: List[np.ndarray], t_end: float, tau_ms: Optional[float] = None,
            ratio: float = BURST_RATIO) -> List[np.ndarray]:
    """Groups of >= 2 spikes followed by a silence > ``ratio`` x their longest ISI
    and (with ``tau_ms``) a mean ISI shorter than the membrane time constant."""
    out = []
    for k, g in enumerate(groups):
        if g.size < 2:
            continue
        isi = np.diff(g)
        after = (groups[k + 1][0] - g[-1]) if k + 1 < len(groups) else (t_end - g[-1])
        if after > ratio * np.max(isi) and (tau_ms is None or np.mean(isi) < tau_ms):
            out.append(g)
    return out


def _cv(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.std(x) / np.mean(x)) if x.size >= 2 and np.mean(x) > 0 else 0.0


def spike_features(spike_times, t_end: float, t_start: float = 0.0, tau_ms: Optional[float] = None
                   ) -> Dict[str, Any]:
    """Features of a spike train under a step that lasts from ``t_start`` to ``t_end`` (ms).

    Returns a dict: ``n``, ``latency`` (first spike - t_start), ``isi_first``,
    ``isi_last`` (median of the last three ISIs), ``isi_ratio`` (last / first),
    ``cv_steady`` (CV of the ISIs in the second half of the step, or of the last
    three), ``adaptation_index`` (Naud et al. 2008: mean of
    ``(ISI_{i+1} - ISI_i) / (ISI_{i+1} + ISI_i)``), ``groups`` / ``bursts`` (sizes,
    see :func:`split_groups`), ``n_bursts``, ``first_group_is_burst``,
    ``bursts_only`` (every group but possibly the last is a burst),
    ``burst_period`` (median interval between burst onsets) and
    ``burst_period_cv`` (from the second period on when there are >= 3),
    ``last_spike``.  Times in ms; NaN where undefined.

    A *burst* is a group of >= 2 spikes that is followed by a silence longer than
    :data:`BURST_RATIO` times its longest ISI and, when the membrane time
    constant ``tau_ms`` is given, whose mean ISI is shorter than ``tau_ms`` (so
    a few slow spikes before the cell falls silent are not a burst).

    >>> f = spike_features([5., 8., 12., 70., 134., 198.], t_end=250., tau_ms=10.)
    >>> f["groups"], f["bursts"], f["latency"]
    ([3, 3], [3], 5.0)
    """
    t = np.asarray(spike_times, dtype=float)
    t = t[(t >= t_start) & (t <= t_end)]
    nan = float("nan")
    f: Dict[str, Any] = dict(tau_ms=nan if tau_ms is None else float(tau_ms), n=int(t.size), latency=nan,
                             last_spike=nan, isi_first=nan, isi_last=nan, isi_ratio=nan, cv_steady=nan,
                             adaptation_index=nan, groups=[], bursts=[], n_bursts=0, first_group_is_burst=False,
                             bursts_only=False, burst_period=nan, burst_period_cv=nan)
    if t.size == 0:
        return f
    f["latency"] = float(t[0] - t_start)
    f["last_spike"] = float(t[-1])
    groups = split_groups(t)
    bursts = _bursts(groups, t_end, tau_ms)
    f["groups"] = [int(g.size) for g in groups]
    f["bursts"] = [int(b.size) for b in bursts]
    f["n_bursts"] = len(bursts)
    f["first_group_is_burst"] = bool(bursts) and bool(bursts[0][0] == groups[0][0])
    f["bursts_only"] = len(bursts) >= 1 and len(bursts) >= len(groups) - 1 and f["first_group_is_burst"]
    if len(bursts) >= 2:
        onsets = np.array([b[0] for b in bursts])
        per = np.diff(onsets)
        f["burst_period"] = float(np.median(per))
        f["burst_period_cv"] = _cv(per[1:] if per.size >= 3 else per)
    isi = np.diff(t)
    if isi.size == 0:
        return f
    f["isi_first"] = float(isi[0])
    f["isi_last"] = float(np.median(isi[-3:]))
    f["isi_ratio"] = f["isi_last"] / f["isi_first"]
    mid = t_start + 0.5 * (t_end - t_start)
    steady = isi[t[:-1] >= mid]
    if steady.size < 3:
        steady = isi[-3:]
    f["cv_steady"] = _cv(steady)
    if isi.size >= 2:
        f["adaptation_index"] = float(np.mean((isi[1:] - isi[:-1]) / (isi[1:] + isi[:-1])))
    return f


@dataclasses.dataclass
class Classification:
    """What :func:`classify` found.

    Attributes
    ----------
    key, expected : str
        The pattern's key and name.
    label : str or None
        AdEx: the firing pattern the decision rules assign (one of the eight
        names, ``'silent'``, ``'accelerating'``, ``'delayed tonic spiking'``);
        Gif: the behaviour's name where its criterion holds, else ``None``.
    passed : bool
        Whether the run shows the behaviour the pattern is named after.
    criterion : str
        The rule that was applied.
    features : dict
        The measurements it was decided on.
    """

    key: str
    expected: str
    label: Optional[str]
    passed: bool
    criterion: str
    features: Dict[str, Any]

    def as_dict(self) -> Dict[str, Any]:
        """Plain, JSON-friendly dict (NaN -> None)."""
        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, (np.floating, np.integer)):
                return clean(v.item())
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v
        return dict(key=self.key, expected=self.expected, label=self.label, passed=bool(self.passed),
                    criterion=self.criterion, features={k: clean(v) for k, v in self.features.items()})


def adex_label(f: Mapping[str, Any], t_end: float) -> str:
    """The firing pattern of a step response, from :func:`spike_features`.

    Decision rules (in this order): no spike -> ``'silent'``; no spike in the
    second half of the step -> ``'transient spiking'``; >= 3 bursts and every
    spike group but the last a burst: bursts of equal size (+-1, first burst
    excluded) at a regular period (CV <= 0.05) ->
    ``'regular bursting'``, ``'delayed regular bursting'`` when the first spike
    comes later than 0.4 burst periods; irregular bursts -> ``'irregular
    spiking'``; a single spike late in the step -> ``'single late spike'``; one
    burst that is the first spike group, no burst after it and regular
    spiking (steady ISI CV <= 0.2) -> ``'initial burst'``; steady ISI CV > 0.2 -> ``'irregular spiking'``;
    last/first ISI > 1.5 -> ``'adaptation'``; < 0.8 -> ``'accelerating'``, else
    ``'tonic spiking'``, both prefixed ``'delayed '`` when the first spike comes
    later than two steady ISIs.
    """
    if f["n"] == 0:
        return "silent"
    if f["last_spike"] < 0.5 * t_end:
        return "transient spiking"
    if f["n"] == 1:
        return "single late spike"
    groups, bursts = f["groups"], f["bursts"]
    if f["n_bursts"] >= 3 and f["bursts_only"]:
        sizes = bursts[1:]
        regular = (max(sizes) - min(sizes) <= 1) and f["burst_period_cv"] <= REGULAR_BURST_CV
        if regular:
            delayed = f["latency"] > 0.4 * f["burst_period"]
            return "delayed regular bursting" if delayed else "regular bursting"
        return "irregular spiking"
    if f["n_bursts"] == 1 and f["first_group_is_burst"] and len(groups) >= 2 and f["cv_steady"] <= 0.2:
        return "initial burst"
    if f["cv_steady"] > 0.2:
        return "irregular spiking"
    delayed = f["latency"] > 2.0 * f["isi_last"]
    if f["isi_ratio"] > 1.5:
        return "adaptation"
    if f["isi_ratio"] < 0.8:
        return "delayed accelerating" if delayed else "accelerating"
    return "delayed tonic spiking" if delayed else "tonic spiking"


# --------------------------------------------------------------------------------------
# the criteria as data: windows of a protocol, criterion kinds, one row per Gif panel
# --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Window:
    """A stretch of a pattern's protocol, named by its segments (:meth:`Pattern.segments`).

    The window starts ``skip_ms`` after the onset of segment ``first`` and stops
    ``extend_ms`` after the end of segment ``last``; with ``last=None`` it runs
    to the end of the run.  A spike at ``t`` is in it when ``start <= t < stop``.

    Attributes
    ----------
    first : int
        Segment whose onset starts the window.
    last : int, optional
        Segment whose end stops it; ``None``: the end of the run.
    skip_ms : float
        Delay of the start after the onset of ``first`` (ms).
    extend_ms : float
        Time added after the end of ``last`` (ms).

    Examples
    --------
    >>> from lapicque.patterns import GIF
    >>> Window(4, 4, extend_ms=25.0).bounds(GIF["F"])   # the 1.5 pulse (250-275 ms) and 25 ms after it
    (250.0, 300.0)
    """

    first: int = 0
    last: Optional[int] = None
    skip_ms: float = 0.0
    extend_ms: float = 0.0

    def bounds(self, pattern: Pattern) -> Tuple[float, float]:
        """``(start, stop)`` in ms on ``pattern``'s protocol; ``stop`` is ``inf`` with ``last=None``."""
        seg = pattern.segments()
        need = self.first if self.last is None else max(self.first, self.last)
        if need >= len(seg):
            raise ValueError(f"patterns: a criterion window needs segment {need} of pattern {pattern.key!r}, "
                             f"whose protocol has {len(seg)} segments.")
        start = seg[self.first][0] + self.skip_ms
        stop = math.inf if self.last is None else seg[self.last][1] + self.extend_ms
        return start, stop


@dataclasses.dataclass(frozen=True)
class Tail:
    """The rest of the run from ``fraction`` of the protocol's length on (``Tail(0.5)``: the second half).

    Examples
    --------
    >>> from lapicque.patterns import GIF
    >>> Tail(0.75).bounds(GIF["M"])
    (375.0, inf)
    """

    fraction: float

    def bounds(self, pattern: Pattern) -> Tuple[float, float]:
        """``(fraction * duration, inf)`` in ms."""
        return self.fraction * pattern.duration_ms, math.inf


class Check(NamedTuple):
    """One criterion: a kind of :data:`CHECK_KINDS` and the keyword arguments it is called with."""

    kind: str
    params: Mapping[str, Any]


def _c(kind: str, **params) -> Check:
    return Check(kind, MappingProxyType(params))


def _within(x, at_least=None, at_most=None, exactly=None, above=None, below=None) -> bool:
    """Whether ``x`` meets every bound given (``>=``, ``<=``, ``==``, ``>``, ``<``); NaN meets none."""
    tests = ((at_least, lambda b: x >= b), (at_most, lambda b: x <= b), (exactly, lambda b: x == b),
             (above, lambda b: x > b), (below, lambda b: x < b))
    return all(bool(test(b)) for b, test in tests if b is not None)


def _named(name: Optional[str], value) -> Dict[str, Any]:
    return {} if name is None else {name: value}


def _in_window(result: PatternResult, window) -> np.ndarray:
    """The spike times of ``result`` in ``window`` (a :class:`Window` or :class:`Tail`)."""
    start, stop = window.bounds(result.pattern)
    t = np.asarray(result.spike_times)
    return t[(t >= start) & (t < stop)]


# Each kind: (result, features, **params) -> (holds, {name: measured value}).  `features` is the
# dict of spike_features plus what the earlier checks of the row recorded; `name` (where a
# kind takes one) records the measured value under that name; `**bounds` go to _within.

def _spikes(result, f, window=None, name=None, **bounds):
    """Number of spikes in ``window`` (default: the whole run) within ``bounds``."""
    n = f["n"] if window is None else int(_in_window(result, window).size)
    return _within(n, **bounds), _named(name, n)


def _silent(result, f, window, name=None):
    """No spike in ``window``."""
    return _spikes(result, f, window, name, exactly=0)


def _spikes_elsewhere(result, f, of, name=None, **bounds):
    """Number of spikes outside the windows whose counts were recorded as ``of``, within ``bounds``."""
    n = f["n"] - sum(f[k] for k in of)
    return _within(n, **bounds), _named(name, n)


def _latency(result, f, window=None, name=None, **bounds):
    """Time (ms) from the onset of ``window`` (default: the start of the run) to the first spike."""
    t = result.spike_times
    start = 0.0 if window is None else window.bounds(result.pattern)[0]
    latency = float(t[0] - start) if t.size else math.nan
    return _within(latency, **bounds), _named(name, latency)


def _last_spike_after(result, f, window):
    """The last spike comes after the onset of ``window``: firing goes on into it."""
    return bool(f["last_spike"] > window.bounds(result.pattern)[0]), {}


def _isi(result, f, stat, name=None, **bounds):
    """A statistic of the inter-spike intervals within ``bounds``: ``'cv'``, ``'mean'`` or ``'max'`` (ms)."""
    isi = np.diff(result.spike_times)
    if stat == "cv":
        value = _cv(isi)
    else:
        value = float({"mean": np.mean, "max": np.max}[stat](isi)) if isi.size else math.nan
    return _within(value, **bounds), _named(name, value)


def _isi_lengthening(result, f, ratio_above):
    """No ISI shorter than the one before (to 1e-9 ms) and last / first ISI ``> ratio_above``."""
    isi = np.diff(result.spike_times)
    if isi.size == 0:
        return False, {}
    ok = bool(np.all(np.diff(isi) >= -1e-9)) and isi[0] > 0 and isi[-1] / isi[0] > ratio_above
    return bool(ok), {}


def _burst_count(result, f, first=False, **bounds):
    """Number of bursts within ``bounds``; with ``first``, the first spike group is a burst."""
    return bool(_within(f["n_bursts"], **bounds) and (not first or f["first_group_is_burst"])), {}


def _groups(result, f, first_at_least=None, **bounds):
    """Number of spike groups within ``bounds``; the first has ``>= first_at_least`` spikes."""
    g = f["groups"]
    first_ok = first_at_least is None or (bool(g) and g[0] >= first_at_least)
    return bool(_within(len(g), **bounds) and first_ok), {}


def _burst_in(result, f, window, first_at_least, name=None):
    """The spikes in ``window`` hold a burst, and their first group has ``>= first_at_least`` spikes.

    Records the size of that first group.
    """
    groups = split_groups(_in_window(result, window))
    first = int(groups[0].size) if groups else 0
    n_bursts = len(_bursts(groups, result.pattern.duration_ms, f["tau_ms"]))
    return n_bursts >= 1 and first >= first_at_least, _named(name, first)


def _input_negative(result, f):
    """The input current is negative throughout."""
    return bool(np.all(result.current < 0)), {}


def _afterpotentials(result, f, window, adp_above, ahp_below):
    """After the onset of ``window`` V peaks ``> adp_above`` mV above V_rest, then falls ``< ahp_below``.

    Records ``adp_mV`` (the peak - V_rest) and ``ahp_mV`` (the lowest V after the peak - V_rest).
    """
    V, t = result.V, result.t
    v_rest = float(np.asarray(result.pattern.params.get("V_rest", GIF_V_REST_MV * u.mV).to_decimal(u.mV)))
    peak = int(np.argmax(np.where(t > window.bounds(result.pattern)[0], V, -np.inf)))
    later = V[t > t[peak]]
    adp = float(V[peak] - v_rest)
    ahp = float(np.min(later) - v_rest) if later.size else math.nan
    return adp > adp_above and ahp < ahp_below, dict(adp_mV=adp, ahp_mV=ahp)


def _adex_label_is(result, f, equals):
    """:func:`adex_label` gives ``equals``."""
    return adex_label(f, result.pattern.duration_ms) == equals, {}


#: criterion kind -> function ``(result, features, **params) -> (holds, {name: measured value})``
CHECK_KINDS: Mapping[str, Callable[..., Tuple[bool, Dict[str, Any]]]] = MappingProxyType({
    "spikes": _spikes, "silent": _silent, "spikes elsewhere": _spikes_elsewhere, "latency": _latency,
    "last spike after": _last_spike_after, "isi": _isi, "isi lengthening": _isi_lengthening,
    "bursts": _burst_count, "groups": _groups, "burst in": _burst_in, "input negative": _input_negative,
    "afterpotentials": _afterpotentials, "adex label": _adex_label_is,
})

#: Gif panel -> its criteria (all must hold).  Windows name segments of the panel's protocol
#: (``GIF[key].segments()``); the comments say what they cover.
GIF_CHECKS: Mapping[str, Tuple[Check, ...]] = MappingProxyType({
    "A": (_c("spikes", at_least=5), _c("isi", stat="cv", below=0.02), _c("isi", stat="mean", name="isi_mean")),
    "B": (_c("spikes", at_least=1), _c("latency", above=200.0)),  # 10 tau
    "C": (_c("spikes", at_least=4), _c("isi lengthening", ratio_above=1.2)),
    "D": (_c("spikes", at_least=1), _c("silent", window=Tail(0.5))),
    # the 1.5 step; the staircase 0.5 / 1 / 1.5 and after it
    "E": (_c("spikes", window=Window(0, 0), at_least=1, name="step"),
          _c("silent", window=Window(2), name="staircase")),
    # the first 1.5 pulse and the pause after it; the 1.5 pulse after the -1.5 pulse, and 25 ms after it
    "F": (_c("silent", window=Window(0, 1), name="first_pulse"),
          _c("spikes", window=Window(4, 4, extend_ms=25.0), at_least=1, name="pulse_after_hyperpolarisation"),
          _c("spikes elsewhere", of=("pulse_after_hyperpolarisation",), exactly=0)),
    # up to the end of the -3.5 step; after it
    "G": (_c("silent", window=Window(0, 1), name="during"),
          _c("spikes", window=Window(2), at_least=1, name="after")),
    "H": (_c("spikes", at_least=4), _c("isi", stat="max", below=60.0, name="isi_max")),
    # the first pulse and its 10 ms pause; the second pulse and 10 ms after it; the pair 20 ms apart
    "I": (_c("silent", window=Window(0, 1), name="single"),
          _c("spikes", window=Window(2, 2, extend_ms=10.0), at_least=1, name="pair_10ms"),
          _c("silent", window=Window(4), name="pair_20ms")),
    # the first 1.7 period; the second
    "J": (_c("spikes", window=Window(1, 1), at_least=5, name="first_1_7"),
          _c("silent", window=Window(3), name="second_1_7")),
    "K": (_c("input negative"), _c("spikes", at_least=2), _c("bursts", exactly=0),
          _c("isi", stat="cv", below=0.1)),
    "L": (_c("input negative"), _c("bursts", at_least=2)),
    "M": (_c("bursts", at_least=3), _c("last spike after", window=Tail(0.75))),
    "N": (_c("bursts", exactly=1, first=True), _c("groups", exactly=1), _c("silent", window=Tail(0.5))),
    # up to the end of the -3.5 step; after it
    "O": (_c("silent", window=Window(0, 1), name="during"),
          _c("burst in", window=Window(2), first_at_least=2, name="first_group_after")),
    "P": (_c("groups", at_least=2, first_at_least=3), _c("bursts", exactly=1, first=True),
          _c("last spike after", window=Tail(0.75))),
    # after the 2.0 pulse
    "Q": (_c("spikes", exactly=1), _c("afterpotentials", window=Window(1), adp_above=0.5, ahp_below=-0.5)),
    # from 10 ms after the end of the first pulse to the second; from 10 ms after the end of the second
    "R": (_c("spikes", window=Window(1, 1, skip_ms=10.0), at_least=3, name="after_first_pulse"),
          _c("silent", window=Window(3, skip_ms=10.0), name="after_second_pulse")),
    # each pulse and 5 ms after it: 5, then 4 (10 ms later), 5, then 4 (50 ms later)
    "S": (_c("spikes", window=Window(0, 0, extend_ms=5.0), at_least=1, name="pulse5_a"),
          _c("silent", window=Window(2, 2, extend_ms=5.0), name="pulse4_10ms"),
          _c("spikes", window=Window(4, 4, extend_ms=5.0), at_least=1, name="pulse5_b"),
          _c("spikes", window=Window(6, 6, extend_ms=5.0), at_least=1, name="pulse4_50ms"),
          _c("spikes elsewhere", of=("pulse5_a", "pulse4_10ms", "pulse5_b", "pulse4_50ms"), exactly=0,
             name="elsewhere")),
    # from the end of the 2 ms pulse
    "T": (_c("spikes", exactly=1), _c("latency", window=Window(1), above=5.0, name="latency_after_pulse")),
})


def checks(pattern: Pattern) -> Tuple[Check, ...]:
    """The criteria :func:`classify` applies to ``pattern``.

    Parameters
    ----------
    pattern : Pattern
        An AdEx pattern (any key) or a Gif panel of :data:`GIF_CHECKS`.

    Returns
    -------
    tuple of Check
        AdEx: the one criterion the eight share, that :func:`adex_label` gives
        the pattern's name; Gif: the panel's row of :data:`GIF_CHECKS`.
    """
    if pattern.family == "adex":
        return (_c("adex label", equals=pattern.name),)
    try:
        return GIF_CHECKS[pattern.key]
    except KeyError:
        raise KeyError(f"patterns: no criteria for the Gif pattern {pattern.key!r}; panels: "
                       f"{', '.join(GIF_CHECKS)}.") from None


def _apply(row: Tuple[Check, ...], result: PatternResult, f: Dict[str, Any]) -> bool:
    """Evaluate every check of ``row`` on ``result`` and add what they record to ``f``.

    All checks run (no short cut), so every measurement is recorded.  Returns
    whether all hold.
    """
    passed = True
    for check in row:
        ok, recorded = CHECK_KINDS[check.kind](result, f, **check.params)
        clash = sorted(set(recorded) & set(f))
        if clash:
            raise ValueError(f"patterns: criterion {check.kind!r} would overwrite the features {clash}.")
        f.update(recorded)
        passed = passed and bool(ok)
    return passed


def classify(result: PatternResult) -> Classification:
    """Measure a run and decide whether it shows the behaviour its pattern is named after.

    AdEx patterns get a label from :func:`adex_label` (the same rules for all
    eight, so a run can be recognised as another pattern); Gif behaviours are
    checked against each panel's own criteria (:data:`GIF_CHECKS`, described
    by :attr:`Pattern.criterion`), since most of them are responses to a
    specific protocol.

    Parameters
    ----------
    result : PatternResult
        A run of :func:`run` / :func:`run_all`.

    Returns
    -------
    Classification
        The label, whether every criterion of :func:`checks` holds, and the
        features: those of :func:`spike_features` plus what the criteria
        measured (e.g. the spike count of each named window).
    """
    p = result.pattern
    T = p.duration_ms
    tau = float(np.asarray(p.params.get("tau", GIF_TAU_MS * u.ms).to_decimal(u.ms)))
    f = spike_features(result.spike_times, T, tau_ms=tau)
    passed = _apply(checks(p), result, f)
    label = adex_label(f, T) if p.family == "adex" else (p.name if passed else None)
    return Classification(key=p.key, expected=p.name, label=label, passed=bool(passed), criterion=p.criterion,
                          features=f)


def classify_all(results: Mapping[str, PatternResult]) -> Dict[str, Classification]:
    """:func:`classify` each result of :func:`run_all`."""
    return {k: classify(r) for k, r in results.items()}


def summary(results: Mapping[str, PatternResult]) -> List[Dict[str, Any]]:
    """One flat, JSON-friendly row per result: the table of a report page.

    Columns: ``key``, ``name``, ``description``, ``dt_ms``, ``precision``,
    ``n_spikes``, ``first_spike_ms``, ``label``, ``passed``, ``criterion``.

    >>> from lapicque.patterns import run_all
    >>> rows = summary(run_all(keys=["T"]))
    >>> rows[0]["key"], rows[0]["n_spikes"], rows[0]["passed"]
    ('T', 1, True)
    """
    rows = []
    for key, r in results.items():
        c = classify(r)
        rows.append(dict(key=key, name=r.pattern.name, description=r.pattern.description, dt_ms=r.dt_ms,
                         precision=r.precision, n_spikes=r.n_spikes,
                         first_spike_ms=float(r.spike_times[0]) if r.n_spikes else None,
                         label=c.label, passed=bool(c.passed), criterion=c.criterion))
    return rows
