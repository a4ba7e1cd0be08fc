"""Merge the JSON results of several partial runs into one Markdown report.

The full suite is long on a small machine, so it is often run in parts, each
with its own ``--stem``; this joins them::

    python -m benchmarks.merge                       # benchmarks/results/*.json -> results/combined.md
    python -m benchmarks.merge a.json b.json -o out.md

Tables with the same key (e.g. ``forward`` from three runs) are concatenated
in the order of the files (a case measured again in a later file replaces the
earlier row); each part's machine line is kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._common import RESULTS_DIR, Table


#: fields that name a case (rows equal in all of them are the same case)
_IDENTITY = ("model", "N", "T", "store", "impl", "n", "case", "what", "axis")


def merge(paths, out: Path) -> Path:
    tables, machines = {}, []
    for p in paths:
        data = json.loads(Path(p).read_text())
        m = data.get("machine", {})
        machines.append(f"- `{Path(p).name}`: {m.get('date')}, load {m.get('load_average_start')} -> "
                        f"{m.get('load_average_end')}, {m.get('wall_s')} s, jax {m.get('jax')}, "
                        f"brainpy {m.get('brainpy')}, threads {m.get('threads')}")
        for key, t in data.get("tables", {}).items():
            if key not in tables:
                cols = [(c, c, "g") for c in t["columns"]]
                tables[key] = (Table(key, t["title"], cols), t["columns"])
                for n in t.get("notes", []):
                    tables[key][0].note(n)
            tab = tables[key][0]
            for row in t["rows"]:
                ident = tuple(row.get(k) for k in _IDENTITY)
                # a case measured again in a later part replaces the earlier row
                tab.rows = [r for r in tab.rows if tuple(r.get(k) for k in _IDENTITY) != ident]
                tab.add(**row)
    fmt_kinds = {"lapicque": "rate", "brainpy": "rate", "rate": "rate", "ratio": "x", "ratio_cpu": "x",
                 "frac": "x", "rss_peak_mb": "mb", "growth_mb": "mb", "record_mb": "mb"}
    lines = ["# lapicque benchmarks (merged)", "", "Parts:", *machines, ""]
    for key, (t, cols) in tables.items():
        t.columns = [(c, c, fmt_kinds.get(c, "g")) for c in cols]
        lines.append(t.markdown())
    out.write_text("\n".join(lines))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.merge", description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", type=Path)
    p.add_argument("-o", "--out", type=Path, default=RESULTS_DIR / "combined.md")
    a = p.parse_args(argv)
    files = a.files or sorted(f for f in RESULTS_DIR.glob("*.json"))
    if not files:
        sys.exit("no result files")
    print(merge(files, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
