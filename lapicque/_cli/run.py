"""``lapicque run``: one model under an input protocol, its options checked, its spikes reported."""

from __future__ import annotations

from typing import Any, Dict, Optional

from .common import RASTER_ROWS, CLIError
from .helpers import _drive_warnings, _model_and_sets, _progress, _seed_initial_values, _write_json


def _record_arg(text: Optional[str], model, plot: bool):
    from . import values as cv
    available = [n for n, _ in cv.model_states(type(model))]
    if not text:  # for --plot: the dynamic variables, not the refractory bookkeeping
        from .._neurons.refractory import BOOKKEEPING
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
    from .values import input_option, quantity_option as qo
    from .protocols import Protocol

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


def _run_plan(args):
    """Every option of ``run``, checked before anything is simulated (a namespace of the parsed values)."""
    import numpy as np
    from types import SimpleNamespace
    from . import values as cv

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


def _check_out(path: Optional[str], n: int, n_samples: int, n_traces: int) -> None:
    """Refuse an ``--out`` file the result cannot be saved to, before the run rather than after it."""
    if not path:
        return
    if not path.endswith((".npz", ".csv")):
        raise CLIError(f"--out: the file name must end in .npz or .csv; got {path!r}")
    from .._results.formats import CSV_MAX_VALUES
    n_values = n_samples * n * max(n_traces, 1)
    if path.endswith(".csv") and n_values > CSV_MAX_VALUES:
        raise CLIError(f"--out: {n_values} values are too many for CSV (at most {CSV_MAX_VALUES}); "
                       f"save as .npz")


def cmd_run(args) -> int:
    import warnings
    import numpy as np
    from .._engine.simulate import simulate
    from ..presets import DriveWarning

    plan = _run_plan(args)
    # the largest current the protocol can give (the noise counted at 3 sigma)
    peak = np.abs(plan.amp) + abs(float(plan.protocol.offset)) + 3 * abs(float(plan.protocol.sigma or 0.0))
    _drive_warnings(plan.model, peak, "run", plan.spec)
    with warnings.catch_warnings():  # said above, as the command line says it
        warnings.simplefilter("ignore", DriveWarning)
        return _run_and_report(plan, args)


def _run_and_report(plan, args) -> int:
    from .._engine.simulate import simulate

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


def _print_run(res, plan, args):
    """The summary lines: whole-population counts and rates, and the first spike times of neuron 0 only."""
    import numpy as np
    from . import values as cv

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
    from .values import build_model
    from .._engine.simulate import simulate
    current = plan.current
    current = (plan.protocol.current(plan.n_steps, plan.dt_ms, plan.amp[i:i + 1]) if callable(current)
               else current[..., i:i + 1])
    alone = simulate(build_model(plan.cls, 1, plan.sets), current, plan.duration, plan.dt, record=("V",),
                     time_varying=plan.time_varying, progress=False)
    return alone, 0


def _plot_run(res, plan, args):
    import numpy as np
    from .. import plot as lplot
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
    from . import values as cv
    from .._results.formats import versions

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
