r"""Physiological parameter sets from the literature, as ready models or as constructor arguments.

lapicque keeps the defaults of ``brainpy.state`` (``R = 1 ohm``, and for the
linear models ``V_rest = 0 mV``, ``V_th = 1 mV``: currents in mA move ``V`` by
mV).  A preset gives a model the published values instead, in physiological
units (currents in pA, ``R`` in MOhm), with ``V`` starting at rest:

=============== ======================= =====================================================
preset          models                  source
=============== ======================= =====================================================
``brette2007``  ``LIFRef``, ``LIF``     Brette et al. (2007), benchmark networks: the LIF cell
``brette2005``  ``AdExIF``, ``AdExIFRef`` Brette & Gerstner (2005): AdEx, regular spiking
``naud2008``    ``AdExIF``, ``AdExIFRef`` Naud et al. (2008): the eight AdEx firing patterns
``mihalas2009`` ``Gif``, ``GifRef``     Mihalaş & Niebur (2009): the twenty Gif behaviours
=============== ======================= =====================================================

Each preset is a :class:`Preset`: calling it builds a model
(``presets.brette2007(100)`` is ``lapicque.LIFRef(100, R=100 MOhm, ...)``),
:meth:`Preset.parameters` returns the constructor arguments, and the pattern
presets (``naud2008``, ``mihalas2009``) take the pattern, whose parameters are
those of :mod:`lapicque.patterns` (one table for both).  The same presets are
the ``--preset`` option of ``lapicque run`` and ``lapicque fi``
(``--preset naud2008:adaptation``).

:func:`check` says, before a run, what makes a run of a model silent or
spurious: a start at or above threshold (the model spikes in its first step),
or a current too weak for ``R`` to move ``V`` (``500 pA`` through the default
``R = 1 ohm`` moves ``V`` by 5e-7 mV).  ``lapicque run`` prints these as
warnings; nothing is checked inside a compiled loop.

Examples
--------
>>> import saiunit as u, lapicque
>>> from lapicque import presets
>>> cell = presets.brette2007()                      # LIFRef, R = 100 MOhm, tau = 20 ms, V from -60 mV
>>> res = lapicque.simulate(cell, 200 * u.pA, 1000 * u.ms)
>>> int(res.spike_count[0])                          # 1 / (5 ms + 20 ms ln 2) = 53 Hz
53
>>> print(presets.check(lapicque.LIF(1), 500 * u.pA)[0])
LIF: R*I is at most 5e-07 mV (R = 1 ohm, I = 5e-07 mA): V moves at most that far from V_rest, ...
>>> presets.naud2008.stimulus("adaptation").shape    # the published step: 500 pA for 500 ms at dt = 0.1 ms
(5000,)
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
import weakref
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["Preset", "PRESETS", "get", "brette2007", "brette2005", "naud2008", "mihalas2009", "check",
           "warn_drive", "DriveWarning", "MEASURABLE"]

#: ``R * I`` smaller than this fraction of ``V_th - V_rest`` is not a measurable response (see :func:`check`)
MEASURABLE = 0.01


class DriveWarning(UserWarning):
    """A run that will be silent or spurious for a reason outside the model (see :func:`check`)."""


@dataclasses.dataclass(frozen=True)
class Preset:
    """A published parameter set for one or more lapicque models.

    Attributes
    ----------
    name : str
        What ``--preset`` and :func:`get` call it (``'brette2007'``).
    title : str
        One line: what the parameters describe.
    citation : str
        The source.
    models : tuple of str
        The models it fits; the first is the default.
    values : tuple of (name, number, unit)
        Constructor arguments of the default model, the unit as saiunit spells
        it (``'Mohm'``, ``'mV'``); ``unit == ''`` for a choice such as
        ``spk_reset``.  Empty for a pattern preset.
    family : str or None
        ``'adex'`` or ``'gif'``: the parameters are those of a published
        pattern of :mod:`lapicque.patterns` (``pattern=`` picks it).
    default_pattern : str or None
        The pattern used when none is given.
    published : str
        What the source reports the cell does (what the tests check).
    suggested_current : str
        A current that makes the cell fire, as the command line writes it.
    """

    name: str
    title: str
    citation: str
    models: Tuple[str, ...]
    values: Tuple[Tuple[str, Any, str], ...] = ()
    family: Optional[str] = None
    default_pattern: Optional[str] = None
    published: str = ""
    suggested_current: str = ""

    @property
    def model(self) -> str:
        """The default model's name."""
        return self.models[0]

    def pattern(self, pattern: Optional[str] = None):
        """The :class:`lapicque.patterns.Pattern` behind a pattern preset (``None`` for the others)."""
        if self.family is None:
            if pattern is not None:
                raise ValueError(f"presets.{self.name} has no patterns; got pattern={pattern!r}")
            return None
        from .patterns import ADEX, GIF
        table = ADEX if self.family == "adex" else GIF
        key = self.default_pattern if pattern is None else str(pattern)
        if key not in table:
            raise ValueError(f"presets.{self.name}: no pattern {key!r}; choose from {', '.join(table)}")
        return table[key]

    def parameters(self, pattern: Optional[str] = None, model: Optional[str] = None) -> Dict[str, Any]:
        """The constructor arguments (quantities with units), for ``model`` (default :attr:`model`).

        Arguments the model does not take (``tau_ref`` for ``LIF``) are left out.

        Examples
        --------
        >>> from lapicque import presets
        >>> p = presets.brette2007.parameters(model="LIF")
        >>> print(p["R"], p["V_th"], "tau_ref" in p)
        100. Mohm -50. mV False
        """
        cls = self._model_class(model)
        p = self.pattern(pattern)
        if p is None:
            import saiunit as u
            out = {name: number * getattr(u, unit) if unit else number for name, number, unit in self.values}
        else:  # the pattern's own constructor arguments, initial state and reset (as Pattern.make builds them)
            out = dict(p.params)
            out.update({f"{name}_initializer": value for name, value in p.initial.items()})
            out["spk_reset"] = "hard"
        accepted = inspect.signature(cls.__init__).parameters
        return {k: v for k, v in out.items() if k in accepted}

    def __call__(self, in_size=1, *, pattern: Optional[str] = None, model: Optional[str] = None, **overrides):
        """A model with this preset's parameters; keyword arguments override them.

        Examples
        --------
        >>> from lapicque import presets
        >>> cell = presets.naud2008(pattern="tonic")
        >>> type(cell).__name__, cell.b
        ('AdExIF', Quantity(0., "pA"))
        """
        kwargs = self.parameters(pattern, model)
        kwargs.update(overrides)
        return self._model_class(model)(in_size, **kwargs)

    def stimulus(self, pattern: Optional[str] = None, dt=None):
        """The published input of a pattern preset over time (a Quantity per step; ``None`` for the others).

        ``dt`` defaults to the pattern's step (0.1 ms).
        """
        p = self.pattern(pattern)
        return None if p is None else p.current(dt)

    def describe(self) -> List[str]:
        """Lines for ``lapicque presets``: title, source, models, values, what was published."""
        lines = [f"{self.name} -- {self.title}", f"    {self.citation}",
                 f"    models: {', '.join(self.models)} (default {self.model})"]
        if self.values:
            lines.append("    " + ", ".join(f"{n}={_text(x, unit)}" for n, x, unit in self.values))
        if self.family:
            lines.append(f"    parameters of each pattern: `lapicque patterns {self.family}`; pick one with "
                         f"--preset {self.name}:KEY (default {self.default_pattern})")
        if self.published:
            lines.append(f"    published: {self.published}")
        if self.suggested_current:
            lines.append(f"    try: lapicque run --preset {self.name} --current {self.suggested_current}")
        return lines

    def _model_class(self, model: Optional[str]):
        import lapicque
        name = self.model if model is None else getattr(model, "__name__", model)
        if name not in self.models:
            raise ValueError(f"presets.{self.name} is for {' or '.join(self.models)}; got model={name!r}")
        return lapicque.MODELS[name]


def _text(number, unit: str) -> str:
    """How the command line writes a value (``100Mohm``, ``-60mV``, ``hard``)."""
    return f"{number:g}{unit}" if unit else str(number)


brette2007 = Preset(
    name="brette2007",
    title="the leaky integrate-and-fire cell of the benchmark networks (COBA, CUBA)",
    citation="Brette R, Rudolph M, Carnevale T, et al. (2007) Simulation of networks of spiking neurons: a review "
             "of tools and strategies. J Comput Neurosci 23:349-398 (benchmarks 1 and 2: C = 200 pF, "
             "g_L = 10 nS, after Vogels & Abbott 2005)",
    models=("LIFRef", "LIF"),
    values=(("R", 100., "Mohm"), ("tau", 20., "ms"), ("tau_ref", 5., "ms"), ("V_rest", -60., "mV"),
            ("V_th", -50., "mV"), ("V_reset", -60., "mV"), ("V_initializer", -60., "mV"), ("spk_reset", "hard", "")),
    published="rheobase (V_th - V_rest) / R = 100 pA; above it the rate 1 / (tau_ref + tau ln(RI / (RI - 10 mV))), "
              "53 Hz at 200 pA",
    suggested_current="200pA",
)

brette2005 = Preset(
    name="brette2005",
    title="the adaptive exponential integrate-and-fire cell (AdEx), regular spiking",
    citation="Brette R, Gerstner W (2005) Adaptive exponential integrate-and-fire model as an effective "
             "description of neuronal activity. J Neurophysiol 94:3637-3642 (C = 281 pF, g_L = 30 nS; spike "
             "cut-off V_T + 5 Delta_T as in Brian2's example of the paper)",
    models=("AdExIF", "AdExIFRef"),
    values=(("R", 1e3 / 30., "Mohm"), ("tau", 281. / 30., "ms"), ("tau_w", 144., "ms"), ("V_rest", -70.6, "mV"),
            ("V_T", -50.4, "mV"), ("delta_T", 2., "mV"), ("V_th", -40.4, "mV"), ("V_reset", -70.6, "mV"),
            ("a", 4., "nS"), ("b", 80.5, "pA"), ("V_initializer", -70.6, "mV"), ("w_initializer", 0., "pA"),
            ("spk_reset", "hard", "")),
    published="regular spiking with spike-frequency adaptation under a step current (the intervals lengthen)",
    suggested_current="1nA",
)

naud2008 = Preset(
    name="naud2008",
    title="the AdEx cell of each published firing pattern (tonic, adaptation, bursting, ...)",
    citation="Naud R, Marcille N, Clopath C, Gerstner W (2008) Firing patterns in the adaptive exponential "
             "integrate-and-fire model. Biol Cybern 99:335-347 (Table 1; parameters of Brian2's example)",
    models=("AdExIF", "AdExIFRef"),
    family="adex", default_pattern="tonic",
    published="each pattern's behaviour under its step current (lapicque.patterns classifies it)",
    suggested_current="500pA",
)

mihalas2009 = Preset(
    name="mihalas2009",
    title="the generalized integrate-and-fire cell of each of the twenty behaviours A-T",
    citation="Mihalas S, Niebur E (2009) A generalized linear integrate-and-fire neural model produces diverse "
             "spiking behaviors. Neural Comput 21:704-718 (Table 1; currents I/C in V/s are mA here, R = 20 ohm)",
    models=("Gif", "GifRef"),
    family="gif", default_pattern="A",
    published="each behaviour under its published input (lapicque.patterns classifies it)",
    suggested_current="1.5mA",
)

#: every preset by name
PRESETS: Dict[str, Preset] = {p.name: p for p in (brette2007, brette2005, naud2008, mihalas2009)}


def get(name: str) -> Tuple[Preset, Optional[str]]:
    """``'naud2008:adaptation'`` -> ``(naud2008, 'adaptation')``; ``'brette2007'`` -> ``(brette2007, None)``.

    Examples
    --------
    >>> get("naud2008:adaptation")[0].name, get("naud2008:adaptation")[1]
    ('naud2008', 'adaptation')
    >>> get("brette2006")
    Traceback (most recent call last):
    ...
    ValueError: no preset 'brette2006'; choose from brette2007, brette2005, naud2008, mihalas2009
    """
    base, _, pattern = str(name).strip().partition(":")
    if base.lower() not in PRESETS:
        raise ValueError(f"no preset {base!r}; choose from {', '.join(PRESETS)}")
    preset = PRESETS[base.lower()]
    if pattern and preset.family is None:
        raise ValueError(f"preset {preset.name} has no patterns; write --preset {preset.name}")
    return preset, (pattern or None)


# --------------------------------------------------------------------------
# what makes a run silent or spurious
# --------------------------------------------------------------------------
def check(model, current, *, cli: bool = False, warn: bool = False) -> List[str]:
    """Why a run of ``model`` under ``current`` may show nothing, or spikes it should not: a list of messages.

    Two things are checked, on the model's parameters and the input's
    largest magnitude only (nothing is simulated):

    * the start: ``V`` starts at or above the threshold (``V_th``; Gif: its
      initial ``V_th``), so the model spikes in its first step -- the usual
      cause is a physiological ``V_rest``/``V_th`` with the default
      ``V_initializer`` of 0 mV;
    * the drive: :math:`R |I|_{max}` is below :data:`MEASURABLE` (1%) of
      :math:`V_{th} - V_{rest}` (Gif: ``V_th_inf``), so ``V`` cannot move a
      measurable part of the way to threshold -- the usual cause is a current
      in pA with the default ``R = 1 ohm``.  A zero current is not flagged.

    Parameters
    ----------
    model : Neuron
        A lapicque model (its parameters are read as numbers; a traced or
        random initializer is not checked).
    current : Quantity
        The largest input (scalar or one per neuron), or the input itself
        (its largest magnitude is used).
    cli : bool
        Write the remedies as ``lapicque run`` options (``--set NAME=VALUE``).
    warn : bool
        Also emit each message as a :class:`DriveWarning`, once per model
        and message (a loop over runs of one model warns once).

    Returns
    -------
    list of str
        Empty when nothing is wrong.

    Examples
    --------
    >>> import saiunit as u, lapicque
    >>> from lapicque import presets
    >>> presets.check(lapicque.LIF(1, V_rest=-70 * u.mV, V_th=-50 * u.mV, V_reset=-70 * u.mV), 2 * u.mA)[0]
    'LIF: V starts at 0 mV (V_initializer), at or above V_th = -50 mV: ...'
    >>> presets.check(presets.brette2007(), 200 * u.pA)
    []
    """
    messages = [m for m in (_start_message(model, cli), _drive_message(model, current, cli)) if m]
    if warn:
        try:
            seen = _WARNED.setdefault(model, set())
        except TypeError:  # not weak-referenceable: warn every time
            seen = set()
        for m in messages:
            if m not in seen:
                seen.add(m)
                warnings.warn(m, DriveWarning, stacklevel=2)
    return messages


#: the messages already given for each model (so that a run repeated in a loop warns once)
_WARNED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def warn_drive(model, current, stacklevel: int = 3) -> None:
    """:func:`check` with ``warn=True`` for :func:`lapicque.simulate`: never raises, skips what it cannot read.

    ``current`` may be anything ``simulate`` takes: ``None`` (a network
    drives itself) or a callable is not checked; a Quantity (scalar, one per
    neuron, or one per step) is checked by its largest magnitude.
    """
    if current is None or callable(current):
        current = None
    try:
        messages = [m for m in (_start_message(model, False),
                                None if current is None else _drive_message(model, current, False)) if m]
    except Exception:  # noqa: BLE001 - a check that cannot read the model says nothing
        return
    try:
        seen = _WARNED.setdefault(model, set())
    except TypeError:
        seen = set()
    for m in messages:
        if m not in seen:
            seen.add(m)
            warnings.warn(m, DriveWarning, stacklevel=stacklevel)


def _number(value, unit) -> Optional[Any]:
    """``value`` as a float64 array in ``unit`` (initializers: their constant); ``None`` if it is not concrete."""
    import numpy as np
    import saiunit as u

    value = getattr(value, "value", value)  # a braintools Constant, or a trainable parameter
    if value is None:  # a parameter the model does not have (HH has no R)
        return None
    try:
        if isinstance(value, u.Quantity):
            return np.asarray(value.to_decimal(unit), dtype=np.float64)
        return np.asarray(value, dtype=np.float64)
    except Exception:  # noqa: BLE001 - a random initializer or a traced value is not checked
        return None


def _threshold(model):
    """(name, value in mV) of the threshold ``V`` must reach; ``None`` if the model has none to read."""
    import saiunit as u
    if hasattr(model, "V_th_inf"):  # Gif: a dynamic threshold relaxing to V_th_inf
        return "V_th_inf", _number(model.V_th_inf, u.mV)
    if hasattr(model, "V_th"):
        return "V_th", _number(model.V_th, u.mV)
    return None, None


def _start_message(model, cli: bool) -> Optional[str]:
    import numpy as np
    import saiunit as u
    name = type(model).__name__
    v0 = _number(getattr(model, "V_initializer", None), u.mV)
    start_name, th = ("V_th_initializer", _number(getattr(model, "V_th_initializer", None), u.mV)) \
        if hasattr(model, "V_th_initializer") else ("V_th", _number(getattr(model, "V_th", None), u.mV))
    if v0 is None or th is None or v0.dtype.kind != "f":
        return None
    try:
        v0, th = np.broadcast_arrays(v0, th)
    except ValueError:  # shapes that do not meet: not checked
        return None
    above = v0 >= th
    if not np.any(above):
        return None
    first = np.unravel_index(int(np.argmax(above)), above.shape)  # the first neuron that starts above
    rest = _number(getattr(model, "V_rest", None), u.mV)
    target = float(np.min(rest)) if rest is not None and rest.size else float(th[first]) - 10.0
    how = f"--set V_initializer={target:g}mV" if cli else f"V_initializer={target:g} * u.mV"
    which = "" if above.size == 1 else f" ({int(above.sum())} of {above.size} neurons; neuron {first[-1] if above.ndim == 1 else first})"
    return (f"{name}: V starts at {float(v0[first]):g} mV (V_initializer), at or above {start_name} = "
            f"{float(th[first]):g} mV{which}: it spikes in its first step, and again while the reset leaves it "
            f"above. Start it below threshold, e.g. at V_rest: {how}")


def _drive_message(model, current, cli: bool) -> Optional[str]:
    import numpy as np
    import saiunit as u
    name = type(model).__name__
    if not isinstance(current, u.Quantity):  # a plain number has no unit to compare R*I with
        return None
    I = _number(current, u.mA)
    R = _number(getattr(model, "R", None), u.ohm)
    th_name, th = _threshold(model)
    rest = _number(getattr(model, "V_rest", 0. * u.mV), u.mV)
    if I is None or R is None or th is None or rest is None or I.size == 0:
        return None
    peak = float(np.max(np.abs(I)))
    gap = float(np.min(th - rest))
    moved = float(np.max(R)) * peak  # mA * ohm = mV
    if peak == 0 or not gap > 0 or moved >= MEASURABLE * gap:
        return None
    r_text = f"{float(np.max(R)):g} ohm"
    need = gap / float(np.max(R))
    if cli:
        fix = (f"give a current of at least {need:.3g} mA (--current {need:.3g}mA), or for currents in pA set R in "
               f"Mohm (--set R=100Mohm) or use a physiological preset (--preset brette2007; `lapicque presets`)")
    else:
        fix = (f"give a current of at least {need:.3g} mA, or for currents in pA set R in Mohm "
               f"(R=100. * u.Mohm) or use a physiological preset (lapicque.presets.brette2007())")
    return (f"{name}: R*I is at most {moved:.3g} mV (R = {r_text}, I = {peak:.3g} mA): V moves at most that far "
            f"from V_rest, {100 * moved / gap:.2g}% of the {gap:g} mV from V_rest to {th_name}, so the neuron "
            f"cannot fire. R = {r_text} is the reference's default, made for currents in mA: {fix}")
