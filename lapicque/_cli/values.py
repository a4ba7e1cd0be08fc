"""Values on the command line: quantities with units, model parameters, ``--set``, times at dt resolution.

Quantities are written with their unit and no space, e.g. ``500pA``, ``0.1ms``,
``-65mV``, ``10Mohm``, ``2nS``, ``0.07/mV``, ``0.01/ms``, ``10Hz`` (SI prefixes
``f p n u m k M G``, units ``s A V ohm S Hz F``).  Dimensionless parameters
(Gif's ``R1``, ``R2``) take plain numbers.

Examples
--------
>>> format_quantity(parse_quantity("500pA", "current"), "current")
'5e-07mA'
>>> format_times_at_dt([20.700001, 3.0999999], 0.1)
'20.7 ms, 3.1 ms'
"""

from __future__ import annotations

import inspect
import math
import os
import re
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import saiunit as u

from .._core.units import DIMENSIONS as _CORE_DIMENSIONS, Dimension, kind_of
from .common import MAX_STEPS, OTHER_MODELS, CLIError

__all__ = ["parse_quantity", "format_quantity", "model_parameters", "parse_sets", "format_times_at_dt",
           "dt_decimals", "quantity_option", "check_steps", "check_memory", "run_memory", "spike_times_ms",
           "InputSpec", "input_spec", "input_option", "random_initial_values"]

#: the kinds of quantity the command line reads: lapicque's (``_core.units.DIMENSIONS``) and the input of the
#: Izhikevich models (``dV/dt``; their ``d`` and ``u``), which no parameter of an integrate-and-fire model has
DIMENSIONS = dict(_CORE_DIMENSIONS, **{
    "voltage rate": Dimension(u.mV / u.ms, "voltage per time", "10. * u.mV / u.ms", "mV/ms", "10mV/ms"),
})


# --------------------------------------------------------------------------
# quantities
# --------------------------------------------------------------------------
_PREFIXES = {"": 1.0, "f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "m": 1e-3,
             "k": 1e3, "M": 1e6, "G": 1e9}
_BASES = {"s": u.second, "sec": u.second, "A": u.amp, "V": u.volt, "ohm": u.ohm, "Ohm": u.ohm, "Ω": u.ohm,
          "S": u.siemens, "Hz": u.hertz, "F": u.farad}

#: the canonical unit of each kind of quantity, how it is spelled here, and its name
_F32_MAX = float(np.finfo(np.float32).max)
_F32_TINY = float(np.finfo(np.float32).tiny)

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*(.*?)\s*$")


def kind_words() -> Dict[str, str]:
    """How ``lapicque list`` describes each kind of parameter (``'time'``, ``'inverse voltage'`` ...)."""
    words = {k: d.noun for k, d in DIMENSIONS.items()}
    words.update({"dimensionless": "dimensionless number", "choice": "", "bool": ""})
    return words


def _kind_of(unit) -> Optional[str]:
    """The kind name of a unit (``None`` for dimensionless; the unit's own name for a kind not in the table)."""
    if unit is None:
        return None
    found = kind_of(unit) or next((k for k, d in DIMENSIONS.items() if u.have_same_dim(1. * d.unit, 1. * unit)),
                                  None)
    return found or str(unit)


def _parse_unit(text: str) -> Tuple[float, Any]:
    """``'mV'`` -> (1e-3, volt); products, quotients and powers: ``'nA/ms'``, ``'/mV'``, ``'ms^-1'``."""
    expr = text.replace("·", "*").replace("**", "^").strip()
    if expr.startswith("/"):
        expr = "1" + expr
    tokens = re.findall(r"[*/]|[^*/\s]+", expr)
    if not tokens:
        raise ValueError("empty unit")
    scale, unit, op = 1.0, None, "*"
    expect_term = True
    for tok in tokens:
        if tok in "*/":
            if expect_term:
                raise ValueError(f"unexpected {tok!r}")
            op, expect_term = tok, True
            continue
        if not expect_term:
            raise ValueError(f"missing operator before {tok!r}")
        expect_term = False
        name, _, power = tok.partition("^")
        power = int(power) if power else 1
        if name == "1":
            f, b = 1.0, None
        elif name in _BASES:
            f, b = 1.0, _BASES[name]
        elif name[:1] in _PREFIXES and name[1:] in _BASES:
            f, b = _PREFIXES[name[:1]], _BASES[name[1:]]
        else:
            raise ValueError(f"unknown unit {name!r}")
        if op == "/":
            power = -power
        scale *= f ** power
        if b is not None:
            term = b ** power
            unit = term if unit is None else unit * term
    if expect_term:
        raise ValueError("dangling operator")
    return scale, unit


def parse_quantity(text: str, kind: Optional[str] = None, what: str = "value"):
    """Parse ``'500pA'``, ``'-65mV'``, ``'0.07/mV'`` ... into a saiunit quantity.

    Parameters
    ----------
    text : str
        A number followed by a unit (no unit for dimensionless values).
    kind : str, optional
        The expected kind: ``'time'``, ``'voltage'``, ``'current'``,
        ``'resistance'``, ``'conductance'``, ``'rate'``, ``'inverse voltage'``
        or ``'dimensionless'``.  The result is then expressed in the
        canonical unit of that kind (ms, mV, mA, ohm, S, 1/ms, 1/mV) and a
        value of another kind is a :class:`CLIError`.
    what : str
        Name used in error messages.

    Returns
    -------
    Quantity or float

    Examples
    --------
    >>> q = parse_quantity("10Mohm", "resistance")
    >>> q.unit, float(q.mantissa)
    (Unit("ohm"), 10000000.0)
    >>> format_quantity(parse_quantity("0.07/mV", "inverse voltage"), "inverse voltage")
    '0.07/mV'
    >>> parse_quantity("5mV", "time")
    Traceback (most recent call last):
    ...
    lapicque.cli.CLIError: value: expected a time such as 10ms; got '5mV', which is a voltage
    """
    m = _NUMBER.match(str(text))
    if not m:
        if kind == "dimensionless":
            raise CLIError(f"{what}: cannot read {text!r} as a number")
        ex = f" such as {DIMENSIONS[kind].example}" if kind in DIMENSIONS else ""
        raise CLIError(f"{what}: cannot read {text!r} as a number with a unit{ex}")
    value = float(m.group(1))
    unit_text = m.group(2)
    if not math.isfinite(value):
        raise CLIError(f"{what}: {text!r} is not a finite number")
    if kind == "dimensionless":
        if unit_text:
            raise CLIError(f"{what}: expected a plain number; got {text!r}")
        return value
    if not unit_text:
        if kind is None:
            return value
        raise CLIError(f"{what}: {text!r} has no unit; write it with one, e.g. {DIMENSIONS[kind].example if kind in DIMENSIONS else '1mV'}")
    try:
        scale, unit = _parse_unit(unit_text)
    except ValueError as e:
        raise CLIError(f"{what}: cannot read the unit of {text!r} ({e}); use e.g. ms, mV, pA, Mohm, nS, /mV") \
            from None
    if unit is None:
        raise CLIError(f"{what}: {text!r} has no physical unit")
    q = u.Quantity(value * scale, unit=unit)
    if kind is None:
        return q
    dim = DIMENSIONS[kind]
    canon = dim.unit
    if not u.have_same_dim(q, canon):
        got = _kind_of(unit)
        got = DIMENSIONS[got].phrase if got in DIMENSIONS else f"in {unit}"
        raise CLIError(f"{what}: expected {dim.phrase} such as {dim.example}; got {text!r}, which is {got}")
    return u.Quantity(float(np.asarray(q.to_decimal(canon), dtype=np.float64)), unit=canon)


def format_quantity(value, kind: Optional[str]) -> str:
    """``-65 mV`` -> ``'-65mV'`` (the command-line spelling, round-trips through :func:`parse_quantity`)."""
    if kind is None or kind == "dimensionless":
        return f"{float(np.asarray(u.get_mantissa(value)).reshape(-1)[0]):g}"
    canon, spelling = DIMENSIONS[kind].unit, DIMENSIONS[kind].spelling
    arr = np.asarray(value.to_decimal(canon), dtype=np.float64).reshape(-1)
    if arr.size == 1:
        return f"{arr[0]:g}{spelling}"
    return f"[{', '.join(f'{x:g}' for x in arr[:4])}{', ...' if arr.size > 4 else ''}]{spelling}"


# --------------------------------------------------------------------------
# models and their parameters
# --------------------------------------------------------------------------
def models():
    """Every model the command runs, by name: ``lapicque.MODELS``, then :data:`~lapicque._cli.common.OTHER_MODELS`."""
    import lapicque
    return dict(lapicque.MODELS, **{name: getattr(lapicque, name) for name in OTHER_MODELS})


def model_class(name: str):
    """The model class called ``name`` (any letter case), or a :class:`CLIError` listing the models."""
    if not isinstance(name, str):
        raise CLIError(f"the model must be a name such as LIF; got {name!r}")
    available = models()
    if name in available:
        return available[name]
    lower = {k.lower(): k for k in available}
    if name.lower() in lower:
        return available[lower[name.lower()]]
    raise CLIError(f"unknown model {name!r}; choose from {', '.join(available)}")


class _ParamInfo:
    __slots__ = ("name", "default", "kind", "constraint", "role")

    def __init__(self, name, default, kind, constraint, role):
        self.name, self.default, self.kind, self.constraint, self.role = name, default, kind, constraint, role


def model_parameters(cls) -> List[_ParamInfo]:
    """The constructor parameters of ``cls`` that can be set from the command line, in order."""
    sig = inspect.signature(cls.__init__)
    params = getattr(cls, "_PARAMS", {})
    init_unit = {spec.initializer: spec.unit for spec in getattr(cls, "_STATES", {}).values()
                 if isinstance(spec.initializer, str)}
    out = []
    for name, p in sig.parameters.items():
        if name in ("self", "in_size", "name", "spk_fun") or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        default = p.default
        if name in params:
            spec = params[name]
            kind = "dimensionless" if spec.unit is None else _kind_of(spec.unit)
            out.append(_ParamInfo(name, default, kind, spec.constraint, "parameter"))
        elif name in init_unit:
            unit = init_unit[name]
            kind = "dimensionless" if unit is None else _kind_of(unit)
            value = getattr(default, "value", default)
            out.append(_ParamInfo(name, value, kind, None, "initial value"))
        elif name == "spk_reset":
            out.append(_ParamInfo(name, default, "choice", None, "'soft' or 'hard'"))
        elif name == "ref_var":
            out.append(_ParamInfo(name, default, "bool", None, "keep a boolean 'refractory' state"))
    return out


def format_default(info: _ParamInfo) -> str:
    """A parameter's default as the command line writes it (``'10ms'``, ``'soft'``)."""
    if info.kind in ("choice", "bool"):
        return str(info.default)
    if info.role == "initial value" and info.default is None:
        return "unset"
    if info.role == "initial value" and callable(info.default) and type(info.default).__name__ != "Constant":
        return "random"
    try:
        return format_quantity(info.default, info.kind)
    except Exception:  # pragma: no cover - an unusual initializer
        return str(info.default)


def parse_sets(cls, sets: Sequence[str]) -> Dict[str, Any]:
    infos = {p.name: p for p in model_parameters(cls)}
    out = {}
    for item in sets or ():
        name, eq, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not eq or not name or not text:
            raise CLIError(f"--set expects NAME=VALUE (e.g. tau=10ms); got {item!r}")
        if name not in infos:
            raise CLIError(f"{cls.__name__} has no parameter {name!r}; it has: {', '.join(infos)}")
        info = infos[name]
        if info.kind == "choice":
            if text not in ("soft", "hard"):
                raise CLIError(f"{name} must be 'soft' or 'hard'; got {text!r}")
            out[name] = text
        elif info.kind == "bool":
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise CLIError(f"{name} must be true or false; got {text!r}")
            out[name] = text.lower() in ("true", "1", "yes")
        else:  # the model checks its parameters' signs; initial values are checked here for float32
            out[name] = quantity_option(text, info.kind, what=name)
    return out


def build_model(cls, n: int, sets: Dict[str, Any]):
    """``cls(n, **sets)``; the model's own refusal of a parameter becomes a one-line :class:`CLIError`."""
    from .._core.errors import ParameterError
    try:
        return cls(n, **sets)
    except (ParameterError, TypeError, ValueError) as e:
        raise CLIError(str(e).splitlines()[0]) from None


# --------------------------------------------------------------------------
# the input of a model, in its own unit
# --------------------------------------------------------------------------
class InputSpec(NamedTuple):
    """How a model takes its input on the command line (read from its ``input_unit``).

    Examples
    --------
    >>> import lapicque
    >>> input_spec(lapicque.Izhikevich)
    InputSpec(kind='voltage rate', unit='mV/ms', example='10mV/ms')
    >>> input_spec(lapicque.FitzHughNagumo).words
    'as a plain number (it is dimensionless)'
    """

    kind: str     # 'current', 'voltage rate' or 'dimensionless'
    unit: str     # the model's input unit as the command line writes it: 'mA', 'uA', 'mV/ms', '' (plain)
    example: str  # a value to show: '10uA'

    @property
    def canonical(self):
        """The unit of the parsed values (mA, mV/ms; ``None``: plain numbers)."""
        return None if self.kind == "dimensionless" else DIMENSIONS[self.kind].unit

    @property
    def words(self) -> str:
        """'in uA (a current)', 'as a plain number (it is dimensionless)'."""
        if self.kind == "dimensionless":
            return "as a plain number (it is dimensionless)"
        return f"in {self.unit} ({DIMENSIONS[self.kind].phrase})"

    def quantity(self, values):
        """Values in :attr:`canonical` as what :func:`lapicque.simulate` takes (a Quantity, or plain float32)."""
        arr = np.asarray(values, dtype=np.float32)
        return arr if self.canonical is None else u.Quantity(arr, unit=self.canonical)

    def to_model_unit(self, values) -> np.ndarray:
        """Values in :attr:`canonical` written in the model's own unit (mA -> uA for HH)."""
        arr = np.asarray(values, dtype=np.float64)
        if self.canonical is None:
            return arr
        scale, base = _parse_unit(self.unit)
        return np.asarray(u.Quantity(arr, unit=self.canonical).to_decimal(base), dtype=np.float64) / scale


#: the value shown for an input, by its unit
_INPUT_EXAMPLES = {"mA": "2mA", "uA": "10uA", "mV/ms": "10mV/ms", "": "0.5"}


def input_spec(model) -> InputSpec:
    """The :class:`InputSpec` of a model (an instance, or a class: read from a one-neuron instance)."""
    if isinstance(model, type):
        model = model(1)
    unit = getattr(model, "input_unit", u.mA)
    if unit is None:
        return InputSpec("dimensionless", "", _INPUT_EXAMPLES[""])
    kind, text = _kind_of(unit), str(unit).replace(" ", "")
    if kind not in DIMENSIONS:  # pragma: no cover - a model with an input the command line has no words for
        raise CLIError(f"{type(model).__name__} takes its input in {unit}, which the command line cannot read")
    return InputSpec(kind, text, _INPUT_EXAMPLES.get(text, f"1{text}"))


def _dimension_of_text(text: str) -> Optional[str]:
    """The kind of quantity ``text`` is (``'dimensionless'`` without a unit); ``None`` where it cannot be read."""
    m = _NUMBER.match(str(text))
    if not m:
        return None
    if not m.group(2):
        return "dimensionless"
    try:
        _, unit = _parse_unit(m.group(2))
    except ValueError:
        return None
    return "dimensionless" if unit is None else _kind_of(unit)


def input_option(text, spec: InputSpec, what: str, model: str, sign: Optional[str] = None):
    """An input option (``--current``, ``--offset``, ``--sigma``, ``--from``, ``--to``) in the model's unit.

    A value of another dimension is refused naming the unit the model takes,
    e.g. ``--current 10mA`` for Izhikevich (whose input is ``dV/dt``, mV/ms).
    The integrate-and-fire models (input in mA) keep :func:`quantity_option`'s messages.

    Examples
    --------
    >>> spec = InputSpec("voltage rate", "mV/ms", "10mV/ms")
    >>> input_option("10mA", spec, "--current", "Izhikevich")
    Traceback (most recent call last):
    ...
    lapicque.cli.CLIError: --current: Izhikevich takes its input in mV/ms (a voltage per time), e.g. ...
    """
    got = _dimension_of_text(text)
    if spec.unit != "mA" and got is not None and got != spec.kind:
        said = {"dimensionless": "a plain number"}.get(got) or (
            f"which is {DIMENSIONS[got].phrase}" if got in DIMENSIONS else f"which is in {got}")
        raise CLIError(f"{what}: {model} takes its input {spec.words}, e.g. {what} {spec.example}; "
                       f"got {text!r}, {said}")
    return quantity_option(text, spec.kind, what, sign)


def random_initial_values(model) -> Dict[str, str]:
    """The initial values of ``model`` drawn at random (name -> the distribution), e.g. HH's ``V_initializer``."""
    import braintools
    out = {}
    for info in model_parameters(type(model)):
        value = getattr(model, info.name, None) if info.role == "initial value" else None
        if isinstance(value, braintools.init.Initialization) and not isinstance(value, braintools.init.Constant):
            out[info.name] = str(value)
    return out


def quantity_option(text, kind: str, what: str, sign: Optional[str] = None):
    """Parse the value of option ``what`` and check its sign and its float32 range.

    The simulation runs in float32, so a value is accepted when its magnitude
    (in the canonical unit of ``kind``: ms, mA, 1/ms ...) is at most the
    largest float32 (3.4e38) and, for a value that must be positive, at
    least the smallest normal float32 (1.2e-38): a time step of ``1e-300ms``
    would be 0 in the simulation and ``1e39ms`` infinite.

    Parameters
    ----------
    text : str
        The option's value, e.g. ``'0.1ms'``.
    kind : str
        Its kind (see :func:`parse_quantity`).
    what : str
        The option, for the error message (``'--dt'``).
    sign : {None, 'positive', 'nonnegative'}
        ``'positive'``: > 0; ``'nonnegative'``: >= 0; ``None``: any sign.

    Returns
    -------
    Quantity or float
        In the canonical unit of ``kind`` (a float for ``'dimensionless'``).

    Examples
    --------
    >>> float(quantity_option("0.1ms", "time", "--dt", "positive").mantissa)
    0.1
    >>> quantity_option("1e-300ms", "time", "--dt", "positive")
    Traceback (most recent call last):
    ...
    lapicque.cli.CLIError: --dt must be at least 1.18e-38 ms (the smallest normal float32; ...); got '1e-300ms'
    >>> quantity_option("-5Hz", "rate", "--freq", "positive")
    Traceback (most recent call last):
    ...
    lapicque.cli.CLIError: --freq must be > 0; got '-5Hz'
    """
    q = parse_quantity(text, kind, what=what)
    v = float(q) if kind == "dimensionless" else float(np.asarray(q.mantissa))
    unit = " " + DIMENSIONS[kind].spelling if kind in DIMENSIONS else ""
    if sign == "positive" and not v > 0:
        raise CLIError(f"{what} must be > 0; got {text!r}")
    if sign == "nonnegative" and not v >= 0:
        raise CLIError(f"{what} must be >= 0; got {text!r}")
    if abs(v) > _F32_MAX:
        raise CLIError(f"{what} must be at most {_F32_MAX:.3g}{unit} in magnitude (the largest float32; "
                       f"the simulation runs in float32); got {text!r}")
    if sign is not None and 0 < v < _F32_TINY:
        raise CLIError(f"{what} must be {'' if sign == 'positive' else '0 or '}at least {_F32_TINY:.3g}{unit} "
                       f"(the smallest normal float32; the simulation runs in float32); got {text!r}")
    return q


def check_steps(duration, dt, what: str = "--duration") -> int:
    """The number of steps of a run of ``duration`` at ``dt``: whole, at least 1 and at most :data:`MAX_STEPS`.

    Examples
    --------
    >>> check_steps(200 * u.ms, 0.1 * u.ms)
    2000
    >>> check_steps(1e12 * u.ms, 0.1 * u.ms)
    Traceback (most recent call last):
    ...
    lapicque.cli.CLIError: --duration 1e+12 ms at --dt 0.1 ms is 1e+13 steps; a run has at most 2147483647 steps ...
    """
    d = float(np.asarray(duration.to_decimal(u.ms)))
    s = float(np.asarray(dt.to_decimal(u.ms)))
    n = d / s
    if not n < MAX_STEPS + 0.5:
        raise CLIError(f"{what} {d:g} ms at --dt {s:g} ms is {n:.3g} steps; a run has at most {MAX_STEPS} steps "
                       f"(2**31 - 1): shorten {what} or lengthen --dt")
    if round(n) < 1:
        raise CLIError(f"{what} ({d:g} ms) is shorter than one time step (--dt {s:g} ms)")
    if abs(n - round(n)) > 1e-6 * max(n, 1):
        raise CLIError(f"{what} ({d:g} ms) must be a whole number of time steps (--dt {s:g} ms)")
    return int(round(n))


def _physical_memory() -> Optional[int]:
    """Bytes of memory of this machine (``None`` where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not a POSIX system
        return None


def _bytes_text(b: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b / 1e3:.3g} kB"


def run_memory(n: int, n_steps: int, n_traces: int = 0, record_every: int = 1, noise: bool = False):
    """What a ``lapicque run`` holds in memory, in bytes, by part (lower bounds).

    * the spike record: 1 bit per neuron and step, ``n_steps * ceil(n / 8)``;
    * recorded traces: 4 bytes per state, neuron and kept sample;
    * an Ornstein-Uhlenbeck input: the process and its normal draws in
      float64 and the current in float32, 28 bytes per neuron and step.

    Examples
    --------
    >>> run_memory(1000, 10 ** 6)
    {'the spike record (1 bit per neuron and step)': 125000000}
    """
    parts = {"the spike record (1 bit per neuron and step)": n_steps * -(-n // 8)}
    if n_traces:
        parts[f"{n_traces} recorded trace(s)"] = 4 * n_traces * (n_steps // record_every) * n
    if noise:
        parts["the noise input (--input ou)"] = 28 * n_steps * n
    return parts


def check_memory(parts: Dict[str, int], what: str, hint: str, available: Optional[int] = None) -> None:
    """Refuse, with the figures, a run that needs more memory than this machine has.

    Parameters
    ----------
    parts : dict
        ``what -> bytes`` (see :func:`run_memory`).
    what : str
        The run, as the message starts, e.g. ``'--n 1000 over 2000 steps'``.
    hint : str
        What to change, e.g. ``'use fewer --n'``.
    available : int, optional
        Bytes available (default: the machine's physical memory).

    Examples
    --------
    >>> check_memory({"the spike record": 4 * 10 ** 12}, "this run", "use fewer --n", available=16 * 10 ** 9)
    Traceback (most recent call last):
    ...
    lapicque.cli.CLIError: this run needs at least 4 TB of memory (the spike record: 4 TB); this machine has 16 GB: ...
    """
    available = _physical_memory() if available is None else available
    total = sum(parts.values())
    if available is None or total <= available:
        return
    detail = ", ".join(f"{k}: {_bytes_text(v)}" for k, v in parts.items() if v)
    raise CLIError(f"{what} needs at least {_bytes_text(total)} of memory ({detail}); "
                   f"this machine has {_bytes_text(available)}: {hint}")


def current_arg(text: str, n: int, spec: Optional[InputSpec] = None, model: str = "the model"):
    """``'2mA'`` -> a scalar input; ``'1mA:5mA'`` -> n evenly spaced ones (float64, in ``spec.canonical``)."""
    spec = spec or InputSpec("current", "mA", "2mA")
    if ":" in text:
        a, _, b = text.partition(":")
        lo = input_option(a, spec, "--current", model)
        hi = input_option(b, spec, "--current", model)
        if n < 2:
            raise CLIError("--current A:B spreads currents over the neurons; it needs --n 2 or more")
        return np.linspace(float(np.asarray(u.get_mantissa(lo))), float(np.asarray(u.get_mantissa(hi))), n)
    return np.asarray(float(np.asarray(u.get_mantissa(input_option(text, spec, "--current", model)))))


# --------------------------------------------------------------------------
# states, parameters in use, times
# --------------------------------------------------------------------------
def model_states(cls) -> List[Tuple[str, str]]:
    """Every state variable of ``cls`` as ``(name, description)``, in declaration order.

    Read from an initialized one-neuron model, so states a model adds beyond
    its declared table (the refractory bookkeeping of ``*Ref`` models) are
    listed too; ``refractory`` exists only with ``ref_var=True``.  Only
    states with one value per neuron are listed (what ``--record`` can
    record); a state of the whole group (a scalar flag) is not.
    """
    import brainstate

    def states_of(**kw):
        m = cls(1, **kw)
        with brainstate.environ.context(dt=0.1 * u.ms):
            m.init_state()
        return {k[-1] if isinstance(k, tuple) else k: v.value for k, v in m.states().items()
                if np.shape(u.get_mantissa(v.value)) == (1,)}

    plain = states_of()
    extra = states_of(ref_var=True) if "ref_var" in inspect.signature(cls.__init__).parameters else {}
    declared = list(getattr(cls, "_STATES", {}))
    names = [n for n in declared if n in plain] + [n for n in plain if n not in declared]
    names += [n for n in extra if n not in plain]
    out = []
    for n in names:
        v = plain.get(n, extra.get(n))
        if isinstance(v, u.Quantity) and not u.get_unit(v).is_unitless:
            what = str(u.get_unit(v))
        else:
            dtype = np.asarray(u.get_mantissa(v)).dtype
            what = "bool" if dtype == bool else ("integer" if dtype.kind in "iu" else "dimensionless")
        if n == "ref_steps_left":
            what = "integer, steps of refractoriness left"
        if n not in plain:
            what += ", with ref_var=True"
        out.append((n, what))
    return out


def used_parameters(model) -> Dict[str, str]:
    """Every parameter of a built model, as the command line writes it (defaults included)."""
    cls = type(model)
    out = {}
    for info in model_parameters(cls):
        if info.role == "initial value":
            continue
        value = getattr(model, info.name, info.default)
        value = getattr(value, "value", value)  # a trainable parameter
        out[info.name] = value if info.kind in ("choice", "bool") else format_quantity(value, info.kind)
    return out


def dt_decimals(dt_ms: float) -> int:
    """Decimals that write every multiple of ``dt_ms`` exactly (0.1 -> 1, 0.025 -> 3)."""
    for d in range(0, 10):
        if abs(round(dt_ms, d) - dt_ms) <= 1e-9 * max(abs(dt_ms), 1e-12):
            return d
    return 9


def round_to_dt(times_ms, dt_ms: float) -> np.ndarray:
    """Spike times on the dt grid (float64), free of float32 noise such as 20.700001."""
    t = np.asarray(times_ms, dtype=np.float64)
    return np.round(np.round(t / dt_ms) * dt_ms, dt_decimals(dt_ms))


def format_times_at_dt(times_ms, dt_ms: float, unit: str = " ms") -> str:
    """``[20.700001, 3.0999999]`` at dt = 0.1 -> ``'20.7 ms, 3.1 ms'``."""
    d = dt_decimals(dt_ms)
    return ", ".join(f"{t:.{d}f}{unit}" for t in round_to_dt(times_ms, dt_ms))


def spike_times_ms(res, neuron: Optional[int] = None, first: Optional[int] = None):
    """Exact spike times (float64 ms on the dt grid) of one neuron, or of every neuron.

    Parameters
    ----------
    res : SimulationResult
        A run with ``spikes='dense'``.
    neuron : int, optional
        Flat index of one neuron: only its spikes are selected and converted
        (the work is one comparison per spike of the run).  ``None``: every
        neuron's, as a list over the flattened shape.
    first : int, optional
        With ``neuron``: only its first ``first`` spikes.

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
        The spike of step ``i`` is at ``t0 + (i + 1) dt``.

    Examples
    --------
    >>> import lapicque
    >>> res = lapicque.simulate(lapicque.LIF(2), [2.0, 1.5] * u.mA, 20 * u.ms)
    >>> spike_times_ms(res, 1, first=2)
    array([ 5.5, 11. ])
    >>> [t.size for t in spike_times_ms(res)]
    [5, 3]
    """
    steps, neurons = res.spike_steps
    dt_ms = float(np.asarray(res.dt.to_decimal(u.ms)))
    t0_ms = float(np.asarray(res.t0.to_decimal(u.ms)))

    def times(s):
        return round_to_dt(t0_ms + (np.asarray(s, dtype=np.float64) + 1.0) * dt_ms, dt_ms)

    if neuron is not None:
        return times(steps[neurons == neuron][:first])
    order = np.argsort(neurons, kind="stable")
    return np.split(times(steps[order]), np.cumsum(res.spike_count.reshape(-1))[:-1])
