"""``lapicque patterns``: run and plot a published firing pattern, or a family of them."""

from __future__ import annotations

from .common import CLIError
from .helpers import _print_columns


def cmd_patterns(args) -> int:
    import warnings
    from ..presets import DriveWarning
    with warnings.catch_warnings():  # the published initial states are deliberate (Gif H starts at V = V_th)
        warnings.simplefilter("ignore", DriveWarning)
        return _patterns(args)


def _patterns(args) -> int:
    from .. import patterns
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
    from .values import format_times_at_dt
    print(f"{pat.key}: {pat.name} ({pat.model}, {pat.family}), {pat.duration_ms:g} ms at dt = {res.dt_ms:g} ms")
    print(f"spikes: {res.spike_times.size}; first: {format_times_at_dt(res.spike_times[:8], res.dt_ms) or 'none'}")
    print(f"classified: {c.label} -- {'confirmed' if c.passed else 'NOT confirmed'} ({pat.criterion})")
    from .. import plot as lplot
    path = args.plot or f"pattern_{pat.key}.png"
    lplot.save(lplot.pattern(res, passed=c.passed), path)
    print(f"wrote {path}")
    return 0
