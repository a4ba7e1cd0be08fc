"""The published firing patterns as data: :class:`Pattern`, :data:`ADEX`, :data:`GIF`.

Each pattern holds the model class, its constructor parameters with units, the
initial state and the piecewise-constant input protocol, mapped from the paper's
parameterisation to the seed's (see :mod:`lapicque.patterns`).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import saiunit as u

__all__ = ["Pattern", "ADEX", "GIF", "PATTERNS", "get", "table", "GIF_V_REST_MV", "GIF_TAU_MS"]


@dataclasses.dataclass(frozen=True, eq=False)
class Pattern:
    """One published behaviour: model, parameters, initial state and input protocol.

    Attributes
    ----------
    key : str
        Short identifier: ``'tonic'`` ... for AdEx, ``'A'`` ... ``'T'`` for Gif.
    family : {'adex', 'gif'}
        Collection the pattern belongs to.
    name : str
        The behaviour's name as in the paper (``'tonic spiking'``).
    description : str
        One line: what the behaviour is.
    criterion : str
        What :func:`classify` checks to decide that the run shows it, in words
        (the checks themselves are data: ``_classify.GIF_CHECKS``, with windows
        in segments of :attr:`protocol`).
    model : str
        Name of the lapicque model class (``'AdExIF'`` or ``'Gif'``).
    params : Mapping[str, Quantity]
        Constructor arguments (without initializers and ``spk_reset``).
    initial : Mapping[str, Quantity]
        Initial value of each state variable.
    protocol : tuple of (amplitude, duration_ms)
        Piecewise-constant input current; amplitudes in :attr:`current_unit`.
    current_unit : str
        ``'pA'`` (AdEx) or ``'mA'`` (Gif; 1 mA = the paper's 1 V/s).
    dt_ms : float
        Step (ms) at which the behaviour is verified (see :attr:`note`).
    precision : int
        32, or 64 where float32 cannot resolve the behaviour (panel B).
    published : Mapping[str, Any]
        The published table row, in the paper's units.
    note : str
        Findings about this pattern under the seed's update rule.
    """

    key: str
    family: str
    name: str
    description: str
    criterion: str
    model: str
    params: Mapping[str, Any]
    initial: Mapping[str, Any]
    protocol: Tuple[Tuple[float, float], ...]
    current_unit: str
    dt_ms: float = 0.1
    precision: int = 32
    published: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    note: str = ""

    # ------------------------------------------------------------------ protocol
    @property
    def duration_ms(self) -> float:
        """Length of the protocol in ms."""
        return float(sum(d for _, d in self.protocol))

    @property
    def duration(self):
        """Length of the protocol (Quantity)."""
        return self.duration_ms * u.ms

    def segments(self) -> List[Tuple[float, float, float]]:
        """The protocol as ``[(t_start_ms, t_stop_ms, amplitude), ...]``."""
        out, t = [], 0.0
        for amp, dur in self.protocol:
            out.append((t, t + float(dur), float(amp)))
            t += float(dur)
        return out

    def current_array(self, dt_ms: Optional[float] = None) -> np.ndarray:
        """Input of each step (mantissas in :attr:`current_unit`), shape ``(n_steps,)``.

        Step ``i`` covers ``[i dt, (i + 1) dt)``; segment boundaries are rounded
        to the nearest grid point.
        """
        dt_ms = self.dt_ms if dt_ms is None else float(dt_ms)
        n = _n_steps(self.duration_ms, dt_ms)
        x = np.zeros(n)
        for t0, t1, amp in self.segments():
            x[int(round(t0 / dt_ms)):int(round(t1 / dt_ms))] = amp
        return x

    def current(self, dt=None):
        """The input over time as a Quantity array, shape ``(n_steps,)``."""
        dt_ms = None if dt is None else _ms(dt)
        return u.Quantity(self.current_array(dt_ms), unit=_CURRENT_UNITS[self.current_unit])

    # ------------------------------------------------------------------ model
    def make(self, in_size=1, **overrides):
        """A fresh model instance with this pattern's parameters and initial state.

        ``spk_reset='hard'``; keyword arguments override constructor arguments.
        """
        from .. import MODELS

        kwargs = dict(self.params)
        for name, value in self.initial.items():
            kwargs[f"{name}_initializer"] = value
        kwargs["spk_reset"] = "hard"
        kwargs.update(overrides)
        return MODELS[self.model](in_size, **kwargs)

    def replace(self, **changes) -> "Pattern":
        """A copy with some fields changed (e.g. another ``protocol`` for a control run)."""
        for key in ("params", "initial", "published"):
            if key in changes:
                changes[key] = MappingProxyType(dict(changes[key]))
        if "protocol" in changes:
            changes["protocol"] = tuple((float(a), float(d)) for a, d in changes["protocol"])
        return dataclasses.replace(self, **changes)

    def __repr__(self):
        return f"Pattern({self.key!r}: {self.name}, {self.model}, {self.duration_ms:g} ms, dt {self.dt_ms:g} ms)"


_CURRENT_UNITS = {"pA": u.pA, "mA": u.mA}


def _ms(x) -> float:
    if isinstance(x, u.Quantity):
        return float(np.asarray(x.to_decimal(u.ms)))
    return float(x)


def _n_steps(duration_ms: float, dt_ms: float) -> int:
    n = duration_ms / dt_ms
    steps = int(round(n))
    if steps < 1 or abs(n - steps) > 1e-6 * max(1.0, n):
        raise ValueError(f"patterns: the protocol length {duration_ms} ms is not a whole number of steps of "
                         f"dt = {dt_ms} ms.")
    return steps


# --------------------------------------------------------------------------------------
# AdEx (Naud et al. 2008, parameters of Brian2's example)
# --------------------------------------------------------------------------------------

#: (C pF, g_L nS, E_L mV, V_T mV, Delta_T mV, a nS, tau_w ms, b pA, V_r mV, I pA)
_NAUD = {
    "tonic": (200, 10, -70, -50, 2, 2, 30, 0, -58, 500),
    "adaptation": (200, 12, -70, -50, 2, 2, 300, 60, -58, 500),
    "initial_burst": (130, 18, -58, -50, 2, 4, 150, 120, -50, 400),
    "regular_bursting": (200, 10, -58, -50, 2, 2, 120, 100, -46, 210),
    "delayed_accelerating": (200, 12, -70, -50, 2, -10, 300, 0, -58, 300),
    "delayed_regular_bursting": (100, 10, -65, -50, 2, -10, 90, 30, -47, 110),
    "transient": (100, 10, -65, -50, 2, 10, 90, 100, -47, 180),
    "irregular": (100, 12, -60, -50, 2, -11, 130, 30, -48, 160),
}
_NAUD_V_PEAK_MV = 0.0
_ADEX_LENGTH_MS = 500.0

_ADEX_TEXT = {
    "tonic": ("tonic spiking",
              "regular firing at a nearly constant rate from the onset of the step",
              "adex_label: no bursts, steady ISI CV <= 0.2, last/first ISI in [0.8, 1.5], first spike "
              "not later than 2 steady ISIs"),
    "adaptation": ("adaptation",
                   "the inter-spike intervals lengthen gradually to a steady value",
                   "adex_label: no bursts, steady ISI CV <= 0.2, last/first ISI > 1.5"),
    "initial_burst": ("initial burst",
                      "a burst of closely spaced spikes at the onset, then regular spiking",
                      "adex_label: exactly one burst, the first spike group, then regular spiking "
                      "(steady ISI CV <= 0.2)"),
    "regular_bursting": ("regular bursting",
                         "groups of spikes separated by long pauses, repeating regularly",
                         "adex_label: >= 3 bursts making up the train, of equal size (+-1) at a regular "
                         "period (CV <= 0.05), first spike earlier than 0.4 burst periods"),
    "delayed_accelerating": ("delayed accelerating",
                             "a long latency to the first spike, then intervals that shorten",
                             "adex_label: no bursts, steady ISI CV <= 0.2, last/first ISI < 0.8, first spike "
                             "later than 2 steady ISIs"),
    "delayed_regular_bursting": ("delayed regular bursting",
                                 "a long latency to the first burst, then regular bursts",
                                 "adex_label: regular bursting with the first spike later than 0.4 burst "
                                 "periods"),
    "transient": ("transient spiking",
                  "spikes at the onset of the step only, then rest although the input stays on",
                  "adex_label: >= 1 spike, none in the second half of the step"),
    "irregular": ("irregular spiking",
                  "aperiodic (chaotic) intervals under constant input",
                  "adex_label: firing into the second half; bursts irregular in size or period, or no "
                  "regular pattern (steady ISI CV > 0.2)"),
}

_ADEX_NOTES = {
    "transient": ("With the published parameters the cell fires a single spike (at 30.3 ms) and then rests: "
                  "solve_ivp, forward Euler at 0.1 ms (Brian2's scheme) and lapicque at 0.1 and 0.01 ms agree."),
    "delayed_regular_bursting": ("Same pattern at dt = 0.1 and 0.01 ms; the burst timing drifts with dt "
                                 "(4th burst 5.6 ms early at 0.1 ms), so compare spike times at 0.01 ms."),
    "irregular": ("Chaotic: spike times agree with solve_ivp for the first four spikes only, then the "
                  "trajectories separate (at any dt); the pattern (irregular) is robust."),
}


def _adex_pattern(key: str) -> Pattern:
    C, gL, EL, VT, dT, a, tau_w, b, Vr, I_pA = _NAUD[key]
    name, desc, crit = _ADEX_TEXT[key]
    params = {
        "R": (1e9 / gL) * u.ohm, "tau": (C / gL) * u.ms, "tau_w": float(tau_w) * u.ms,
        "V_th": _NAUD_V_PEAK_MV * u.mV, "V_reset": float(Vr) * u.mV, "V_rest": float(EL) * u.mV,
        "V_T": float(VT) * u.mV, "delta_T": float(dT) * u.mV, "a": float(a) * u.nS, "b": float(b) * u.pA,
    }
    initial = {"V": float(EL) * u.mV, "w": 0. * u.pA}
    published = dict(C_pF=C, g_L_nS=gL, E_L_mV=EL, V_T_mV=VT, Delta_T_mV=dT, a_nS=a, tau_w_ms=tau_w, b_pA=b,
                     V_r_mV=Vr, I_pA=I_pA, V_peak_mV=_NAUD_V_PEAK_MV)
    return Pattern(key=key, family="adex", name=name, description=desc, criterion=crit, model="AdExIF",
                   params=MappingProxyType(params), initial=MappingProxyType(initial),
                   protocol=((float(I_pA), _ADEX_LENGTH_MS),), current_unit="pA", dt_ms=0.1,
                   published=MappingProxyType(published), note=_ADEX_NOTES.get(key, ""))


#: the eight AdEx firing patterns, by key
ADEX: Mapping[str, Pattern] = MappingProxyType({k: _adex_pattern(k) for k in _NAUD})

# --------------------------------------------------------------------------------------
# Gif (Mihalas & Niebur 2009)
# --------------------------------------------------------------------------------------

#: panel -> (name, a 1/s, A1/C V/s, A2/C V/s, input: constant V/s or [(V/s, s), ...], length s)
_MN = {
    "A": ("tonic spiking", 0, 0, 0, 1.5, 0.2),
    "B": ("class 1 excitable", 0, 0, 0, 1 + 1e-6, 0.5),
    "C": ("spike frequency adaptation", 5, 0, 0, 2.0, 0.2),
    "D": ("phasic spiking", 5, 0, 0, 1.5, 0.5),
    "E": ("accommodation", 5, 0, 0, [(1.5, .1), (0, .5), (0.5, .1), (1, .1), (1.5, .1), (0, .1)], 1.0),
    "F": ("threshold variability", 5, 0, 0, [(1.5, .02), (0, .18), (-1.5, .025), (0, .025), (1.5, .025),
                                             (0, .125)], 0.4),
    "G": ("rebound spike", 5, 0, 0, [(0, .05), (-3.5, .756), (0, .194)], 1.0),
    "H": ("class 2 excitable", 5, 0, 0, 2 * (1 + 1e-6), 0.3),
    "I": ("integrator", 5, 0, 0, [(1.5, .02), (0, .01), (1.5, .02), (0, .25), (1.5, .02), (0, .02), (1.5, .02),
                                  (0, .04)], 0.4),
    "J": ("input bistability", 5, 0, 0, [(1.5, .1), (1.7, .4), (1.5, .1), (1.7, .4)], 1.0),
    "K": ("hyperpolarization-induced spiking", 30, 0, 0, -1.0, 0.4),
    "L": ("hyperpolarization-induced bursting", 30, 10, -0.6, -1.0, 0.4),
    "M": ("tonic bursting", 5, 10, -0.6, 2.0, 0.5),
    "N": ("phasic bursting", 5, 10, -0.6, 1.5, 0.5),
    "O": ("rebound burst", 5, 10, -0.6, [(0, .1), (-3.5, .5), (0, .4)], 1.0),
    "P": ("mixed mode", 5, 5, -0.3, 2.0, 0.5),
    "Q": ("afterpotentials", 5, 5, -0.3, [(2.0, .015), (0, .185)], 0.2),
    "R": ("basal bistability", 0, 8, -0.1, [(5, .01), (0, .09), (5, .01), (0, .09)], 0.2),
    "S": ("preferred frequency", 5, -3, 0.5, [(5, .005), (0, .005), (4, .005), (0, .385), (5, .005), (0, .045),
                                              (4, .005), (0, .345)], 0.8),
    "T": ("spike latency", -80, 0, 0, [(8, .002), (0, .048)], 0.05),
}

_MN_TEXT = {
    "A": ("fires regularly under constant input (here an LIF: period 20 ln 3 ms)",
          ">= 5 spikes with ISI CV < 0.02"),
    "B": ("input 1e-6 above rheobase: the first spike comes after an arbitrarily long latency "
          "(20 ln(10^6 + 1) = 276.3 ms)",
          "1 <= spikes, first spike later than 10 tau = 200 ms"),
    "C": ("the inter-spike intervals lengthen under constant input",
          ">= 4 spikes, ISIs non-decreasing, last/first ISI > 1.2"),
    "D": ("fires at the onset of a step, then stops although the input stays on",
          ">= 1 spike, none in the second half of the step"),
    "E": ("a fast step fires the cell; a slow staircase up to the same amplitude does not",
          ">= 1 spike during the 1.5 step (0-100 ms), none during the staircase 0.5/1/1.5 (600-900 ms) "
          "or after it"),
    "F": ("a pulse that fails from rest fires the cell after a hyperpolarising pulse (lowered threshold)",
          "no spike for the first 1.5 pulse (0-200 ms), >= 1 spike for the 1.5 pulse at 250-275 ms"),
    "G": ("fires on release from a long hyperpolarisation",
          "no spike before the end of the -3.5 step (806 ms), >= 1 spike after it"),
    "H": ("fires at a non-zero minimal rate at an input 2e-6 above the level where V and V_th "
          "meet at rest (from V = V_th = -30 mV)",
          ">= 4 spikes, every ISI < 60 ms (rate does not vanish at threshold)"),
    "I": ("two pulses 10 ms apart fire the cell; one pulse, or two pulses 20 ms apart, do not",
          "no spike in 0-30 ms (first pulse), >= 1 spike in 30-60 ms (second pulse), "
          "none in 300-400 ms (pair 20 ms apart)"),
    "J": ("the same input (1.7) gives tonic firing or rest depending on the history",
          ">= 5 spikes in the first 1.7 period (100-500 ms), none in the second (600-1000 ms)"),
    "K": ("fires tonically under a sustained negative (hyperpolarising) current",
          "input < 0 throughout, >= 2 spikes, no bursts, ISI CV < 0.1"),
    "L": ("fires bursts under a sustained negative (hyperpolarising) current",
          "input < 0 throughout, >= 2 bursts"),
    "M": ("fires regular bursts under constant input",
          ">= 3 bursts, spiking continues into the last quarter of the step"),
    "N": ("fires one burst at the onset of a step, then stops",
          "exactly one burst, the first spike group, and no spike in the second half of the step"),
    "O": ("fires a burst on release from a long hyperpolarisation",
          "no spike before the end of the -3.5 step (600 ms), a burst after it"),
    "P": ("an initial burst followed by tonic spiking",
          "first spike group is a burst of >= 3 spikes, single spikes continue into the last quarter"),
    "Q": ("after a spike V shows a depolarising, then a hyperpolarising afterpotential",
          "1 spike; after the pulse V rises > 0.5 mV above V_rest, later falls > 0.5 mV below it"),
    "R": ("a pulse switches tonic firing on, an identical pulse switches it off",
          ">= 3 spikes in 20-100 ms without input, none in 120-200 ms"),
    "S": ("a second, weaker pulse fires the cell 50 ms after a first one but not 10 ms after (resonance)",
          "spikes at both 5 pulses; none for the 4 pulse 10 ms after the first, >= 1 for the 4 pulse "
          "50 ms after the second"),
    "T": ("a brief strong pulse fires the cell with a long latency after the pulse has ended",
          "exactly 1 spike, > 5 ms after the end of the 2 ms pulse"),
}

_MN_NOTES = {
    "B": ("Needs float64: the crossing has a margin of 2e-5 mV, and float32 exponential-Euler "
          "increments stall when |V_inf - V| < ulp(50 mV) / (2 dt / tau) = 3.8e-4 mV at dt = 0.1 ms, so in "
          "float32 V never reaches V_th. With precision=64 the first spike is on the grid point after "
          "276.310 ms at dt = 0.1 ms. The ReScience replication's initial currents I1(0) = 0.01, "
          "I2(0) = 0.001 V/s would move it to ~213 ms; we use 0, as the closed form does."),
    "D": ("Fires 5 spikes (25-177 ms) before stopping, as solve_ivp does: 'phasic' here means the firing "
          "dies out under the maintained step."),
    "G": ("Verified at dt = 0.1 ms. At dt = 0.01 ms in float32 the rebound spike is 0.2 ms late "
          "(V_th stalls 0.04 mV short of its slow equilibrium: increments below half an ulp)."),
    "H": ("Starts at V = V_th = -30 mV: a spike of the first step, reported at its end (t = dt), the "
          "reset at the start of the second (solve_ivp registers the spike at t = 0)."),
    "J": ("Genuinely bistable at 1.7: a constant 1.7 from the initial state fires tonically for 1 s "
          "(control run), while after the 1.5 interval (500-600 ms) the cell has settled at rest "
          "(V -> -36 mV below V_th -> -33 mV) and the second 1.7 period leaves it there."),
    "O": ("At dt = 0.1 ms the rebound burst has 8 spikes, solve_ivp 7 (the burst's last spike is marginal); "
          "at dt = 0.01 ms 7. In float32 at dt = 0.01 ms the burst starts 0.15 ms late (V_th stall, see G)."),
}


def _gif_pattern(key: str) -> Pattern:
    name, a, A1, A2, inp, length_s = _MN[key]
    desc, crit = _MN_TEXT[key]
    params = {"a": (a / 1000.0) / u.ms, "A1": float(A1) * u.mA, "A2": float(A2) * u.mA}
    V0, Th0 = (-30.0, -30.0) if key == "H" else (-70.0, -50.0)
    initial = {"V": V0 * u.mV, "V_th": Th0 * u.mV, "I1": 0. * u.mA, "I2": 0. * u.mA}
    if np.ndim(inp) == 0:
        protocol = ((float(inp), length_s * 1e3),)
    else:
        protocol = tuple((float(x), d * 1e3) for x, d in inp)
    total = sum(d for _, d in protocol)
    assert abs(total - length_s * 1e3) < 1e-6, key
    published = dict(panel=key, a_per_s=a, A1_over_C=A1, A2_over_C=A2, input_V_per_s=inp, length_s=length_s,
                     V0_mV=V0, V_th0_mV=Th0)
    return Pattern(key=key, family="gif", name=name, description=desc, criterion=crit, model="Gif",
                   params=MappingProxyType(params), initial=MappingProxyType(initial), protocol=protocol,
                   current_unit="mA", dt_ms=0.1, precision=64 if key == "B" else 32,
                   published=MappingProxyType(published), note=_MN_NOTES.get(key, ""))


#: the twenty Mihalas-Niebur behaviours, by panel letter
GIF: Mapping[str, Pattern] = MappingProxyType({k: _gif_pattern(k) for k in _MN})

#: every pattern by key
PATTERNS: Mapping[str, Pattern] = MappingProxyType({**ADEX, **GIF})

_FAMILIES = {"adex": ADEX, "gif": GIF}
#: lapicque.Gif's default resting potential (the paper's E_L)
GIF_V_REST_MV = -70.0
#: lapicque.Gif's default membrane time constant
GIF_TAU_MS = 20.0


def get(pattern: Union[str, Pattern]) -> Pattern:
    """Look a pattern up by key (``'tonic'``, ``'A'``) or by name (``'initial burst'``).

    Names shared by both families (``'tonic spiking'``) resolve to the AdEx pattern;
    use the key for the other.
    """
    if isinstance(pattern, Pattern):
        return pattern
    if pattern in PATTERNS:
        return PATTERNS[pattern]
    want = str(pattern).strip().lower().replace("_", " ")
    for p in PATTERNS.values():
        if p.name == want or p.key.replace("_", " ") == want:
            return p
    raise KeyError(f"patterns: no pattern {pattern!r}; keys: {', '.join(PATTERNS)}.")


def _family(kind: str) -> Mapping[str, Pattern]:
    try:
        return _FAMILIES[kind]
    except KeyError:
        raise ValueError(f"patterns: kind must be 'adex' or 'gif'; got {kind!r}.") from None


def table(kind: Optional[str] = None) -> List[Dict[str, Any]]:
    """One row per pattern (key, name, description, dt, precision, criterion, note)."""
    pats = PATTERNS.values() if kind is None else _family(kind).values()
    return [dict(key=p.key, family=p.family, name=p.name, description=p.description, dt_ms=p.dt_ms,
                 precision=p.precision, duration_ms=p.duration_ms, criterion=p.criterion, note=p.note)
            for p in pats]
