"""The argument parser of ``lapicque``: its sub-commands and options, ``--config`` merged, negative values glued."""

from __future__ import annotations

import argparse
import math
import re
from typing import List, Optional, Sequence

from .common import MAX_NEURONS, CLIError
from .config import _config_argv
from .demo import cmd_demo
from .fi import cmd_fi
from .helpers import _preset, _preset_current
from .listing import cmd_list, cmd_presets
from .patterns import cmd_patterns
from .run import cmd_run


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


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("lapicque")
    except Exception:  # noqa: BLE001 - a source tree without installed metadata
        from .. import __version__
        return __version__


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
