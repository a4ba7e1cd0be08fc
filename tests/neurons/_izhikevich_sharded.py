"""The check of ``test_model_core.py::test_izhikevich_sharded``: a user-defined model on 2 CPU devices.

JAX gets its CPU devices from ``XLA_FLAGS`` when it starts, so this runs in a process of its own (the
flag is set here before JAX is imported, if the caller did not).  By hand, from the repository root::

    python tests/neurons/_izhikevich_sharded.py

It simulates ``examples/izhikevich.py``'s model, 10 neurons under 10 currents, once unsharded and once
with ``devices=2``, and prints one ``RESULT <json>`` line: whether the spike counts are equal, the
largest difference of V (mV) and the number of spikes.
"""

import json
import os
import sys
from pathlib import Path

flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in flags:
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count=2".strip()

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

import numpy as np  # noqa: E402
import saiunit as u  # noqa: E402
from izhikevich import Izhikevich  # noqa: E402

import lapicque as lq  # noqa: E402


def main():
    I = np.linspace(5., 15., 10) * u.mA  # noqa: E741
    a = lq.simulate(Izhikevich(10), I, 100 * u.ms, record=("V",), progress=False)
    b = lq.simulate(Izhikevich(10), I, 100 * u.ms, record=("V",), progress=False, devices=2)
    print("RESULT " + json.dumps({
        "same_counts": bool(np.array_equal(a.spike_count, b.spike_count)),
        "max_dV": float(np.max(np.abs(np.asarray(a.traces["V"].to_decimal(u.mV))
                                      - np.asarray(b.traces["V"].to_decimal(u.mV))))),
        "spikes": int(np.sum(a.spike_count))}), flush=True)


if __name__ == "__main__":
    main()
