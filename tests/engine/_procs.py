"""Multi-device test processes: a script beside the tests run on 4 CPU devices and as 2 processes x 2 devices.

The flag that gives JAX several CPU devices must be set before JAX starts, so these checks run in
subprocesses.  The script (``_shard_group.py``, ``_shard_network.py``) takes ``four`` or
``host ADDRESS PROCESS_ID`` (jax.distributed) and prints one ``RESULT <json>`` line.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _result(out):
    return json.loads([x for x in out.splitlines() if x.startswith("RESULT ")][-1][len("RESULT "):])


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def run_four_and_two_hosts(script, four_flags=""):
    """Run ``script`` (a file beside this one) as ``four`` on 4 CPU devices and as ``host ADDRESS ID`` in
    2 jax.distributed processes of 2 devices, all at once; return ``{"four": ..., "host0": ..., "host1": ...}``,
    each the parsed RESULT or ``{"error": stderr tail}``.  ``four_flags`` are added to the first's XLA_FLAGS."""
    base = os.environ.get("XLA_FLAGS", "")
    path = str(Path(__file__).resolve().parent / script)
    pythonpath = os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))

    def env(n, extra=""):
        return {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": pythonpath,  # lapicque of this checkout
                "XLA_FLAGS": f"{base} --xla_force_host_platform_device_count={n} {extra}".strip()}
    address = f"localhost:{_free_port()}"
    pipes = dict(cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs = {"four": subprocess.Popen([sys.executable, path, "four"], env=env(4, four_flags), **pipes)}
    for i in range(2):
        procs[f"host{i}"] = subprocess.Popen([sys.executable, path, "host", address, str(i)], env=env(2), **pipes)
    out = {}
    try:
        for key, p in procs.items():
            stdout, stderr = p.communicate(timeout=600)
            out[key] = _result(stdout) if p.returncode == 0 else {"error": stderr[-4000:]}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    return out
