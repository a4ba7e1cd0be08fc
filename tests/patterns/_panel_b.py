"""Gif panel B in its own process (``python tests/patterns/_panel_b.py``): the default precision ('auto') from a
float32 process, a mixed batch, then a float64 process as a user would set it up; prints one ``RESULT <json>`` line."""

import json

import brainstate
import jax

from lapicque import patterns as P
def main():
    out = {}
    # 1. the default (precision='auto') from a float32 process: runs B in float64, then restores both flags
    r = P.run("B")
    out["auto"] = dict(spikes=r.spike_times.tolist(), precision=r.precision,
                       x64_after=bool(jax.config.jax_enable_x64),
                       brainstate_after=brainstate.environ.get_precision(), passed=P.classify(r).passed)
    mixed = P.run_all(keys=["A", "B"])
    out["mixed"] = dict(precision={k: r.precision for k, r in mixed.items()},
                        passed={k: P.classify(r).passed for k, r in mixed.items()},
                        x64_after=bool(jax.config.jax_enable_x64))
    # 2. a float64 process, as a user would set it up
    jax.config.update("jax_enable_x64", True)
    brainstate.environ.set(precision=64)
    runs = {dt: P.run("B", dt) for dt in (0.1, 0.01)}
    out["x64"] = {str(dt): r.spike_times.tolist() for dt, r in runs.items()}
    out["x64_precision"] = runs[0.1].precision
    out["x64_classified"] = P.classify(runs[0.1]).passed
    print("RESULT" + json.dumps(out))


if __name__ == "__main__":
    main()
