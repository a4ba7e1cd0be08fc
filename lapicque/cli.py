"""The ``lapicque`` command: list the models, run one under an input protocol, f-I curves, patterns, the demo.

Usage::

    lapicque --version
    lapicque list [MODEL]
    lapicque presets [NAME]
    lapicque run MODEL [--preset NAME] [--set NAME=VALUE ...] [--current 2mA | A:B --n N] [--input PROTOCOL ...]
                 [--duration 200ms] [--dt 0.1ms] [--record V,w] [--out run.npz|run.csv]
                 [--plot FILE.png] [--json FILE] [--config run.toml] [--no-progress]
    lapicque run --preset NAME[:PATTERN] [--current 200pA] ...
    lapicque fi MODEL --from 0mA --to 10mA [--steps 21] [--duration 1000ms] [--dt 0.1ms]
                [--transient 0ms] [--preset NAME] [--set NAME=VALUE ...] [--plot FILE.png] [--json FILE]
    lapicque patterns [NAME | adex | gif] [--plot FILE.png]
    lapicque demo [--out DIR] [--quick]

Input protocols (``--input``; all active from ``--start`` to ``--stop``,
``--offset`` outside; see :mod:`lapicque._cli.protocols`): ``constant`` (the
default), ``step``, ``pulses`` (``--width``, ``--period``), ``ramp`` (0 at
``--start`` to ``--current`` at ``--stop``), ``sine`` (``--freq``) and
``ou`` (``--current`` plus Ornstein-Uhlenbeck noise of standard deviation
``--sigma`` and correlation time ``--tau-noise``, reproducible with
``--seed``).  ``--current A:B`` with ``--n N`` spreads the amplitude evenly
over ``N`` neurons, for every protocol.

The models: the 13 integrate-and-fire models of ``lapicque.MODELS`` and
the other neurons of :data:`lapicque._cli.common.OTHER_MODELS` (``lapicque
list``).  ``--current`` (and ``--offset``, ``--sigma``, ``fi``'s ``--from``
and ``--to``) is in the model's input unit (its ``input_unit``, shown by
``lapicque list MODEL``): a current for most (``HH``, ``WangBuzsakiHH``,
``MorrisLecar``: ``10uA``), ``dV/dt`` for ``Izhikevich`` and
``IzhikevichRef`` (``10mV/ms``), a plain number for ``FitzHughNagumo`` and
``HindmarshRose`` (``0.5``); another unit is refused naming the one expected.
Initial values drawn at random (``HH``'s ``V``) are drawn with ``--seed``
(default 0), so that a command gives the same spikes every time.
``fi`` gives the rate against a constant input for every model, its
``--from``/``--to`` and its table in the model's input unit (``lapicque fi
Izhikevich --from 0mV/ms --to 20mV/ms``, ``lapicque fi FitzHughNagumo
--from 0 --to 1``).

The integrate-and-fire models keep the reference's defaults (``R = 1 ohm``: currents in mA).
``--preset`` gives a model published, physiological parameters instead
(:mod:`lapicque.presets`; ``lapicque presets`` lists them), and ``run`` and
``fi`` print a ``lapicque: warning:`` line before a run that the parameters
make silent (``R*I`` cannot move ``V`` a measurable part of the way to
threshold) or spurious (``V`` starts at or above threshold).

``--config run.toml`` reads the same options from a TOML file (keys are the
option names without dashes, ``[set]`` a table of parameters); options on the
command line win.  Quantities are written with their unit and no space:
``500pA``, ``0.1ms``, ``-65mV``, ``10Mohm``, ``2nS``, ``0.07/mV``, ``10Hz``.

Bad arguments print one line ``lapicque: error: ...`` and exit with status 2.
Every value is checked, by name, before anything runs: quantities within
the float32 range (times and rates that must be positive at least its
smallest normal number), counts (``--n``, ``--seed``, ``--steps``,
``--record-every``) whole numbers in their range, at most
:data:`MAX_STEPS` steps and :data:`MAX_NEURONS` neurons, and a run that
needs more memory than the machine has is refused with the figure.  In a
``--config`` file each value must have its option's type: a string (or a
number) for a quantity, ``true``/``false`` for ``progress``, a whole number
for a count.
The same program runs as ``python -m lapicque.cli``.  Only the standard
library is imported until a command needs the simulator, so ``--help`` and
``--version`` answer at once.

Examples
--------
>>> main(["run", "LIF", "--set", "tau=10ms", "--current", "2mA", "--duration", "20ms"])
LIF: 1 neuron, current 2mA (constant), 20ms at dt = 0.1ms
spikes: 2
rate: 100 Hz
spike times (neuron 0): 7.0 ms, 13.9 ms
0
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from typing import Any, Dict, List, Optional, Sequence

from ._cli.common import MAX_NEURONS, MAX_STEPS, OTHER_MODELS, RASTER_ROWS, CLIError  # the standard library only

__all__ = ["main", "build_parser", "parse_quantity", "format_quantity", "CLIError"]


def _whole(low: int, high: Optional[int] = None):
    """An argparse type: a whole number from ``low`` to ``high``, or an error naming what is accepted.

    Integers and whole numbers in floating-point notation (``1e6``, ``3.0``) are accepted.

    Examples
    --------
    >>> _whole(1, 10 ** 6)("1e6")
    1000000
    >>> _whole(0)("-5")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a whole number >= 0; got '-5'
    """
    def whole(text):
        text = str(text).strip()
        try:
            value = int(text, 10)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                f = math.nan
            value = int(f) if math.isfinite(f) and f.is_integer() else None
        if value is None or value < low or (high is not None and value > high):
            accepted = f"from {low} to {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"expected a whole number {accepted}; got {text!r}")
        return value
    whole.whole_number = True  # how a TOML file's value for it is checked (_toml_option)
    return whole


def __getattr__(name):  # the value parsers live in _cli_values (they import saiunit, hence JAX)
    if name in ("parse_quantity", "format_quantity", "model_parameters"):
        from ._cli import values as _cli_values
        return getattr(_cli_values, name)
    raise AttributeError(f"module 'lapicque.cli' has no attribute {name!r}")


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("lapicque")
    except Exception:  # noqa: BLE001 - a source tree without installed metadata
        from . import __version__
        return __version__


# --------------------------------------------------------------------------
# sub-commands
# --------------------------------------------------------------------------
def cmd_list(args) -> int:
    """The models, from static data (:mod:`lapicque._cli.catalog`): no JAX is imported, so it answers at once."""
    from ._cli import catalog
    names = [catalog.model_name(args.model)] if args.model else list(catalog.MODELS)
    if not args.model:
        others = [n for n in names if n in OTHER_MODELS]
        print(f"{len(names)} models: {len(names) - len(others)} integrate-and-fire models, then {', '.join(others)}. "
              f"Defaults are shown as the command line writes them; change them with "
              f"`lapicque run MODEL --set NAME=VALUE`; --current is in the model's input unit.\n")
    for name in names:
        print("\n".join(catalog.lines(name)))
    from .presets import PRESETS
    if args.model:
        fits = [p.name for p in PRESETS.values() if names[0] in p.models]
        if fits:
            print(f"presets: {', '.join(fits)} (`lapicque presets`; run with --preset NAME)")
        return 0
    print("Physiological presets (published parameters in pA, MOhm, mV; `lapicque presets` for the values):")
    _print_columns([(f"--preset {p.name}", ", ".join(p.models), p.title) for p in PRESETS.values()])
    return 0


def cmd_presets(args) -> int:
    """Every preset: its source, the models it fits, its values and a command that makes it fire."""
    from .presets import PRESETS
    chosen = [_preset(args.name)[0]] if args.name else list(PRESETS.values())
    if not args.name:
        print("Physiological presets: `lapicque run [MODEL] --preset NAME`; --set NAME=VALUE overrides a value. "
              "In Python: lapicque.presets.NAME(n).\n")
    for preset in chosen:
        print("\n".join(preset.describe()) + "\n")
    return 0


def _print_columns(rows, indent: str = "  ") -> None:
    """Rows of text cells, each column as wide as its widest cell (the last column left ragged)."""
    rows = [tuple(str(c) for c in r) for r in rows]
    if not rows:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print(indent + "  ".join([c.ljust(w) for c, w in zip(r, widths)] + [r[-1]]).rstrip())


def _record_arg(text: Optional[str], model, plot: bool):
    from ._cli import values as cv
    available = [n for n, _ in cv.model_states(type(model))]
    if not text:  # for --plot: the dynamic variables, not the refractory bookkeeping
        from ._neurons.refractory import BOOKKEEPING
        skip = BOOKKEEPING + ("crossed",)  # HH & co.: last step's spike, kept to count a crossing once
        return tuple(n for n in available if n not in skip) if plot else ()
    names = available if text.strip() == "all" else [s.strip() for s in text.split(",") if s.strip()]
    bad = [n for n in names if n not in available]
    if bad:
        raise CLIError(f"--record: {type(model).__name__} has no state {bad[0]!r}; it has: {', '.join(available)}")
    if "refractory" in names and not getattr(model, "ref_var", False):
        raise CLIError("--record refractory needs --set ref_var=true")
    return tuple(names)


def _protocol(args, duration_ms: float, dt_ms: float, spec, model: str):
    """The input protocol; every one of its options is checked, whichever ``--input`` uses it.

    ``--offset`` and ``--sigma`` are in the model's input unit (``spec``, a
    :class:`~lapicque._cli.values.InputSpec`); left out, they are 0.
    """
    import saiunit as u
    from ._cli.values import input_option, quantity_option as qo
    from ._cli.protocols import Protocol

    def ms(text, what, sign):
        return None if text is None else float(qo(text, "time", what, sign).mantissa)

    def inp(text, what, sign=None):
        return 0.0 if text is None else float(u.get_mantissa(input_option(text, spec, what, model, sign)))

    p = Protocol(kind=args.input, offset=inp(args.offset, "--offset"),
                 start_ms=ms(args.start, "--start", "nonnegative") or 0.0,
                 stop_ms=ms(args.stop, "--stop", "positive"),
                 width_ms=ms(args.width, "--width", "positive"), period_ms=ms(args.period, "--period", "positive"),
                 freq_hz=float(qo(args.freq, "rate", "--freq", "positive").mantissa) * 1e3,
                 sigma=inp(args.sigma, "--sigma", "nonnegative"),
                 tau_ms=ms(args.tau_noise, "--tau-noise", "positive"), seed=args.seed,
                 unit=spec.unit if spec.kind != "current" else "mA")
    try:
        p.check(duration_ms, dt_ms)
    except ValueError as e:
        raise CLIError(str(e)) from None
    return p


def _progress(args, n_steps: int, n: int):
    """None (the simulator's default: a bar only for long runs) on a terminal, else off; flags override."""
    if args.progress is not None:
        return args.progress
    return None if sys.stderr.isatty() else False


def _run_plan(args):
    """Every option of ``run``, checked before anything is simulated (a namespace of the parsed values)."""
    import numpy as np
    from types import SimpleNamespace
    from ._cli import values as cv

    cls, sets = _model_and_sets(args)
    spec = cv.input_spec(cls)  # the unit of --current, --offset, --sigma: the model's input_unit
    amplitude = cv.current_arg(args.current, args.n, spec, cls.__name__)
    duration = cv.quantity_option(args.duration, "time", "--duration", "positive")
    dt = cv.quantity_option(args.dt, "time", "--dt", "positive")
    n_steps = cv.check_steps(duration, dt)
    dt_ms = float(dt.mantissa)
    protocol = _protocol(args, float(duration.mantissa), dt_ms, spec, cls.__name__)
    model = cv.build_model(cls, args.n, sets)
    random_init = cv.random_initial_values(model)
    # the population records what --record asks; with --plot and several neurons, the plotted
    # neuron's trace comes from a run of that neuron alone (see _neuron_trace) -- or, where initial
    # values are drawn at random (a neuron alone would draw another), from the population's V
    record = _record_arg(args.record, model, bool(args.plot) and args.n == 1)
    if args.plot and args.n > 1 and random_init and "V" not in record:
        record += ("V",)
    if record and args.record_every > n_steps:
        raise CLIError(f"--record-every must be from 1 to the number of steps ({n_steps}); "
                       f"got {args.record_every}")
    _check_out(args.out, args.n, n_steps // args.record_every, len(record))
    memory = cv.run_memory(args.n, n_steps, len(record), args.record_every, noise=protocol.kind == "ou")
    cv.check_memory(memory, f"run: --n {args.n} over {n_steps} steps", "shorten --duration, lengthen --dt, "
                    "use fewer --n" + (" or a larger --record-every" if record else ""))
    amp = np.broadcast_to(np.asarray(amplitude, dtype=np.float32), (args.n,))
    current = protocol.current(n_steps, dt_ms, amp)
    # told, not inferred: with --n equal to the number of steps a (n,) current would be ambiguous
    time_varying = None if callable(current) else protocol.kind == "ou"
    return SimpleNamespace(cls=cls, sets=sets, duration=duration, dt=dt, dt_ms=dt_ms, n_steps=n_steps,
                           protocol=protocol, model=model, record=record, amp=amp, current=current,
                           time_varying=time_varying, spec=spec, random_init=random_init,
                           seed=0 if args.seed is None else args.seed)


def _model_and_sets(args):
    """The model class and its constructor arguments: the ``--preset``'s values, then ``--set`` over them."""
    from ._cli import values as cv
    cls = cv.model_class(args.model)
    sets: Dict[str, Any] = {}
    if args.preset:
        preset, pattern = _preset(args.preset)
        try:
            sets.update(preset.parameters(pattern, cls.__name__))
        except ValueError as e:
            raise CLIError(f"--preset: {e}") from None
    sets.update(cv.parse_sets(cls, args.set))
    return cls, sets


def _preset(text: str):
    """``--preset NAME[:PATTERN]`` as ``(Preset, pattern)``, or a :class:`CLIError` listing the presets."""
    from .presets import get
    try:
        preset, pattern = get(text)
        preset.pattern(pattern)  # an unknown pattern is refused here, by name
    except ValueError as e:
        raise CLIError(f"--preset: {e}") from None
    return preset, pattern


def _preset_current(text: str) -> str:
    """The current a ``--preset`` run gets without ``--current``: the pattern's published step, or the preset's."""
    preset, pattern = _preset(text)
    p = preset.pattern(pattern)
    if p is None:
        return preset.suggested_current
    if len(p.protocol) != 1:
        raise CLIError(f"run --preset {text}: the published input of pattern {p.key} changes over time; give "
                       f"--current (and --input), or run it as published with `lapicque patterns {p.key}`")
    return f"{p.protocol[0][0]:g}{p.current_unit}"


def _drive_warnings(model, peak, what: str, spec) -> List[str]:
    """:func:`lapicque.presets.check` as the command line says it (``--set``/``--current`` remedies).

    ``peak`` is the largest input, in ``spec.canonical`` (mA for a current); a
    plain number (a dimensionless input) is checked for the start only.
    """
    from .presets import check
    messages = check(model, spec.quantity(peak), cli=True)
    if what == "fi":
        messages = [m.replace("(--current ", "(--to ") for m in messages]
    for m in messages:
        print(f"lapicque: warning: {what}: {m}", file=sys.stderr)
    return messages


def _check_out(path: Optional[str], n: int, n_samples: int, n_traces: int) -> None:
    """Refuse an ``--out`` file the result cannot be saved to, before the run rather than after it."""
    if not path:
        return
    if not path.endswith((".npz", ".csv")):
        raise CLIError(f"--out: the file name must end in .npz or .csv; got {path!r}")
    from ._results.formats import CSV_MAX_VALUES
    n_values = n_samples * n * max(n_traces, 1)
    if path.endswith(".csv") and n_values > CSV_MAX_VALUES:
        raise CLIError(f"--out: {n_values} values are too many for CSV (at most {CSV_MAX_VALUES}); "
                       f"save as .npz")


def cmd_run(args) -> int:
    import warnings
    import numpy as np
    from ._engine.simulate import simulate
    from .presets import DriveWarning

    plan = _run_plan(args)
    # the largest current the protocol can give (the noise counted at 3 sigma)
    peak = np.abs(plan.amp) + abs(float(plan.protocol.offset)) + 3 * abs(float(plan.protocol.sigma or 0.0))
    _drive_warnings(plan.model, peak, "run", plan.spec)
    with warnings.catch_warnings():  # said above, as the command line says it
        warnings.simplefilter("ignore", DriveWarning)
        return _run_and_report(plan, args)


def _run_and_report(plan, args) -> int:
    from ._engine.simulate import simulate

    _seed_initial_values(plan)
    res = simulate(plan.model, plan.current, plan.duration, plan.dt, record=plan.record,
                   record_every=args.record_every, time_varying=plan.time_varying,
                   progress=_progress(args, plan.n_steps, args.n))
    res.meta.update(plan.protocol.describe(), current=args.current, seed=args.seed, command="lapicque run",
                    input_unit=plan.spec.unit)
    if plan.random_init:
        res.meta.update(initial_values_seed=plan.seed)
    _print_run(res, plan, args)
    if args.out:
        try:
            path = res.save(args.out)
        except ValueError as e:
            raise CLIError(f"--out: {e}") from None
        print(f"wrote {path}")
    if args.plot:
        _plot_run(res, plan, args)
    if args.json:
        _write_json(args.json, _run_summary(res, plan.model, args, plan.protocol, plan.record))
        print(f"wrote {args.json}")
    return 0


def _seed_initial_values(plan) -> None:
    """Initial values drawn at random (HH's ``V``) are drawn from ``--seed`` (default 0): the same every run."""
    if plan.random_init:
        import brainstate
        brainstate.random.seed(plan.seed)


def _print_run(res, plan, args):
    """The summary lines: whole-population counts and rates, and the first spike times of neuron 0 only."""
    import numpy as np
    from ._cli import values as cv

    counts = res.spike_count.reshape(-1)
    rates = np.asarray(res.rate.mantissa).reshape(-1)
    n_word = "neuron" if args.n == 1 else "neurons"
    word = "current" if plan.spec.kind == "current" else "input"
    print(f"{plan.cls.__name__}: {args.n} {n_word}, {word} {args.current} ({plan.protocol.kind}), "
          f"{cv.format_quantity(res.duration, 'time')} at dt = {cv.format_quantity(res.dt, 'time')}")
    if args.n == 1:
        print(f"spikes: {int(counts[0])}")
        print(f"rate: {rates[0]:.4g} Hz")
    else:
        print(f"spikes: {int(counts.sum())} in total, {counts.min()}..{counts.max()} per neuron")
        print(f"rate: {rates.mean():.4g} Hz mean ({rates.min():.4g}..{rates.max():.4g} Hz)")
    first = cv.spike_times_ms(res, 0, first=10)
    shown = cv.format_times_at_dt(first, plan.dt_ms) if first.size else "none"
    more = f", ... ({int(counts[0])} in all)" if counts[0] > first.size else ""
    print(f"spike times (neuron 0): {shown}{more}")
    for name, dist in plan.random_init.items():
        print(f"{name}: drawn from {dist} with --seed {plan.seed} (--set {name}=VALUE for a fixed start)")


def _neuron_trace(res, plan, i: int):
    """A result holding neuron ``i``'s ``V`` trace, and its index there.

    The population's own when it recorded ``V``; otherwise neuron ``i`` run
    alone (the neurons of ``lapicque run`` are uncoupled and their
    parameters scalars, so it runs exactly as it did in the population),
    which keeps ``--plot`` from recording every neuron's trace to draw one.
    """
    if "V" in res.traces:
        return res, i
    from ._cli.values import build_model
    from ._engine.simulate import simulate
    current = plan.current
    current = (plan.protocol.current(plan.n_steps, plan.dt_ms, plan.amp[i:i + 1]) if callable(current)
               else current[..., i:i + 1])
    alone = simulate(build_model(plan.cls, 1, plan.sets), current, plan.duration, plan.dt, record=("V",),
                     time_varying=plan.time_varying, progress=False)
    return alone, 0


def _plot_run(res, plan, args):
    import numpy as np
    from . import plot as lplot
    title = f"{plan.cls.__name__}, I = {args.current} ({args.input})"
    if args.n == 1:
        fig = lplot.traces(res, title=title)
    else:
        fig, axes = lplot.figure(2, ncols=1, panel_size=(7.5, 2.8), title=title)
        rows, label = None, f"{args.n} neurons"
        if args.n > RASTER_ROWS:  # a raster of millions of rows draws no more than a thousand
            rows = np.unique(np.linspace(0, args.n - 1, RASTER_ROWS).round().astype(np.int64))
            label = f"{rows.size} of {args.n} neurons, evenly spaced"
        lplot.raster(res, ax=axes[0], neurons=rows, title=label)
        if rows is not None:  # label the rows with the neurons they show
            ticks = [t for t in axes[0].get_yticks() if 0 <= t < rows.size and float(t).is_integer()]
            axes[0].set_yticks(ticks, [str(rows[int(t)]) for t in ticks])
        last = args.n - 1  # the strongest input when currents are spread A:B
        trace, index = _neuron_trace(res, plan, last)
        lplot.voltage(trace, index, ax=axes[1], title=f"neuron {last}")
    lplot.save(fig, args.plot)
    print(f"wrote {args.plot}")


def _run_summary(res, model, args, protocol, record) -> Dict[str, Any]:
    import numpy as np
    import saiunit as u
    from ._cli import values as cv
    from ._results.formats import versions

    counts = res.spike_count.reshape(-1)
    rates = np.asarray(res.rate.mantissa).reshape(-1)
    dt_ms = float(np.asarray(res.dt.to_decimal(u.ms)))
    return {
        "model": type(model).__name__, "preset": args.preset,
        "parameters": cv.used_parameters(model),
        "overrides": list(dict.fromkeys(s.partition("=")[0].strip() for s in args.set)),
        "n": args.n, "current": args.current, "input_unit": cv.input_spec(model).unit,
        "protocol": protocol.describe(),
        "initial_values_seed": (0 if args.seed is None else args.seed) if cv.random_initial_values(model) else None,
        "duration_ms": res.n_steps * dt_ms, "dt_ms": dt_ms, "record": list(record),
        "record_every": args.record_every,
        "spike_count": int(counts.sum()), "spike_counts": [int(c) for c in counts],
        "rate_Hz": float(rates.mean()), "rates_Hz": [float(r) for r in rates],
        "spike_times_ms": [[float(t) for t in x] for x in cv.spike_times_ms(res)],
        "versions": versions(),
    }


def _write_json(path, data):
    import json
    from ._core.atomic import atomic_write
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with atomic_write(path, "w") as f:
        json.dump(data, f, indent=1)


def _fi_plan(args):
    """Every option of ``fi``, checked before anything is simulated (a namespace of the parsed values)."""
    import numpy as np
    from types import SimpleNamespace
    from ._cli import values as cv

    cls, sets = _model_and_sets(args)
    spec = cv.input_spec(cls)
    lo = cv.input_option(args.from_, spec, "--from", cls.__name__)
    hi = cv.input_option(args.to, spec, "--to", cls.__name__)
    duration = cv.quantity_option(args.duration, "time", "--duration", "positive")
    dt = cv.quantity_option(args.dt, "time", "--dt", "positive")
    transient = cv.quantity_option(args.transient, "time", "--transient", "nonnegative")
    n_steps = cv.check_steps(duration, dt)
    if float(transient.mantissa) >= float(duration.mantissa):
        raise CLIError("--transient must be shorter than --duration")
    # one neuron per input, spikes counted (no per-step record): the inputs and the states
    cv.check_memory({"the inputs and neuron states (about 64 bytes per input)": 64 * args.steps},
                    f"fi: --steps {args.steps}", "use fewer --steps")
    # in spec.canonical (mA for a current, mV/ms, or plain numbers): lapicque.analysis.fi_curve reads the
    # model's input_unit, as lapicque.simulate does
    currents = spec.quantity(np.linspace(_mantissa(lo), _mantissa(hi), args.steps))
    model = cv.build_model(cls, args.steps, sets)
    return SimpleNamespace(cls=cls, spec=spec, duration=duration, dt=dt, transient=transient, n_steps=n_steps,
                           currents=currents, model=model, random_init=cv.random_initial_values(model),
                           seed=0)


def _mantissa(value) -> float:
    """A parsed option's value as a float: a quantity's mantissa (in its canonical unit), or the plain number."""
    return float(getattr(value, "mantissa", value))


def cmd_fi(args) -> int:
    import warnings
    import numpy as np
    import saiunit as u
    from .analysis import fi_curve
    from .presets import DriveWarning

    plan = _fi_plan(args)
    _drive_warnings(plan.model, np.abs(np.asarray(u.get_mantissa(plan.currents), dtype=np.float64)), "fi",
                    plan.spec)
    _seed_initial_values(plan)
    with warnings.catch_warnings():  # said above, as the command line says it
        warnings.simplefilter("ignore", DriveWarning)
        rates = fi_curve(plan.model, plan.currents, plan.duration, plan.dt,
                         transient=plan.transient if float(plan.transient.mantissa) else None,
                         progress=_progress(args, plan.n_steps, args.steps))
    _print_fi(plan, args, np.asarray(rates.to_decimal(u.Hz)))
    if args.plot:
        from . import plot as lplot
        name = plan.cls.__name__
        ax = _plot_fi(plan, rates, name)
        lplot.save(ax.figure, args.plot)
        print(f"wrote {args.plot}")
    if args.json:
        from ._cli import values as cv
        from ._results.formats import versions
        _write_json(args.json, {"model": plan.cls.__name__, "parameters": cv.used_parameters(plan.model),
                                "duration_ms": float(plan.duration.mantissa), "dt_ms": float(plan.dt.mantissa),
                                _fi_inputs_key(plan.spec): [float(x) for x in
                                                            np.asarray(u.get_mantissa(plan.currents))],
                                "rates_Hz": [float(x) for x in np.asarray(rates.to_decimal(u.Hz))],
                                "input_unit": plan.spec.unit, "versions": versions()})
        print(f"wrote {args.json}")
    return 0


def _fi_inputs_key(spec) -> str:
    """The JSON key of ``fi``'s inputs, in :attr:`spec.canonical`: currents_mA, inputs_mV_per_ms, inputs (plain)."""
    if spec.kind == "current":
        return "currents_mA"
    return "inputs" if spec.canonical is None else "inputs_" + spec.unit.replace("/", "_per_")


def _plot_fi(plan, rates, name):
    """The f-I figure (:func:`lapicque.plot.fi_curve`), against the model's own input unit."""
    from . import plot as lplot
    return lplot.fi_curve(plan.currents, rates, title=f"{name} f-I curve", label=name)


def _print_fi(plan, args, r) -> None:
    """The f-I table, the inputs in the model's own unit (mA; uA for HH; mV/ms for Izhikevich; plain)."""
    import numpy as np
    import saiunit as u
    from ._cli import values as cv
    I, unit = plan.spec.to_model_unit(u.get_mantissa(plan.currents)), plan.spec.unit
    word = "current" if plan.spec.kind == "current" else "input"
    print(f"{plan.cls.__name__}: f-I curve, {args.steps} {word}s from {args.from_} to {args.to}, "
          f"{cv.format_quantity(plan.duration, 'time')} each at dt = {cv.format_quantity(plan.dt, 'time')}")
    header = f"{word} ({unit})" if unit else f"{word} (plain)"
    print(f"{header:>14}  {'rate (Hz)':>10}")
    for i, ri in zip(I, r):
        print(f"{i:14.6g}  {ri:10.4g}")
    firing = np.nonzero(r > 0)[0]
    at = f"{I[firing[0]]:.6g} {unit}".rstrip() if firing.size else ""
    print(f"fires from {at} on; {r.max():.4g} Hz at most" if firing.size
          else f"no spikes in this range of {word}s")


def cmd_patterns(args) -> int:
    import warnings
    from .presets import DriveWarning
    with warnings.catch_warnings():  # the published initial states are deliberate (Gif H starts at V = V_th)
        warnings.simplefilter("ignore", DriveWarning)
        return _patterns(args)


def _patterns(args) -> int:
    from . import patterns
    if not args.name:
        print("Published firing patterns (run one with `lapicque patterns KEY`, a family with "
              "`lapicque patterns adex|gif`):")
        _print_columns([(row["family"], row["key"], row["name"]) for row in patterns.table()])
        return 0
    if args.name in ("adex", "gif"):
        path = args.plot or f"patterns_{args.name}.png"
        results = patterns.run_all(args.name, precision="auto")
        _print_columns([(row["key"], row["name"], f"{row['n_spikes']:>4} spikes",
                         f"{'confirmed' if row['passed'] else 'NOT confirmed'}: {row['label']}")
                        for row in patterns.summary(results)])
        patterns.gallery(args.name, path, results=results)
        print(f"wrote {path}")
        return 0
    try:
        pat = patterns.get(args.name)
    except KeyError as e:
        raise CLIError(str(e).strip("\"'")) from None
    res = patterns.run(pat, precision="auto")
    c = patterns.classify(res)
    from ._cli.values import format_times_at_dt
    print(f"{pat.key}: {pat.name} ({pat.model}, {pat.family}), {pat.duration_ms:g} ms at dt = {res.dt_ms:g} ms")
    print(f"spikes: {res.spike_times.size}; first: {format_times_at_dt(res.spike_times[:8], res.dt_ms) or 'none'}")
    print(f"classified: {c.label} -- {'confirmed' if c.passed else 'NOT confirmed'} ({pat.criterion})")
    from . import plot as lplot
    path = args.plot or f"pattern_{pat.key}.png"
    lplot.save(lplot.pattern(res, passed=c.passed), path)
    print(f"wrote {path}")
    return 0


def cmd_demo(args) -> int:
    import time
    from ._cli.demo_network import network_section
    from .report import run_demo
    import warnings
    from .presets import DriveWarning
    t_start = time.time()
    with warnings.catch_warnings():  # the report runs the reference's defaults and the published patterns on purpose
        warnings.simplefilter("ignore", DriveWarning)
        files = run_demo(args.out, quick=args.quick, log=print, extra_sections=[network_section])
    print(f"wrote {len(files)} files to {os.path.abspath(args.out)} in {time.time() - t_start:.0f} s; "
          f"open {os.path.join(os.path.abspath(args.out), 'index.html')}")
    return 0


# --------------------------------------------------------------------------
# configuration files
# --------------------------------------------------------------------------
def _config_argv(path: str, sub: argparse.ArgumentParser) -> (List[str], Optional[str]):
    """A TOML file as the equivalent command-line options (and the model it names).

    Every value must have the TOML type its option takes: a string (or a
    number) for a value option, ``true``/``false`` for a switch, an integer
    for a count; anything else is refused naming the key and what it takes.
    """
    import tomllib
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise CLIError(f"--config: cannot read {path!r} ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise CLIError(f"--config: {path!r} is not valid TOML ({e})") from None
    options = {a.dest: a for a in sub._actions if a.option_strings and a.dest not in ("help", "config")}
    model = data.pop("model", None)
    if model is not None and not isinstance(model, str):
        raise CLIError(f"--config: 'model' in {path} must be a model name in quotes, e.g. model = \"LIF\"; "
                       f"got {_toml_repr(model)}")
    argv: List[str] = []
    for key, value in data.items():
        action = options.get(key.replace("-", "_"))
        if action is None:
            raise CLIError(f"--config: unknown key {key!r} in {path}; known: model, {', '.join(options)}")
        argv += _toml_option(key, value, action, f"--config: {key!r} in {path}")
    return argv, model


def _toml_option(key: str, value, action: argparse.Action, where: str) -> List[str]:
    """One TOML key as command-line options; ``where`` starts the error message."""
    flag = action.option_strings[-1] if action.dest != "from_" else "--from"
    if key == "set":
        if not isinstance(value, dict):
            raise CLIError(f"{where} must be a table, e.g. [set] tau = \"10ms\"; got {_toml_repr(value)}")
        bad = {k: v for k, v in value.items() if not _is_scalar(v)}
        if bad:
            k = next(iter(bad))
            raise CLIError(f"{where}: {k} must be a value such as \"10ms\", a number or true/false; "
                           f"got {_toml_repr(bad[k])}")
        return [x for k, v in value.items() for x in ("--set", f"{k}={_toml_text(v)}")]
    if action.nargs == 0:  # a switch
        if not isinstance(value, bool):
            raise CLIError(f"{where} must be true or false (no quotes); got {_toml_repr(value)}")
        if action.dest == "progress":
            return ["--progress" if value else "--no-progress"]
        return [flag] if value else []
    if getattr(action.type, "whole_number", False):  # checked by the option's type (_whole)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise CLIError(f"{where} must be a whole number, e.g. {key} = 10; got {_toml_repr(value)}")
        return [f"{flag}={value}"]
    if action.dest == "record" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [f"{flag}={','.join(value)}"]
    if isinstance(value, bool) or not _is_scalar(value):
        example = action.default if isinstance(action.default, str) else _TOML_EXAMPLES.get(action.dest, "...")
        raise CLIError(f"{where} must be a value in quotes, e.g. {key} = \"{example}\"; got {_toml_repr(value)}")
    return [f"{flag}={_toml_text(value)}"]


#: example values of the options without a default, for the messages about a TOML file
_TOML_EXAMPLES = {"current": "500pA", "offset": "0mA", "sigma": "0.5mA", "start": "10ms", "stop": "100ms", "record": "V,w", "out": "run.npz",
                  "plot": "run.png", "json": "run.json", "from_": "0mA", "to": "10mA"}


def _is_scalar(v) -> bool:
    return isinstance(v, (str, int, float, bool))


def _toml_text(v) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _toml_repr(v) -> str:
    """A value as TOML writes it (``true``, ``5``, ``"yes"``, ``[1, 2]``)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_repr(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_repr(x)}" for k, x in v.items()) + "}"
    return str(v)


# --------------------------------------------------------------------------
# argument parsing
# --------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`CLIError` instead of printing usage and exiting."""

    def error(self, message):
        raise CLIError(message)


def _add_progress(q):
    g = q.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="always show a progress bar")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="never show one (default: shown for long runs when stderr is a terminal)")


def _add_run(sub):
    q = sub.add_parser("run", help="simulate one model under an input protocol and report its spikes",
                       description="Simulate one model. Options can also come from --config FILE.toml.")
    q.add_argument("model", nargs="?", help="model name, e.g. LIF (see `lapicque list`)")
    q.add_argument("--config", metavar="FILE.toml", help="read options from a TOML file (flags win)")
    q.add_argument("--preset", metavar="NAME", help="published parameters, e.g. brette2007 or naud2008:adaptation "
                   "(see `lapicque presets`; --set overrides them; gives the model when none is named)")
    q.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter, e.g. --set tau=10ms (repeatable)")
    q.add_argument("--current", default=None, help="amplitude in the model's input unit (`lapicque list MODEL`), "
                   "e.g. 500pA, 10uA (HH), 10mV/ms (Izhikevich), 0.5 (FitzHughNagumo); or A:B spread over --n neurons")
    q.add_argument("--n", type=_whole(1, MAX_NEURONS), default=1,
                   help=f"number of neurons, 1 to {MAX_NEURONS} (default 1)")
    q.add_argument("--duration", default="200ms", help="simulated time (default 200ms)")
    q.add_argument("--dt", default="0.1ms", help="time step (default 0.1ms)")
    g = q.add_argument_group("input protocol")
    g.add_argument("--input", default="constant", choices=("constant", "step", "pulses", "ramp", "sine", "ou"),
                   help="time course of the current (default constant)")
    g.add_argument("--offset", default=None, help="input outside the protocol's window, in --current's unit "
                   "(default 0)")
    g.add_argument("--start", default=None, help="protocol window start (default 0ms)")
    g.add_argument("--stop", default=None, help="protocol window end (default: end of the run)")
    g.add_argument("--width", default="1ms", help="pulses: width of each pulse (default 1ms)")
    g.add_argument("--period", default="10ms", help="pulses: period of the train (default 10ms)")
    g.add_argument("--freq", default="10Hz", help="sine: frequency (default 10Hz)")
    g.add_argument("--sigma", default=None, help="ou: noise standard deviation, in --current's unit, e.g. 0.5mA")
    g.add_argument("--tau-noise", dest="tau_noise", default="5ms", help="ou: correlation time (default 5ms)")
    g.add_argument("--seed", type=_whole(0), default=None,
                   help="ou: random seed, a whole number >= 0 (recorded in the output); also the seed of "
                   "initial values drawn at random (HH's V; default 0)")
    g = q.add_argument_group("output")
    g.add_argument("--record", metavar="V,w", help="states to record (comma separated, or 'all')")
    g.add_argument("--record-every", dest="record_every", type=_whole(1), default=1, metavar="K",
                   help="keep every K-th sample of the recorded states (default 1)")
    g.add_argument("--out", metavar="FILE", help="save the result: .npz (any size) or .csv (small runs)")
    g.add_argument("--plot", metavar="FILE.png", help="write a trace (and raster) figure")
    g.add_argument("--json", metavar="FILE", help="write a JSON summary with every parameter used")
    _add_progress(q)
    q.set_defaults(func=cmd_run)
    return q


def _add_fi(sub):
    q = sub.add_parser("fi", help="f-I curve: firing rate against a constant input (current, or the model's input)")
    q.add_argument("model", nargs="?", help="model name, e.g. LIF")
    q.add_argument("--config", metavar="FILE.toml", help="read options from a TOML file (flags win)")
    q.add_argument("--from", dest="from_", metavar="CURRENT",
                   help="first input in the model's input unit, e.g. 0mA (0uA for HH, 0mV/ms for Izhikevich, 0)")
    q.add_argument("--to", metavar="CURRENT", help="last input, e.g. 10mA")
    q.add_argument("--steps", type=_whole(1, MAX_NEURONS), default=21, help="number of inputs (default 21)")
    q.add_argument("--duration", default="1000ms", help="simulated time per current (default 1000ms)")
    q.add_argument("--dt", default="0.1ms", help="time step (default 0.1ms)")
    q.add_argument("--transient", default="0ms", help="ignore spikes before this time (default 0ms)")
    q.add_argument("--preset", metavar="NAME", help="published parameters, e.g. brette2007 (see `lapicque presets`)")
    q.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="set a parameter")
    q.add_argument("--plot", metavar="FILE.png", help="write the f-I curve figure")
    q.add_argument("--json", metavar="FILE", help="write currents, rates and parameters as JSON")
    _add_progress(q)
    q.set_defaults(func=cmd_fi)
    return q


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="lapicque", description="Integrate-and-fire neuron models (JAX, brainpy.state API).",
                epilog="Quantities are written with units, e.g. 500pA, 0.1ms, -65mV, 10Mohm, 2nS, 0.07/mV.")
    p.add_argument("--version", action="version", version=f"lapicque {_version()}")
    sub = p.add_subparsers(dest="command", metavar="{list,presets,run,fi,patterns,demo}", parser_class=_Parser)
    q = sub.add_parser("list", help="the models with their parameters, defaults, units, states and input unit; "
                       "the presets")
    q.add_argument("model", nargs="?", help="show only this model")
    q.set_defaults(func=cmd_list)
    q = sub.add_parser("presets", help="physiological parameter sets from the literature (run --preset NAME)")
    q.add_argument("name", nargs="?", help="show only this preset, e.g. brette2007")
    q.set_defaults(func=cmd_presets)
    _add_run(sub)
    _add_fi(sub)
    q = sub.add_parser("patterns", help="run and plot a published firing pattern (Naud 2008, Mihalas 2009)")
    q.add_argument("name", nargs="?", help="a pattern key or name (e.g. tonic, A), or a family: adex, gif")
    q.add_argument("--plot", metavar="FILE.png", help="figure file (default pattern_KEY.png)")
    q.set_defaults(func=cmd_patterns)
    q = sub.add_parser("demo", help="the illustrated report of all models, as PNG + NPZ + HTML")
    q.add_argument("--out", default="demo", help="output folder (default ./demo)")
    q.add_argument("--quick", action="store_true", help="a reduced, faster version")
    q.set_defaults(func=cmd_demo)
    return p


#: the options that take no value (every other ``--option`` does)
_SWITCHES = ("--progress", "--no-progress", "--quick", "--help", "--version")


def _glue_negative_values(argv: Sequence[str]) -> List[str]:
    """``['--freq', '-5Hz']`` -> ``['--freq=-5Hz']``: argparse would take ``-5Hz`` for an option.

    Every option that takes a value is glued to a value that starts with a
    minus sign, so that the value is checked and refused by name.

    Examples
    --------
    >>> _glue_negative_values(["run", "LIF", "--freq", "-5Hz", "--progress", "--n", "3"])
    ['run', 'LIF', '--freq=-5Hz', '--progress', '--n', '3']
    """
    out: List[str] = []
    it = iter(range(len(argv)))
    for i in it:
        tok = argv[i]
        takes_value = tok.startswith("--") and "=" not in tok and tok not in _SWITCHES
        if takes_value and i + 1 < len(argv) and re.match(r"^-[\d.]", argv[i + 1]):
            out.append(f"{tok}={argv[i + 1]}")
            next(it, None)
        else:
            out.append(tok)
    return out


def _parse(parser, argv: List[str]):
    """Parse, merging a ``--config`` file in front of the command-line options."""
    args = parser.parse_args(argv)
    if getattr(args, "config", None):
        sub = parser._subparsers._group_actions[0].choices[args.command]
        extra, model = _config_argv(args.config, sub)
        rest = argv[argv.index(args.command) + 1:]
        lead = [args.command] + ([model] if model and not args.model else [])
        args = parser.parse_args(lead + _glue_negative_values(extra) + rest)
    if args.command in ("run", "fi") and args.preset:
        preset, _ = _preset(args.preset)
        if not args.model:
            args.model = preset.model
        if args.command == "run" and args.current is None:
            args.current = _preset_current(args.preset)
    if args.command in ("run", "fi") and not args.model:
        raise CLIError(f"{args.command}: give a model (e.g. LIF), on the command line or as model = ... in --config")
    if args.command == "run" and args.current is None:
        raise CLIError("run: the following argument is required: --current")
    if args.command == "fi" and (args.from_ is None or args.to is None):
        raise CLIError("fi: the following arguments are required: --from, --to")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad arguments, 1 failure)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = _parse(parser, _glue_negative_values(argv))
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except CLIError as e:
        print(f"lapicque: error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help / --version
        return int(e.code or 0)
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
    # run the importable module (not this __main__ copy), so that CLIError is one class everywhere
    from lapicque.cli import main as _main
    sys.exit(_main())
