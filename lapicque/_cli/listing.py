"""``lapicque list`` and ``lapicque presets``: the models and the presets, from static data."""

from __future__ import annotations

from .common import OTHER_MODELS
from .helpers import _preset, _print_columns


def cmd_list(args) -> int:
    """The models, from static data (:mod:`lapicque._cli.catalog`): no JAX is imported, so it answers at once."""
    from . import catalog
    names = [catalog.model_name(args.model)] if args.model else list(catalog.MODELS)
    if not args.model:
        others = [n for n in names if n in OTHER_MODELS]
        print(f"{len(names)} models: {len(names) - len(others)} integrate-and-fire models, then {', '.join(others)}. "
              f"Defaults are shown as the command line writes them; change them with "
              f"`lapicque run MODEL --set NAME=VALUE`; --current is in the model's input unit.\n")
    for name in names:
        print("\n".join(catalog.lines(name)))
    from ..presets import PRESETS
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
    from ..presets import PRESETS
    chosen = [_preset(args.name)[0]] if args.name else list(PRESETS.values())
    if not args.name:
        print("Physiological presets: `lapicque run [MODEL] --preset NAME`; --set NAME=VALUE overrides a value. "
              "In Python: lapicque.presets.NAME(n).\n")
    for preset in chosen:
        print("\n".join(preset.describe()) + "\n")
    return 0
