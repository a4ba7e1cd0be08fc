"""``lapicque fi``: the f-I curve, the firing rate against a constant input."""

from __future__ import annotations

from .common import CLIError
from .helpers import _drive_warnings, _model_and_sets, _progress, _seed_initial_values, _write_json


def _fi_plan(args):
    """Every option of ``fi``, checked before anything is simulated (a namespace of the parsed values)."""
    import numpy as np
    from types import SimpleNamespace
    from . import values as cv

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
    from ..analysis import fi_curve
    from ..presets import DriveWarning

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
        from .. import plot as lplot
        name = plan.cls.__name__
        ax = _plot_fi(plan, rates, name)
        lplot.save(ax.figure, args.plot)
        print(f"wrote {args.plot}")
    if args.json:
        from . import values as cv
        from .._results.formats import versions
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
    from .. import plot as lplot
    return lplot.fi_curve(plan.currents, rates, title=f"{name} f-I curve", label=name)


def _print_fi(plan, args, r) -> None:
    """The f-I table, the inputs in the model's own unit (mA; uA for HH; mV/ms for Izhikevich; plain)."""
    import numpy as np
    import saiunit as u
    from . import values as cv
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
