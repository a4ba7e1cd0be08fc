r"""Published firing patterns as data: run them, classify them, draw the gallery.

Two collections, mapped to the seed's parameterisation
(``tau dV/dt = -(V - V_rest) + ... + R I``):

* :data:`ADEX` -- the eight AdEx firing patterns of Naud et al. (2008), with the
  parameters of Brian2's example (Touboul & Brette form, step current from
  ``t = 0``, ``V(0) = E_L``, ``w(0) = 0``, cut-off ``V_peak = 0 mV``, no refractory
  period), on :class:`lapicque.AdExIF`.  Mapping: ``tau = C / g_L``,
  ``R = 1 / g_L`` (10 nS -> 100 MOhm), ``a`` in nS, ``b`` and ``I`` in pA,
  ``V_th = V_peak``, ``V_reset = V_r``, ``V_rest = E_L``.
* :data:`GIF` -- the twenty behaviours A-T of Mihalaş & Niebur (2009, Table 1 and
  Fig. 1) on :class:`lapicque.Gif`, whose defaults are the paper's common
  parameters.  With ``tau = 20 ms`` and ``R = 20 ohm`` the paper's currents
  ``I/C`` in V/s are currents in mA here (1 V/s -> 1 mA), and ``a`` in 1/s is
  ``a / 1000`` per ms.  ``V(0) = -70 mV``, ``V_th(0) = -50 mV`` (panel H: both
  -30 mV), ``I1(0) = I2(0) = 0``.

Every pattern uses ``spk_reset='hard'`` (reset exactly to ``V_reset``) and the
current is piecewise constant.  :func:`run` / :func:`run_all` simulate them
(patterns of one family share one compiled run: one neuron per pattern, with
per-neuron parameter arrays), :func:`classify` measures the spike train and
decides whether it shows the behaviour the pattern is named after, and
:func:`gallery` draws the papers' figure (``V`` and the input current per
panel) with a headless Agg canvas.

Time convention: the state after step ``k`` (``k = 1 .. n``) belongs to time
``k * dt``; a spike is the first grid time at which ``V >= V_th``.  A pattern
whose *initial* state is at threshold (Gif panel H starts at
``V = V_th = -30 mV``) spikes at ``t = 0``: the first update resets it.

Examples
--------
>>> from lapicque import patterns
>>> res = patterns.run("A")                     # Gif tonic spiking, dt = 0.1 ms
>>> res.spike_times[:3]
array([22., 44., 66.])
>>> c = patterns.classify(res)
>>> c.passed, c.label
(True, 'tonic spiking')
>>> patterns.classify(patterns.run("initial_burst")).label
'initial burst'
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import math
import warnings
from types import MappingProxyType
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import brainstate
import jax
import jax.numpy as jnp
import numpy as np
import saiunit as u

__all__ = [
    "Pattern", "PatternResult", "Classification",
    "ADEX", "GIF", "PATTERNS", "get", "table",
    "run", "run_all", "classify", "classify_all", "summary", "spike_features", "split_groups", "adex_label",
    "gallery",
]

# ======================================================================================
# the data
# ======================================================================================


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
        What :func:`classify` checks to decide that the run shows it.
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
        from . import MODELS

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
    "H": ("Starts at V = V_th = -30 mV, so the first update resets it: a spike at t = 0 "
          "(solve_ivp registers it too)."),
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
_GIF_V_REST_MV = -70.0
#: lapicque.Gif's default membrane time constant
_GIF_TAU_MS = 20.0


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


# ======================================================================================
# running
# ======================================================================================


@dataclasses.dataclass(eq=False)
class PatternResult:
    """A simulated pattern.

    Attributes
    ----------
    pattern : Pattern
        What was run.
    dt_ms : float
        Time step (ms).
    t : numpy.ndarray
        Sample times ``0, dt, ..., n dt`` (ms), shape ``(n + 1,)``; sample 0 is the
        initial state.
    current : numpy.ndarray
        Input of each step, shape ``(n,)``, in ``pattern.current_unit``.
    traces : dict
        State name -> samples, shape ``(n + 1,)``; in :attr:`units`.
    units : dict
        State name -> unit string (``V``, ``V_th``: mV; ``w``: pA; ``I1``, ``I2``: mA).
    spike_times : numpy.ndarray
        Spike times (ms), float64.
    precision : int
        Floating-point precision of the run (32 or 64).
    """

    pattern: Pattern
    dt_ms: float
    t: np.ndarray
    current: np.ndarray
    traces: Dict[str, np.ndarray]
    units: Dict[str, str]
    spike_times: np.ndarray
    precision: int = 32

    @property
    def V(self) -> np.ndarray:
        """Membrane potential samples (mV)."""
        return self.traces["V"]

    @property
    def n_spikes(self) -> int:
        return int(self.spike_times.size)

    def __repr__(self):
        return (f"PatternResult({self.pattern.key!r}, dt={self.dt_ms:g} ms, {self.n_spikes} spikes, "
                f"float{self.precision})")


_RECORD = {"AdExIF": ("V", "w"), "Gif": ("V", "V_th", "I1", "I2")}
_TRACE_UNITS = {"V": u.mV, "V_th": u.mV, "w": u.pA, "I1": u.mA, "I2": u.mA}


def _stack_params(patterns: Sequence[Pattern]) -> Dict[str, Any]:
    out = {}
    for name in patterns[0].params:
        unit = u.get_unit(patterns[0].params[name])
        vals = np.array([float(np.asarray(p.params[name].to_decimal(unit))) for p in patterns])
        out[name] = u.Quantity(vals, unit=unit)
    for name in patterns[0].initial:
        unit = u.get_unit(patterns[0].initial[name])
        vals = np.array([float(np.asarray(p.initial[name].to_decimal(unit))) for p in patterns])
        out[f"{name}_initializer"] = u.Quantity(vals, unit=unit)
    return out


def _batch_model(patterns: Sequence[Pattern]):
    from . import MODELS

    kwargs = _stack_params(patterns)
    kwargs["spk_reset"] = "hard"
    return MODELS[patterns[0].model](len(patterns), **kwargs)


def _simulate_fn():
    """``lapicque.simulate.simulate`` if that module is there, else None."""
    try:
        mod = importlib.import_module("lapicque.simulate")
        return mod.simulate
    except (ImportError, AttributeError):
        return None


def _run_loop(model, I_mA: np.ndarray, dt_ms: float, record: Sequence[str]):
    """Run ``model`` over the current array ``I_mA`` (n_steps, n); spikes (n_steps, n) and traces."""
    n_steps = I_mA.shape[0]
    sim = _simulate_fn()
    current = u.Quantity(jnp.asarray(I_mA, dtype=brainstate.environ.dftype()), unit=u.mA)
    if sim is not None:
        res = sim(model, current, n_steps * dt_ms * u.ms, dt=dt_ms * u.ms, record=tuple(record),
                  time_varying=True, progress=False)
        spikes = np.asarray(res.spike_raster()).reshape(n_steps, -1)
        traces = {k: np.asarray(u.Quantity(res.traces[k]).to_decimal(_TRACE_UNITS[k])).reshape(n_steps, -1)
                  for k in record}
        return spikes, traces
    # fallback: a compiled loop of our own (same conventions as lapicque.simulate)
    dt = dt_ms * u.ms
    with brainstate.environ.context(dt=dt):
        model.init_state()

        def step(i, x):
            with brainstate.environ.context(t=i * dt):
                spk = model.update(x)
            return u.get_mantissa(spk) > 0.5, {k: getattr(model, k).value.to_decimal(_TRACE_UNITS[k])
                                               for k in record}

        spk, rec = brainstate.transform.for_loop(step, jnp.arange(n_steps), current)
    return np.asarray(spk), {k: np.asarray(v) for k, v in rec.items()}


@contextlib.contextmanager
def _precision(precision: Optional[int]):
    """Run in brainstate/JAX ``precision`` (32 or 64); restore both flags afterwards."""
    current = brainstate.environ.get_precision()
    if precision is None or int(precision) == int(current):
        yield
        return
    x64_before = bool(jax.config.jax_enable_x64)
    try:
        with brainstate.environ.context(precision=int(precision)):
            yield
    finally:
        jax.config.update("jax_enable_x64", x64_before)


def _current_precision() -> int:
    return 64 if np.dtype(brainstate.environ.dftype()) == np.float64 else 32


def _run_batch(patterns: Sequence[Pattern], dt_ms: float, precision: Optional[int]) -> List[PatternResult]:
    model_name = patterns[0].model
    if any(p.model != model_name for p in patterns):
        raise ValueError("patterns: one batch must use one model class.")
    record = _RECORD[model_name]
    lengths = [_n_steps(p.duration_ms, dt_ms) for p in patterns]
    n_max = max(lengths)
    scale = {"pA": 1e-9, "mA": 1.0}
    I_mA = np.zeros((n_max, len(patterns)))
    for j, p in enumerate(patterns):
        I_mA[:lengths[j], j] = p.current_array(dt_ms) * scale[p.current_unit]
    with _precision(precision):
        prec = _current_precision()
        model = _batch_model(patterns)
        with brainstate.environ.context(dt=dt_ms * u.ms):
            model.init_state()
            spike0 = np.asarray(u.get_mantissa(model.get_spike())).reshape(-1) > 0.5
            init = {k: np.asarray(getattr(model, k).value.to_decimal(_TRACE_UNITS[k])).reshape(-1)
                    for k in record}
        spikes, traces = _run_loop(model, I_mA, dt_ms, record)
    out = []
    for j, p in enumerate(patterns):
        n = lengths[j]
        steps = np.nonzero(spikes[:n, j])[0]
        times = np.round((steps + 1.0) * dt_ms, 9)
        if spike0[j]:
            times = np.concatenate([[0.0], times])
        tr = {k: np.concatenate([[init[k][j]], traces[k][:n, j]]).astype(np.float64) for k in record}
        out.append(PatternResult(pattern=p, dt_ms=float(dt_ms), t=np.arange(n + 1) * float(dt_ms),
                                 current=p.current_array(dt_ms), traces=tr,
                                 units={k: str(_TRACE_UNITS[k]) for k in record}, spike_times=times,
                                 precision=prec))
    return out


def _check_precision(patterns, precision):
    have = _current_precision() if precision is None else int(precision)
    low = [p.key for p in patterns if p.precision > have]
    if low:
        warnings.warn(f"patterns {low} need float{max(PATTERNS[k].precision for k in low)} to show their "
                      f"behaviour but run in float{have}; pass precision='auto' (or 64).", UserWarning,
                      stacklevel=3)


def run_all(kind: Optional[str] = None, dt=None, *, keys: Optional[Iterable[str]] = None,
            precision: Union[None, int, str] = None) -> Dict[str, PatternResult]:
    """Run every pattern of a family (or the given ``keys``) and return ``{key: PatternResult}``.

    Patterns with the same model and dt share one compiled run (one neuron per
    pattern, per-neuron parameter arrays, zero input after a pattern's end).

    Parameters
    ----------
    kind : {'adex', 'gif'}, optional
        The family; ``None`` with ``keys`` given runs those.
    dt : Quantity or float (ms), optional
        Step for all; default: each pattern's :attr:`Pattern.dt_ms`.
    keys : iterable of str, optional
        Run only these patterns.
    precision : None, 32, 64 or 'auto'
        ``None`` runs in the current environment (warning for patterns that need
        float64); 32/64 runs everything in that precision; ``'auto'`` runs each
        pattern in its :attr:`Pattern.precision` (panel B in float64).  Switching
        precision uses ``brainstate.environ.context(precision=...)`` and restores
        JAX's ``jax_enable_x64`` flag afterwards.
    """
    if keys is None:
        if kind is None:
            raise ValueError("patterns.run_all: give kind ('adex' or 'gif') or keys.")
        pats = list(_family(kind).values())
    else:
        pats = [get(k) for k in keys]
        if kind is not None:
            pats = [p for p in pats if p.family == kind]
    if not pats:
        return {}
    groups: Dict[Tuple[str, float, Optional[int]], List[Pattern]] = {}
    for p in pats:
        dt_ms = p.dt_ms if dt is None else _ms(dt)
        prec = (p.precision if p.precision > _current_precision() else None) if precision == "auto" else precision
        if precision not in (None, "auto", 32, 64):
            raise ValueError(f"patterns: precision must be None, 32, 64 or 'auto'; got {precision!r}.")
        groups.setdefault((p.model, float(dt_ms), prec), []).append(p)
    if precision is None:
        _check_precision(pats, None)
    results: Dict[str, PatternResult] = {}
    for (_, dt_ms, prec), group in groups.items():
        for r in _run_batch(group, dt_ms, prec):
            results[r.pattern.key] = r
    return {p.key: results[p.key] for p in pats}


def run(pattern: Union[str, Pattern], dt=None, *, precision: Union[None, int, str] = None) -> PatternResult:
    """Run one pattern (key, name or :class:`Pattern`) and return its :class:`PatternResult`.

    ``dt`` defaults to the pattern's :attr:`Pattern.dt_ms`; ``precision`` as in
    :func:`run_all`.
    """
    p = get(pattern)
    dt_ms = p.dt_ms if dt is None else _ms(dt)
    if precision == "auto":
        precision = p.precision if p.precision > _current_precision() else None
    elif precision is None:
        _check_precision([p], None)
    elif precision not in (32, 64):
        raise ValueError(f"patterns: precision must be None, 32, 64 or 'auto'; got {precision!r}.")
    return _run_batch([p], dt_ms, precision)[0]


# ======================================================================================
# classification
# ======================================================================================

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
    t = res.spike_times
    T = res.pattern.duration_ms
    isi = np.diff(t)
    x: Dict[str, Any] = {}
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
    elif key == "K":
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
    return bool(ok), x


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


# ======================================================================================
# the gallery
# ======================================================================================


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
        r = results[p.key]
        c = classify(r)
        inner = outer[i // ncols, i % ncols].subgridspec(2, 1, height_ratios=(3, 1), hspace=0.08)
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
    title = ("AdEx firing patterns (Naud et al. 2008) on lapicque.AdExIF" if kind == "adex"
             else "Mihala\u015f & Niebur (2009) behaviours A\u2013T on lapicque.Gif")
    fig.suptitle(title, fontsize=11, y=1 - 0.15 / height, va="top")
    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig
