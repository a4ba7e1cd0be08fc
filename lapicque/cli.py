"""The ``lapicque`` command: list the models, run one, draw an f-I curve, build the demo report.

Usage::

    lapicque list [MODEL]
    lapicque run MODEL [--set NAME=VALUE ...] --current 500pA [--duration 200ms] [--dt 0.1ms]
                 [--n 1] [--plot FILE.png] [--json FILE]
    lapicque fi MODEL --from 0mA --to 10mA [--steps 21] [--duration 1000ms] [--dt 0.1ms]
                [--transient 0ms] [--set NAME=VALUE ...] [--plot FILE.png] [--json FILE]
    lapicque demo [--out DIR] [--quick]

Quantities are written with their unit and no space, e.g. ``500pA``, ``0.1ms``,
``-65mV``, ``10Mohm``, ``2nS``, ``0.07/mV``, ``0.01/ms`` (SI prefixes
``f p n u m k M G``, units ``s A V ohm S Hz``).  Dimensionless parameters
(Gif's ``R1``, ``R2``) take plain numbers.  ``--current A:B`` with ``--n N``
spreads the currents evenly over the ``N`` neurons.

Bad arguments (unknown model or parameter, a value with the wrong unit, a
non-positive duration, ...) print one line ``lapicque: error: ...`` and exit
with status 2.  The same program runs as ``python -m lapicque.cli``.

Examples
--------
>>> from lapicque.cli import format_quantity, parse_quantity
>>> format_quantity(parse_quantity("500pA", "current"), "current")
'5e-07mA'
>>> main(["run", "LIF", "--set", "tau=10ms", "--current", "2mA", "--duration", "20ms"])
LIF: 1 neuron, current 2mA, 20ms at dt = 0.1ms
spikes: 2
rate: 100 Hz
first spike times (neuron 0): 7.0 ms, 13.9 ms
0
"""

from __future__ import annotations

import argparse
import html
import inspect
import json
import math
import os
import re
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import saiunit as u

__all__ = ["main", "parse_quantity", "CLIError"]


class CLIError(Exception):
    """A user error on the command line (printed as one line, exit status 2)."""


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
    init_unit = {spec.initializer: spec.unit for spec in getattr(cls, "_STATES", {}).values()}
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


def _parse_sets(cls, sets: Sequence[str]) -> Dict[str, Any]:
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
# sub-commands
# --------------------------------------------------------------------------
def cmd_list(args) -> int:
    models = _models()
    names = [_model_class(args.model).__name__] if args.model else list(models)
    kind_words = {k: v[2].split(" ", 1)[1] for k, v in _KINDS.items()}
    kind_words.update({"dimensionless": "dimensionless number", "choice": "", "bool": ""})
    if not args.model:
        print(f"{len(names)} models. Defaults are shown as the command line writes them; "
              f"change them with `lapicque run MODEL --set NAME=VALUE`.\n")
    for name in names:
        cls = models[name]
        doc = (inspect.getdoc(cls) or "").splitlines()
        print(f"{name} -- {doc[0] if doc else ''}")
        for info in model_parameters(cls):
            desc = kind_words.get(info.kind, info.kind)
            if info.role == "initial value":
                desc = f"initial value ({desc})"
            elif info.kind in ("choice", "bool"):
                desc = info.role
            if info.constraint == "positive":
                desc += ", > 0"
            elif info.constraint == "nonnegative":
                desc += ", >= 0"
            print(f"    {info.name:<17} {_format_default(info):<10} {desc}")
        states = list(getattr(cls, "_STATES", {}))
        print(f"    states: {', '.join(states)}\n")
    return 0


def _record_names(cls) -> Tuple[str, ...]:
    return tuple(getattr(cls, "_STATES", {}) or ("V",))


def cmd_run(args) -> int:
    from . import plot as lplot
    from ._simulate import simulate

    cls = _model_class(args.model)
    if args.n < 1:
        raise CLIError(f"--n must be >= 1; got {args.n}")
    sets = _parse_sets(cls, args.set)
    current = _current_arg(args.current, args.n)
    duration = _positive_time(args.duration, "--duration")
    dt = _positive_time(args.dt, "--dt")
    _steps_check(duration, dt)
    model = _build(cls, args.n, sets)
    record = _record_names(cls) if args.plot else ()
    res = simulate(model, current, duration, dt, record=record, progress=None if args.progress else False)

    counts = res.spike_count.reshape(-1)
    rates = np.asarray(res.rate.to_decimal(u.Hz)).reshape(-1)
    times = res.spike_times
    n_word = "neuron" if args.n == 1 else "neurons"
    print(f"{cls.__name__}: {args.n} {n_word}, current {args.current}, {format_quantity(duration, 'time')} "
          f"at dt = {format_quantity(dt, 'time')}")
    if args.n == 1:
        print(f"spikes: {int(counts[0])}")
        print(f"rate: {rates[0]:.4g} Hz")
    else:
        print(f"spikes: {int(counts.sum())} in total, {counts.min()}..{counts.max()} per neuron")
        print(f"rate: {rates.mean():.4g} Hz mean ({rates.min():.4g}..{rates.max():.4g} Hz)")
    first = np.asarray(times[0].to_decimal(u.ms))[:10]
    shown = ", ".join(f"{t:.1f} ms" for t in first) if first.size else "none"
    more = f", ... ({int(counts[0])} in all)" if counts[0] > first.size else ""
    print(f"first spike times (neuron 0): {shown}{more}")

    if args.plot:
        title = f"{cls.__name__}, I = {args.current}"
        if args.n == 1:
            fig = lplot.traces(res, title=title)
        else:
            fig, axes = lplot.figure(2, ncols=1, panel_size=(7.5, 2.8), title=title)
            lplot.raster(res, ax=axes[0], title=f"{args.n} neurons")
            last = args.n - 1  # the strongest input when currents are spread A:B
            lplot.voltage(res, last, ax=axes[1], title=f"neuron {last}")
        lplot.save(fig, args.plot)
        print(f"wrote {args.plot}")
    if args.json:
        summary = {
            "model": cls.__name__,
            "parameters": {k: (v if isinstance(v, (str, bool)) else format_quantity(
                v, {p.name: p.kind for p in model_parameters(cls)}[k])) for k, v in sets.items()},
            "n": args.n,
            "current": args.current,
            "duration_ms": float(np.asarray(duration.mantissa)),
            "dt_ms": float(np.asarray(dt.mantissa)),
            "spike_count": int(counts.sum()),
            "spike_counts": [int(c) for c in counts],
            "rate_Hz": float(rates.mean()),
            "rates_Hz": [float(r) for r in rates],
            "spike_times_ms": [[round(float(t), 6) for t in np.asarray(x.to_decimal(u.ms))] for x in times],
        }
        _write_json(args.json, summary)
        print(f"wrote {args.json}")
    return 0


def _write_json(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


def cmd_fi(args) -> int:
    from . import plot as lplot
    from .analysis import fi_curve

    cls = _model_class(args.model)
    sets = _parse_sets(cls, args.set)
    lo = parse_quantity(args.from_, "current", what="--from")
    hi = parse_quantity(args.to, "current", what="--to")
    if args.steps < 1:
        raise CLIError(f"--steps must be >= 1; got {args.steps}")
    duration = _positive_time(args.duration, "--duration")
    dt = _positive_time(args.dt, "--dt")
    transient = _positive_time(args.transient, "--transient", allow_zero=True)
    _steps_check(duration, dt)
    if float(np.asarray(transient.mantissa)) >= float(np.asarray(duration.mantissa)):
        raise CLIError("--transient must be shorter than --duration")
    currents = u.Quantity(np.linspace(float(np.asarray(lo.mantissa)), float(np.asarray(hi.mantissa)),
                                      args.steps).astype(np.float32), unit=u.mA)
    model = _build(cls, args.steps, sets)
    rates = fi_curve(model, currents, duration, dt, transient=transient if args.transient else None,
                     progress=None if args.progress else False)
    I = np.asarray(currents.mantissa)
    r = np.asarray(rates.to_decimal(u.Hz))
    print(f"{cls.__name__}: f-I curve, {args.steps} currents from {args.from_} to {args.to}, "
          f"{format_quantity(duration, 'time')} each at dt = {format_quantity(dt, 'time')}")
    print(f"{'current (mA)':>14}  {'rate (Hz)':>10}")
    for i, ri in zip(I, r):
        print(f"{i:14.6g}  {ri:10.4g}")
    firing = np.nonzero(r > 0)[0]
    if firing.size:
        print(f"fires from {I[firing[0]]:.6g} mA on; {r.max():.4g} Hz at most")
    else:
        print("no spikes in this range of currents")
    if args.plot:
        ax = lplot.fi_curve(currents, rates, title=f"{cls.__name__} f-I curve", label=cls.__name__)
        lplot.save(ax.figure, args.plot)
        print(f"wrote {args.plot}")
    if args.json:
        _write_json(args.json, {"model": cls.__name__, "duration_ms": float(np.asarray(duration.mantissa)),
                                "dt_ms": float(np.asarray(dt.mantissa)), "currents_mA": [float(x) for x in I],
                                "rates_Hz": [float(x) for x in r]})
        print(f"wrote {args.json}")
    return 0


def cmd_demo(args) -> int:
    t_start = time.time()
    files = run_demo(args.out, quick=args.quick, log=print)
    print(f"wrote {len(files)} files to {os.path.abspath(args.out)} in {time.time() - t_start:.0f} s; "
          f"open {os.path.join(os.path.abspath(args.out), 'index.html')}")
    return 0



# --------------------------------------------------------------------------
# the demo report
# --------------------------------------------------------------------------
#: per model: (largest current of the f-I curve, current of the trace figure), in mA, for the defaults
DEMO_CURRENTS = {
    "IF": (5., 1.3), "LIF": (5., 1.3), "LIFRef": (10., 1.5), "ALIF": (5., 2.),
    "ExpIF": (20., 6.), "ExpIFRef": (20., 6.), "AdExIF": (50., 30.), "AdExIFRef": (50., 30.),
    "QuaIF": (30., 12.), "AdQuaIF": (50., 40.), "AdQuaIFRef": (50., 40.),
    "Gif": (5., 2.), "GifRef": (5., 2.),
}

#: trace variables that are not shown (bookkeeping states)
_HIDDEN = ("last_spike_time", "ref_steps_left", "refractory")


def _demo_model(name, quick, log):
    """One run per model: an f-I population (constant currents) plus one neuron with a current step."""
    from . import plot as lplot
    from .analysis import firing_rate
    from ._simulate import simulate

    models = _models()
    cls = models[name]
    i_max, i_trace = DEMO_CURRENTS.get(name, (10., 5.))
    n_fi = 16 if quick else 41
    duration = (300. if quick else 1000.) * u.ms
    transient = (50. if quick else 200.) * u.ms
    t_on, t_show = 20., (150. if quick else 250.)
    currents = np.linspace(0., i_max, n_fi).astype(np.float32)
    n = n_fi + 1
    model = cls(n)
    base = np.concatenate([currents, [0.]]).astype(np.float32)
    step = np.zeros(n, np.float32)
    step[-1] = i_trace

    def current(t):
        on = (t >= t_on * u.ms).astype(np.float32)
        return u.Quantity(base + step * on, unit=u.mA)

    record = tuple(s for s in getattr(cls, "_STATES", {"V": None}))
    res = simulate(model, current, duration, 0.1 * u.ms, record=record, progress=False)
    rates = firing_rate(res, start=transient, method="isi")
    fi_I = u.Quantity(currents, unit=u.mA)
    fi_r = rates[:n_fi]
    log(f"  {name:<11} f-I: {float(np.asarray(fi_r.to_decimal(u.Hz)).max()):6.1f} Hz at {i_max:g} mA; "
        f"trace neuron: {int(res.spike_count[-1])} spikes")

    shown = []
    for r in record:  # leave out bookkeeping states and variables that stay constant (e.g. Gif's I1, I2)
        vals = np.asarray(u.get_mantissa(res.traces[r])).reshape(len(res.trace_times), -1)[:, -1]
        if r not in _HIDDEN and (r == "V" or np.ptp(vals) > 0):
            shown.append(r)
    fig = lplot.traces(res, neuron=n - 1, names=shown,
                       title=f"{name}: {i_trace:g} mA step at {t_on:g} ms (default parameters)",
                       panel_size=(7.5, 2.5))
    for ax in fig.axes:
        ax.set_xlim(0, t_show)
    return fi_I, fi_r, fig, res


def _demo_population(quick):
    """1000 heterogeneous LIFRef neurons: sorted bias currents, a common 8 Hz drive and private noise."""
    import brainstate
    import braintools
    import jax
    import jax.numpy as jnp

    from . import plot as lplot
    from .analysis import firing_rate, isi_cv, population_rate
    from ._simulate import simulate

    models = _models()
    n = 1000
    rng = np.random.default_rng(7)
    tau = rng.uniform(10., 30., n).astype(np.float32)
    V_th = rng.normal(-50., 1.5, n).astype(np.float32)
    bias = np.sort(rng.uniform(10., 22., n)).astype(np.float32)
    model = models["LIFRef"](n, R=1. * u.ohm, tau=tau * u.ms, tau_ref=2. * u.ms, V_th=V_th * u.mV,
                             V_reset=-70. * u.mV, V_rest=-65. * u.mV,
                             V_initializer=braintools.init.Uniform(-70. * u.mV, -50. * u.mV))
    key = jax.random.PRNGKey(0)
    dt_ms = 0.1
    sigma = 40.0  # mA, white-noise amplitude per step (scaled by sqrt(dt) below)

    def current(t):
        i = brainstate.environ.get("i")
        noise = jax.random.normal(jax.random.fold_in(key, i), (n,)) * sigma * jnp.sqrt(dt_ms)
        drive = 4.0 * jnp.sin(2 * jnp.pi * 8.0 * t.to_decimal(u.second))
        return u.Quantity(bias + drive + noise, unit=u.mA)

    duration = (400. if quick else 1000.) * u.ms
    res = simulate(model, current, duration, dt_ms * u.ms, progress=False)
    rate = population_rate(res, window=5. * u.ms)
    fig, axes = lplot.figure(2, ncols=1, panel_size=(9.0, 2.6), height_ratios=(2.2, 1.0), sharex=True)
    lplot.raster(res, ax=axes[0], title=f"{n} heterogeneous LIFRef neurons (sorted by bias current)")
    axes[0].set_xlabel("")
    t = np.asarray(res.times.to_decimal(u.ms))
    axes[1].plot(t, np.asarray(rate.to_decimal(u.Hz)), color=lplot.COLORS[3], lw=1.0)
    axes[1].set_ylim(bottom=0)
    axes[1].set_xlabel("time (ms)")
    axes[1].set_ylabel("population rate (Hz)")
    axes[1].set_title("population rate (5 ms box filter)")
    axes[1].grid(True, alpha=0.3)
    r = np.asarray(firing_rate(res).to_decimal(u.Hz))
    cv = isi_cv(res)
    cv_text = f"median ISI CV {np.median(cv[np.isfinite(cv)]):.2f}" if np.isfinite(cv).any() else "no ISI CV"
    stats = f"{n} neurons, mean rate {r.mean():.1f} Hz (range {r.min():.1f}-{r.max():.1f} Hz), {cv_text}"
    return fig, stats


def run_demo(out: str, quick: bool = False, log=print) -> List[str]:
    """Build the demo report in ``out``: PNG figures and an ``index.html``; return the written paths."""
    from . import __version__, patterns
    from . import plot as lplot

    os.makedirs(out, exist_ok=True)
    models = _models()
    dpi = 80 if quick else 120
    written: List[str] = []
    captions: List[Tuple[str, str, str]] = []   # (section, file, caption)
    log(f"lapicque demo{' (quick)' if quick else ''}: simulating {len(models)} models ...")
    fi_fig, fi_axes = lplot.figure(len(models), ncols=4, panel_size=(4.0, 3.0),
                                   title="f-I curves of the 13 models (default parameters)")
    trace_files = []
    for k, name in enumerate(models):
        fi_I, fi_r, fig, _ = _demo_model(name, quick, log)
        lplot.fi_curve(fi_I, fi_r, ax=fi_axes[k], title=name, color=lplot.COLORS[k % len(lplot.COLORS)])
        fname = f"trace_{name}.png"
        written.append(lplot.save(fig, os.path.join(out, fname), dpi=dpi))
        i_max, i_trace = DEMO_CURRENTS.get(name, (10., 5.))
        adapt = [a.get_ylabel() for a in fig.axes[1:]]
        extra = f"; lower panel{'s' if len(adapt) > 1 else ''}: {', '.join(adapt)}" if adapt else ""
        trace_files.append((fname, f"{name}: membrane potential for a {i_trace:g} mA step at 20 ms "
                                   f"(spikes drawn as strokes, threshold dashed){extra}."))
    written.append(lplot.save(fi_fig, os.path.join(out, "fi_curves.png"), dpi=dpi))
    dur = "300 ms" if quick else "1 s"
    captions.append(("f-I curves", "fi_curves.png",
                     f"Firing rate against constant input current for all 13 models with their default "
                     f"parameters: one vectorized run per model ({dur}, dt = 0.1 ms), rate = inverse mean "
                     f"inter-spike interval after a {'50' if quick else '200'} ms transient."))
    for fname, cap in trace_files:
        captions.append(("Voltage traces", fname, cap))
    log("  population raster ...")
    fig, stats = _demo_population(quick)
    written.append(lplot.save(fig, os.path.join(out, "raster.png"), dpi=dpi))
    captions.append(("Population", "raster.png",
                     f"Raster of a heterogeneous population: membrane time constants 10-30 ms, thresholds "
                     f"-50 mV +- 1.5 mV, bias currents 10-22 mA (neurons sorted by bias), a shared 8 Hz "
                     f"drive and private white noise. {stats}."))
    tables = {}
    for kind, title, source in (
            ("adex", "AdEx firing patterns", "Naud et al. (2008), AdExIF, hard reset"),
            ("gif", "Generalized IF behaviours", "Mihalas & Niebur (2009) panels A-T, Gif, hard reset")):
        log(f"  {title.lower()} ...")
        results = patterns.run_all(kind, precision="auto")
        fname = f"patterns_{kind}.png"
        written.append(str(patterns.gallery(kind, os.path.join(out, fname), results=results, dpi=dpi)))
        rows = patterns.summary(results)
        n_ok = sum(bool(r["passed"]) for r in rows)
        captions.append((title, fname,
                         f"{source}: membrane potential (threshold dashed where dynamic) over the input "
                         f"current of each published protocol; a check mark where the objective classifier "
                         f"confirms the named behaviour ({n_ok} of {len(rows)})."))
        tables[title] = rows
    written.append(_write_index(out, captions, quick, __version__, tables))
    return written


_TABLE_COLUMNS = (("key", "key"), ("name", "behaviour"), ("dt_ms", "dt (ms)"), ("precision", "float bits"),
                  ("n_spikes", "spikes"), ("first_spike_ms", "first spike (ms)"), ("label", "classified as"),
                  ("passed", "confirmed"), ("criterion", "criterion"))


def _table_html(rows) -> str:
    def cell(key, value):
        if key == "passed":
            return "&#10004;" if value else "&#10008;"
        if isinstance(value, float):
            return "" if not np.isfinite(value) else f"{value:.2f}"
        return html.escape(str(value))
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in _TABLE_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{cell(k, r.get(k, ''))}</td>" for k, _ in _TABLE_COLUMNS) + "</tr>"
                   for r in rows)
    return f'<table class="pat"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _write_index(out, captions, quick, version, tables=None) -> str:
    sections: Dict[str, List[Tuple[str, str]]] = {}
    for sec, fname, cap in captions:
        sections.setdefault(sec, []).append((fname, cap))
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>lapicque {html.escape(version)} demo</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
        "figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}figcaption{color:#444;font-size:.95em;"
        "margin-top:.4em}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:1em}"
        "code{background:#f4f4f4;padding:0 .2em}table.pat{border-collapse:collapse;font-size:.9em}"
        "table.pat td,table.pat th{border:1px solid #ddd;padding:.2em .5em;text-align:left}</style></head><body>",
        f"<h1>lapicque {html.escape(version)}: integrate-and-fire models</h1>",
        "<p>Generated by <code>lapicque demo" + (" --quick" if quick else "") + "</code> on "
        + html.escape(time.strftime("%Y-%m-%d %H:%M")) + ". All runs use <code>lapicque.simulate</code> "
        "(one compiled loop per run, dt = 0.1 ms). Time convention: step <i>i</i> runs with "
        "<i>t</i> = <i>i</i>&middot;dt and its spikes and states are reported at (<i>i</i>+1)&middot;dt.</p>",
    ]
    for sec, items in sections.items():
        parts.append(f"<h2>{html.escape(sec)}</h2>")
        grid = len(items) > 1
        if grid:
            parts.append('<div class="grid">')
        for fname, cap in items:
            parts.append(f'<figure><a href="{html.escape(fname)}"><img src="{html.escape(fname)}" '
                         f'alt="{html.escape(cap)}"></a><figcaption>{html.escape(cap)}</figcaption></figure>')
        if grid:
            parts.append("</div>")
        if tables and sec in tables:
            parts.append(_table_html(tables[sec]))
    parts.append("</body></html>")
    path = os.path.join(out, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")
    return path

# --------------------------------------------------------------------------
# argument parsing
# --------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`CLIError` instead of printing usage and exiting."""

    def error(self, message):
        raise CLIError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="lapicque", description="Integrate-and-fire neuron models (JAX, brainpy.state API).",
                epilog="Quantities are written with units, e.g. 500pA, 0.1ms, -65mV, 10Mohm, 2nS, 0.07/mV.")
    sub = p.add_subparsers(dest="command", metavar="{list,run,fi,demo}", parser_class=_Parser)

    q = sub.add_parser("list", help="the models with their parameters, defaults and units")
    q.add_argument("model", nargs="?", help="show only this model")
    q.set_defaults(func=cmd_list)

    q = sub.add_parser("run", help="simulate one model and report its spikes")
    q.add_argument("model", help="model name, e.g. LIF (see `lapicque list`)")
    q.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter, e.g. --set tau=10ms (repeatable)")
    q.add_argument("--current", required=True, help="input current, e.g. 500pA, or A:B spread over --n neurons")
    q.add_argument("--duration", default="200ms", help="simulated time (default 200ms)")
    q.add_argument("--dt", default="0.1ms", help="time step (default 0.1ms)")
    q.add_argument("--n", type=int, default=1, help="number of neurons (default 1)")
    q.add_argument("--plot", metavar="FILE.png", help="write a trace (and raster) figure")
    q.add_argument("--json", metavar="FILE", help="write a JSON summary")
    q.add_argument("--progress", action="store_true", help="show a progress bar for long runs")
    q.set_defaults(func=cmd_run)

    q = sub.add_parser("fi", help="f-I curve: firing rate against constant input current")
    q.add_argument("model", help="model name, e.g. LIF")
    q.add_argument("--from", dest="from_", required=True, metavar="CURRENT", help="first current, e.g. 0mA")
    q.add_argument("--to", required=True, metavar="CURRENT", help="last current, e.g. 10mA")
    q.add_argument("--steps", type=int, default=21, help="number of currents (default 21)")
    q.add_argument("--duration", default="1000ms", help="simulated time per current (default 1000ms)")
    q.add_argument("--dt", default="0.1ms", help="time step (default 0.1ms)")
    q.add_argument("--transient", default="0ms", help="ignore spikes before this time (default 0ms)")
    q.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="set a parameter")
    q.add_argument("--plot", metavar="FILE.png", help="write the f-I curve figure")
    q.add_argument("--json", metavar="FILE", help="write currents and rates as JSON")
    q.add_argument("--progress", action="store_true", help="show a progress bar for long runs")
    q.set_defaults(func=cmd_fi)

    q = sub.add_parser("demo", help="f-I curves, traces and a population raster of all models, as PNG + HTML")
    q.add_argument("--out", default="demo", help="output folder (default ./demo)")
    q.add_argument("--quick", action="store_true", help="a reduced, faster version")
    q.set_defaults(func=cmd_demo)
    return p


_VALUE_OPTIONS = ("--current", "--duration", "--dt", "--from", "--to", "--transient", "--set")


def _glue_negative_values(argv: Sequence[str]) -> List[str]:
    """``['--duration', '-5ms']`` -> ``['--duration=-5ms']`` (argparse would take ``-5ms`` for an option)."""
    out: List[str] = []
    it = iter(range(len(argv)))
    for i in it:
        tok = argv[i]
        if tok in _VALUE_OPTIONS and i + 1 < len(argv) and re.match(r"^-[\d.]", argv[i + 1]):
            out.append(f"{tok}={argv[i + 1]}")
            next(it, None)
        else:
            out.append(tok)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad arguments, 1 failure)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(_glue_negative_values(argv))
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except CLIError as e:
        print(f"lapicque: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("lapicque: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # pragma: no cover - e.g. `lapicque list | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as e:  # noqa: BLE001 - one line, never a traceback (LAPICQUE_DEBUG=1 shows it)
        if os.environ.get("LAPICQUE_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"lapicque: error: {type(e).__name__}: {msg} (set LAPICQUE_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
