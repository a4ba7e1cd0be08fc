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
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import saiunit as u

from .cli import CLIError

__all__ = ["parse_quantity", "format_quantity", "model_parameters", "parse_sets", "format_times_at_dt",
           "dt_decimals"]


# --------------------------------------------------------------------------
# quantities
# --------------------------------------------------------------------------
_PREFIXES = {"": 1.0, "f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "m": 1e-3,
             "k": 1e3, "M": 1e6, "G": 1e9}
_BASES = {"s": u.second, "sec": u.second, "A": u.amp, "V": u.volt, "ohm": u.ohm, "Ohm": u.ohm, "Ω": u.ohm,
          "S": u.siemens, "Hz": u.hertz, "F": u.farad}

#: the canonical unit of each kind of quantity, how it is spelled here, and its name
_KINDS = {
    "time": (u.ms, "ms", "a time"),
    "voltage": (u.mV, "mV", "a voltage"),
    "current": (u.mA, "mA", "a current"),
    "resistance": (u.ohm, "ohm", "a resistance"),
    "conductance": (u.siemens, "S", "a conductance"),
    "rate": (u.ms ** -1, "/ms", "a rate (1/time)"),
    "inverse voltage": (u.mV ** -1, "/mV", "an inverse voltage (1/voltage)"),
    "capacitance": (u.pF, "pF", "a capacitance"),
}
_EXAMPLES = {"time": "10ms", "voltage": "-65mV", "current": "500pA", "resistance": "10Mohm",
             "conductance": "2nS", "rate": "0.01/ms", "inverse voltage": "0.07/mV", "capacitance": "200pF"}

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*(.*?)\s*$")


def _kind_of(unit) -> Optional[str]:
    """The kind name of a unit (``None`` for dimensionless)."""
    if unit is None:
        return None
    for kind, (canon, _, _) in _KINDS.items():
        if u.have_same_dim(u.Quantity(1.0, unit=unit), canon):
            return kind
    return str(unit)


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
        ex = f" such as {_EXAMPLES[kind]}" if kind in _EXAMPLES else ""
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
        raise CLIError(f"{what}: {text!r} has no unit; write it with one, e.g. {_EXAMPLES.get(kind, '1mV')}")
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
    canon, _, name = _KINDS[kind]
    if not u.have_same_dim(q, canon):
        got = _kind_of(unit)
        got = _KINDS[got][2] if got in _KINDS else f"in {unit}"
        raise CLIError(f"{what}: expected {name} such as {_EXAMPLES[kind]}; got {text!r}, which is {got}")
    return u.Quantity(float(np.asarray(q.to_decimal(canon), dtype=np.float64)), unit=canon)


def format_quantity(value, kind: Optional[str]) -> str:
    """``-65 mV`` -> ``'-65mV'`` (the command-line spelling, round-trips through :func:`parse_quantity`)."""
    if kind is None or kind == "dimensionless":
        return f"{float(np.asarray(u.get_mantissa(value)).reshape(-1)[0]):g}"
    canon, spelling, _ = _KINDS[kind]
    arr = np.asarray(value.to_decimal(canon), dtype=np.float64).reshape(-1)
    if arr.size == 1:
        return f"{arr[0]:g}{spelling}"
    return f"[{', '.join(f'{x:g}' for x in arr[:4])}{', ...' if arr.size > 4 else ''}]{spelling}"


# --------------------------------------------------------------------------
# models and their parameters
# --------------------------------------------------------------------------
def _models():
    import lapicque
    return lapicque.MODELS


def _model_class(name: str):
    models = _models()
    if name in models:
        return models[name]
    lower = {k.lower(): k for k in models}
    if name.lower() in lower:
        return models[lower[name.lower()]]
    raise CLIError(f"unknown model {name!r}; choose from {', '.join(models)}")


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


def _format_default(info: _ParamInfo) -> str:
    if info.kind in ("choice", "bool"):
        return str(info.default)
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
        else:
            out[name] = parse_quantity(text, info.kind, what=name)
    return out


def _build(cls, n: int, sets: Dict[str, Any]):
    from ._errors import ParameterError
    try:
        return cls(n, **sets)
    except (ParameterError, TypeError, ValueError) as e:
        raise CLIError(str(e).splitlines()[0]) from None


def _positive_time(text, what, allow_zero=False):
    q = parse_quantity(text, "time", what=what)
    v = float(np.asarray(q.mantissa))
    if v < 0 or (v == 0 and not allow_zero):
        raise CLIError(f"{what} must be {'>= 0' if allow_zero else '> 0'}; got {text!r}")
    return q


def _current_arg(text: str, n: int):
    """``'2mA'`` -> a scalar current; ``'1mA:5mA'`` -> n evenly spaced currents."""
    if ":" in text:
        a, _, b = text.partition(":")
        lo = parse_quantity(a, "current", what="--current")
        hi = parse_quantity(b, "current", what="--current")
        if n < 2:
            raise CLIError("--current A:B spreads currents over the neurons; it needs --n 2 or more")
        vals = np.linspace(float(np.asarray(lo.mantissa)), float(np.asarray(hi.mantissa)), n)
        return u.Quantity(vals.astype(np.float32), unit=u.mA)
    return parse_quantity(text, "current", what="--current")


def _steps_check(duration, dt, what="--duration"):
    d = float(np.asarray(duration.mantissa))
    s = float(np.asarray(dt.mantissa))
    n = d / s
    if round(n) < 1:
        raise CLIError(f"{what} ({d:g} ms) is shorter than one time step (--dt {s:g} ms)")
    if abs(n - round(n)) > 1e-6 * max(n, 1):
        raise CLIError(f"{what} ({d:g} ms) must be a whole number of time steps (--dt {s:g} ms)")


# --------------------------------------------------------------------------
# states, parameters in use, times
# --------------------------------------------------------------------------
def model_states(cls) -> List[Tuple[str, str]]:
    """Every state variable of ``cls`` as ``(name, description)``, in declaration order.

    Read from an initialized one-neuron model, so states a model adds beyond
    its declared table (the refractory bookkeeping of ``*Ref`` models) are
    listed too; ``refractory`` exists only with ``ref_var=True``.
    """
    import brainstate

    def states_of(**kw):
        m = cls(1, **kw)
        with brainstate.environ.context(dt=0.1 * u.ms):
            m.init_state()
        return {k[-1] if isinstance(k, tuple) else k: v.value for k, v in m.states().items()}

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
