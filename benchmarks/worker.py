"""Run one benchmark case in a fresh process and print its result as JSON.

Used for the peak-memory table (``ru_maxrss`` of a process that ran only this
case) and for the cold compile-time demo.  Usage (internal)::

    python -m benchmarks.worker '{"kind": "forward", "impl": "lapicque", "model": "LIF", "n": 1000, "steps": 100}'

The last line printed is ``RESULT {json}``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any, Dict

from ._common import rss_now_mb, rss_peak_mb, thread_env

PREFIX = "RESULT "


def run_case(case: Dict[str, Any]) -> Dict[str, Any]:
    kind = case["kind"]
    if kind == "compile_demo":
        return _compile_demo(case)
    import jax  # noqa: F401  (import cost not part of the baseline growth)

    if kind == "forward":
        from . import models  # noqa: F401

        if case["impl"] in ("lapicque", "brainpy"):
            models.model_class(case["impl"], case["model"])  # import the library first
    elif kind == "train":
        from . import training  # noqa: F401

        if case["impl"] in ("lapicque", "brainpy"):
            from .models import model_class

            model_class(case["impl"], "LIF")
        else:
            import torch  # noqa: F401
    base = rss_now_mb()
    t0 = time.perf_counter()
    if kind == "forward":
        if case["impl"] in ("lapicque", "brainpy"):
            fn, _ = models.build_forward(case["impl"], case["model"], case["n"], case["steps"],
                                         store=case.get("store", "float"))
        else:
            from .peers import build_peer

            fn = build_peer(case["impl"], case["model"], case["n"], case["steps"])
    elif kind == "train":
        fn = training.build_train(case["impl"], case["n"], case.get("batch", 16), case["steps"])
    else:
        raise ValueError(kind)
    fn()
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    fn()
    second = time.perf_counter() - t1
    t2 = time.perf_counter()
    fn()
    third = time.perf_counter() - t2
    return {"first_s": first, "second_s": second, "run_s": third, "rss_base_mb": base,
            "rss_peak_mb": rss_peak_mb()}


def _compile_demo(case):
    """First-call time of every model (build, trace, compile, one short run)."""
    t_import = time.perf_counter()
    from . import models

    models.model_class(case["impl"], case["models"][0])
    import_s = time.perf_counter() - t_import
    per, per2 = {}, {}
    for name in case["models"]:
        t0 = time.perf_counter()
        fn, _ = models.build_forward(case["impl"], name, case["n"], case["steps"])
        fn()
        t1 = time.perf_counter()
        fn()
        per[name], per2[name] = t1 - t0, time.perf_counter() - t1
    return {"import_s": import_s, "first_call_s": per, "second_call_s": per2, "total_s": sum(per.values()),
            "total2_s": sum(per2.values()), "rss_peak_mb": rss_peak_mb()}


def spawn(case: Dict[str, Any], timeout: float = 600.0, threads: int = 1) -> Dict[str, Any]:
    """Run ``case`` in a subprocess; return its result or ``{'error': ...}``."""
    env = dict(os.environ)
    env.update(thread_env(threads))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.worker", json.dumps(case)],
                              capture_output=True, text=True, timeout=timeout, env=env, cwd=root)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(PREFIX):
            return json.loads(line[len(PREFIX):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"error": f"exit {proc.returncode}: {tail[0][:160]}"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    case = json.loads(argv[0])
    try:
        out = run_case(case)
    except Exception as e:  # noqa: BLE001 - report, don't crash the suite
        out = {"error": f"{type(e).__name__}: {str(e)[:200]}"}
    print(PREFIX + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
