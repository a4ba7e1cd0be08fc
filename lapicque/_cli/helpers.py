"""What several commands share: presets and ``--set``, drive warnings, progress, columns, JSON files."""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, List

from .common import CLIError


def _print_columns(rows, indent: str = "  ") -> None:
    """Rows of text cells, each column as wide as its widest cell (the last column left ragged)."""
    rows = [tuple(str(c) for c in r) for r in rows]
    if not rows:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print(indent + "  ".join([c.ljust(w) for c, w in zip(r, widths)] + [r[-1]]).rstrip())


def _progress(args, n_steps: int, n: int):
    """None (the simulator's default: a bar only for long runs) on a terminal, else off; flags override."""
    if args.progress is not None:
        return args.progress
    return None if sys.stderr.isatty() else False


def _model_and_sets(args):
    """The model class and its constructor arguments: the ``--preset``'s values, then ``--set`` over them."""
    from . import values as cv
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
    from ..presets import get
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
    from ..presets import check
    messages = check(model, spec.quantity(peak), cli=True)
    if what == "fi":
        messages = [m.replace("(--current ", "(--to ") for m in messages]
    for m in messages:
        print(f"lapicque: warning: {what}: {m}", file=sys.stderr)
    return messages


def _seed_initial_values(plan) -> None:
    """Initial values drawn at random (HH's ``V``) are drawn from ``--seed`` (default 0): the same every run."""
    if plan.random_init:
        import brainstate
        brainstate.random.seed(plan.seed)


def _write_json(path, data):
    import json
    from .._core.atomic import atomic_write
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with atomic_write(path, "w") as f:
        json.dump(data, f, indent=1)
