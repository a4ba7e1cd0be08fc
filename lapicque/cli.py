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

import os
import sys
from typing import Optional, Sequence

# the standard library only (each command imports the simulator when it runs); a module per command in _cli/
from ._cli.common import MAX_NEURONS as MAX_NEURONS, MAX_STEPS as MAX_STEPS
from ._cli.common import OTHER_MODELS as OTHER_MODELS, RASTER_ROWS as RASTER_ROWS, CLIError as CLIError
from ._cli.demo import cmd_demo as cmd_demo
from ._cli.fi import cmd_fi as cmd_fi
from ._cli.helpers import _progress as _progress
from ._cli.listing import cmd_list as cmd_list, cmd_presets as cmd_presets
from ._cli.parser import _glue_negative_values, _parse, _whole as _whole, build_parser as build_parser
from ._cli.patterns import cmd_patterns as cmd_patterns
from ._cli.run import _record_arg as _record_arg, cmd_run as cmd_run

__all__ = ["main", "build_parser", "parse_quantity", "format_quantity", "CLIError"]


def __getattr__(name):  # the value parsers live in _cli_values (they import saiunit, hence JAX)
    if name in ("parse_quantity", "format_quantity", "model_parameters"):
        from ._cli import values as _cli_values
        return getattr(_cli_values, name)
    raise AttributeError(f"module 'lapicque.cli' has no attribute {name!r}")


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
