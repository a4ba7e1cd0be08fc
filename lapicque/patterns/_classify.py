"""Classifying a spike train: groups, bursts, features, and each pattern's criterion."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import saiunit as u

from ._run import PatternResult
from ._tables import _GIF_TAU_MS, _GIF_V_REST_MV

__all__ = ["Classification", "classify", "classify_all", "summary", "spike_features", "split_groups",
           "adex_label", "BURST_RATIO", "REGULAR_BURST_CV"]

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


def _count(t, lo, hi) -> int:
    t = np.asarray(t)
    return int(np.sum((t >= lo) & (t < hi)))


def _gif_check(key: str, res: PatternResult, f: Dict[str, Any]) -> Tuple[bool, Dict[str, Any]]:
    """Apply panel ``key``'s criterion; returns (passed, extra features)."""
    x: Dict[str, Any] = {}
    check = _gif_check_a_to_j if key <= "J" else _gif_check_k_to_t
    return bool(check(key, res, f, x)), x


def _gif_check_a_to_j(key: str, res: PatternResult, f: Dict[str, Any], x: Dict[str, Any]) -> bool:
    """Criteria of panels A-J (spike counts in the windows of each protocol)."""
    t = res.spike_times
    T = res.pattern.duration_ms
    isi = np.diff(t)
    if key == "A":
        ok = f["n"] >= 5 and _cv(isi) < 0.02
        x["isi_mean"] = float(np.mean(isi)) if isi.size else float("nan")
    elif key == "B":
        ok = f["n"] >= 1 and f["latency"] > 200.0
    elif key == "C":
        ok = f["n"] >= 4 and bool(np.all(np.diff(isi) >= -1e-9)) and f["isi_first"] > 0 \
            and isi[-1] / isi[0] > 1.2
    elif key in ("D",):
        ok = f["n"] >= 1 and _count(t, 0.5 * T, T + 1) == 0
    elif key == "E":
        x.update(step=_count(t, 0, 100), staircase=_count(t, 600, T + 1))
        ok = x["step"] >= 1 and x["staircase"] == 0
    elif key == "F":
        x.update(first_pulse=_count(t, 0, 200), pulse_after_hyperpolarisation=_count(t, 250, 300))
        ok = x["first_pulse"] == 0 and x["pulse_after_hyperpolarisation"] >= 1 and f["n"] == x[
            "pulse_after_hyperpolarisation"]
    elif key == "G":
        x.update(during=_count(t, 0, 806), after=_count(t, 806, T + 1))
        ok = x["during"] == 0 and x["after"] >= 1
    elif key == "H":
        ok = f["n"] >= 4 and float(np.max(isi)) < 60.0
        x["isi_max"] = float(np.max(isi)) if isi.size else float("nan")
    elif key == "I":
        x.update(single=_count(t, 0, 30), pair_10ms=_count(t, 30, 60), pair_20ms=_count(t, 300, T + 1))
        ok = x["single"] == 0 and x["pair_10ms"] >= 1 and x["pair_20ms"] == 0
    elif key == "J":
        x.update(first_1_7=_count(t, 100, 500), second_1_7=_count(t, 600, T + 1))
        ok = x["first_1_7"] >= 5 and x["second_1_7"] == 0
    else:  # pragma: no cover
        raise KeyError(key)
    return ok


def _gif_check_k_to_t(key: str, res: PatternResult, f: Dict[str, Any], x: Dict[str, Any]) -> bool:
    """Criteria of panels K-T (bursts, afterpotentials, bistability, resonance, latency)."""
    t = res.spike_times
    T = res.pattern.duration_ms
    isi = np.diff(t)
    if key == "K":
        ok = bool(np.all(res.current < 0)) and f["n"] >= 2 and f["n_bursts"] == 0 and _cv(isi) < 0.1
    elif key == "L":
        ok = bool(np.all(res.current < 0)) and f["n_bursts"] >= 2
    elif key == "M":
        ok = f["n_bursts"] >= 3 and f["last_spike"] > 0.75 * T
    elif key == "N":
        ok = f["n_bursts"] == 1 and len(f["groups"]) == 1 and f["first_group_is_burst"] \
            and _count(t, 0.5 * T, T + 1) == 0
    elif key == "O":
        x.update(during=_count(t, 0, 600))
        after = split_groups(t[t >= 600])
        x["first_group_after"] = int(after[0].size) if after else 0
        ok = x["during"] == 0 and len(_bursts(after, T, f["tau_ms"])) >= 1 and x["first_group_after"] >= 2
    elif key == "P":
        g = f["groups"]
        ok = len(g) >= 2 and g[0] >= 3 and f["first_group_is_burst"] and f["n_bursts"] == 1 \
            and f["last_spike"] > 0.75 * T
    elif key == "Q":
        V = res.V
        tt = res.t
        Vr = float(np.asarray(res.pattern.params.get("V_rest", _GIF_V_REST_MV * u.mV).to_decimal(u.mV)))
        pulse_end = res.pattern.segments()[0][1]
        after = tt > pulse_end
        peak_i = int(np.argmax(np.where(after, V, -np.inf)))
        x.update(adp_mV=float(V[peak_i] - Vr), ahp_mV=float(np.min(V[tt > tt[peak_i]]) - Vr))
        ok = f["n"] == 1 and x["adp_mV"] > 0.5 and x["ahp_mV"] < -0.5
    elif key == "R":
        x.update(after_first_pulse=_count(t, 20, 100), after_second_pulse=_count(t, 120, T + 1))
        ok = x["after_first_pulse"] >= 3 and x["after_second_pulse"] == 0
    elif key == "S":
        x.update(pulse5_a=_count(t, 0, 10), pulse4_10ms=_count(t, 10, 20), pulse5_b=_count(t, 400, 410),
                 pulse4_50ms=_count(t, 450, 460), elsewhere=f["n"])
        x["elsewhere"] -= x["pulse5_a"] + x["pulse4_10ms"] + x["pulse5_b"] + x["pulse4_50ms"]
        ok = (x["pulse5_a"] >= 1 and x["pulse5_b"] >= 1 and x["pulse4_10ms"] == 0 and x["pulse4_50ms"] >= 1
              and x["elsewhere"] == 0)
    elif key == "T":
        pulse_end = res.pattern.segments()[0][1]
        x["latency_after_pulse"] = float(t[0] - pulse_end) if t.size else float("nan")
        ok = f["n"] == 1 and x["latency_after_pulse"] > 5.0
    else:  # pragma: no cover
        raise KeyError(key)
    return ok


def classify(result: PatternResult) -> Classification:
    """Measure a run and decide whether it shows the behaviour its pattern is named after.

    AdEx patterns get a label from :func:`adex_label` (the same rules for all
    eight, so a run can be recognised as another pattern); Gif behaviours are
    checked against each panel's own criterion (:attr:`Pattern.criterion`),
    since most of them are responses to a specific protocol.
    """
    p = result.pattern
    T = p.duration_ms
    tau = float(np.asarray(p.params.get("tau", _GIF_TAU_MS * u.ms).to_decimal(u.ms)))
    f = spike_features(result.spike_times, T, tau_ms=tau)
    if p.family == "adex":
        label = adex_label(f, T)
        passed = label == p.name
        crit = p.criterion
    else:
        passed, extra = _gif_check(p.key, result, f)
        f.update(extra)
        label = p.name if passed else None
        crit = p.criterion
    return Classification(key=p.key, expected=p.name, label=label, passed=bool(passed), criterion=crit,
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
