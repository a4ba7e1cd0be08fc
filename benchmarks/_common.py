"""Shared helpers: timing, machine facts, tables, result files."""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: peers that may be installed next to lapicque; import name -> label
PEER_MODULES = {
    "brainpy": "brainpy",
    "brian2": "brian2",
    "nest": "nest-simulator",
    "snntorch": "snntorch",
    "norse": "norse",
    "torch": "torch",
}


def thread_env(threads: int) -> dict:
    """Environment that limits torch / NEST / BLAS (and XLA's Eigen pool) to ``threads`` threads."""
    if threads <= 0:
        return {"LAPICQUE_BENCH_THREADS": "0"}
    env = {"LAPICQUE_BENCH_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            env["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()
    return env


# --------------------------------------------------------------------------
# machine facts
# --------------------------------------------------------------------------
def load_average() -> Optional[List[float]]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None


def version_of(module: str) -> Optional[str]:
    """Version of an installed module without importing it when possible."""
    from importlib import metadata

    dist = {"nest": "nest-simulator", "brainpy": "brainpy"}.get(module, module)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def available(module: str) -> bool:
    """Whether ``module`` can be imported (imports it)."""
    try:
        importlib.import_module(module)
        return True
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return False


def machine_info() -> Dict[str, Any]:
    import jax

    info = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "jax_backend": jax.default_backend(),
        "load_average_start": load_average(),
    }
    for mod in ("lapicque", "brainstate", "braintools", "saiunit", "numpy", *PEER_MODULES):
        info[mod] = version_of(mod)
    return info


def rss_peak_mb() -> float:
    """Peak resident set of this process so far (MiB).

    ``VmHWM`` from ``/proc/self/status`` where available: ``ru_maxrss`` of a
    process started by a large parent (fork + exec) starts at the parent's
    peak on Linux, which would hide the child's own.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 2 ** 20


def rss_now_mb() -> float:
    """Current resident set (MiB), from /proc where available."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (OSError, ValueError):  # pragma: no cover
        return float("nan")


# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------
def block(x):
    """Wait for JAX arrays (any pytree) to be computed."""
    import jax

    return jax.block_until_ready(x)


def timed(fn: Callable[[], Any]) -> tuple:
    """(wall, process CPU) seconds of ``fn()`` (which must block until its result is ready).

    The process CPU time (all threads) is much less sensitive than the wall
    time to other processes competing for the cores.
    """
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = fn()
    t = time.perf_counter() - t0
    c = time.process_time() - c0
    del out
    return t, c


#: a timed sample lasts at least this long: short calls are repeated inside one sample
MIN_SAMPLE_S = 0.05


def _repeat(fn, k):
    if k == 1:
        return fn

    def many():
        out = None
        for _ in range(k):
            out = fn()
        return out

    return many


def interleaved(fns: Dict[str, Callable[[], Any]], repeats: int,
                cpu: Optional[Dict[str, List[float]]] = None,
                min_sample_s: float = MIN_SAMPLE_S) -> Dict[str, List[float]]:
    """Wall times (s per call) of every function, ``repeats`` samples each, alternating between them.

    Interleaving keeps the ratio between implementations honest on a machine
    whose load changes during the run: each round times every function once.
    A call shorter than ``min_sample_s`` (measured once, after the caller's
    warm-up) is repeated ``k`` times inside each sample and the time divided
    by ``k``.  If ``cpu`` is a dict, the process CPU times are stored in it too.
    """
    inner = {}
    for k, fn in fns.items():
        w, _ = timed(fn) if min_sample_s > 0 else (min_sample_s, None)
        inner[k] = int(min(1000, max(1, math.ceil(min_sample_s / max(w, 1e-6))))) if min_sample_s > 0 else 1
    runners = {k: _repeat(fn, inner[k]) for k, fn in fns.items()}
    times = {k: [] for k in fns}
    if cpu is not None:
        cpu.update({k: [] for k in fns})
    for r in range(repeats):
        order = list(fns) if r % 2 == 0 else list(reversed(list(fns)))
        for k in order:
            w, c = timed(runners[k])
            times[k].append(w / inner[k])
            if cpu is not None:
                cpu[k].append(c / inner[k])
    return times


def median(xs: Sequence[float]) -> float:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return statistics.median(xs) if xs else float("nan")


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log(y) against log(x) (1.0 = linear growth)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y and y > 0]
    if len(pts) < 2:
        return float("nan")
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in pts)
    return sxy / sxx if sxx else float("nan")


# --------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------
def fmt(x, kind: str = "g") -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 10000 else str(x)
    if isinstance(x, float) and math.isnan(x):
        return "-"
    if kind == "rate":
        return f"{x:.3g}"
    if kind == "s":
        return f"{x:.3g}"
    if kind == "x":
        return f"{x:.2f}x"
    if kind == "mb":
        return f"{x:.0f}"
    return f"{x:.3g}"


class Table:
    """A titled table of rows (dicts) with column formats, printable as Markdown."""

    def __init__(self, key: str, title: str, columns: Sequence[tuple], note: str = ""):
        self.key = key
        self.title = title
        self.columns = list(columns)  # (field, header, kind)
        self.rows: List[Dict[str, Any]] = []
        self.notes: List[str] = [note] if note else []

    def add(self, **row):
        self.rows.append(row)

    def note(self, text: str):
        self.notes.append(text)

    def markdown(self) -> str:
        heads = [h for _, h, _ in self.columns]
        lines = [f"### {self.title}", "", "| " + " | ".join(heads) + " |",
                 "|" + "|".join("---" for _ in heads) + "|"]
        for row in self.rows:
            cells = [fmt(row.get(f), kind) for f, _, kind in self.columns]
            lines.append("| " + " | ".join(cells) + " |")
        if not self.rows:
            lines.append("| " + " | ".join("-" for _ in heads) + " |")
        for n in self.notes:
            lines.append("")
            lines.append(n)
        return "\n".join(lines) + "\n"

    def to_json(self) -> Dict[str, Any]:
        return {"title": self.title, "columns": [f for f, _, _ in self.columns],
                "rows": self.rows, "notes": self.notes}


def write_results(tables: Sequence[Table], info: Dict[str, Any], out_dir: Path,
                  stem: str = "results") -> Dict[str, Path]:
    """Write ``<stem>.md`` and ``<stem>.json`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    info = dict(info, load_average_end=load_average())
    md = ["# lapicque benchmarks", ""]
    md.append("Machine: " + ", ".join(f"{k}={v}" for k, v in info.items() if v is not None))
    md.append("")
    md.append("Throughput is neuron-updates per second (N x T / median wall time); ratios are "
              "lapicque / peer, so > 1 means lapicque is faster (for times: peer / lapicque).")
    md.append("")
    for t in tables:
        md.append(t.markdown())
    md_path = out_dir / f"{stem}.md"
    md_path.write_text("\n".join(md))
    js_path = out_dir / f"{stem}.json"
    js_path.write_text(json.dumps({"machine": info, "tables": {t.key: t.to_json() for t in tables}},
                                  indent=1, default=_json_default))
    return {"markdown": md_path, "json": js_path}


def _json_default(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
    except ImportError:  # pragma: no cover
        pass
    return str(o)
