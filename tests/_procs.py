"""Multi-device test processes: one script on 4 CPU devices and one on 2 processes x 2 devices (jax.distributed).

The flag that gives JAX several CPU devices must be set before JAX starts, so these checks run in
subprocesses that print one ``RESULT <json>`` line.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _result(out):
    return json.loads([x for x in out.splitlines() if x.startswith("RESULT ")][-1][len("RESULT "):])


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def run_four_and_two_hosts(four_script, hosts_script, four_flags=""):
    """Run ``four_script`` on 4 CPU devices and ``hosts_script`` as 2 jax.distributed processes of 2 devices
    (argv: coordinator address, process id), all at once; return ``{"four": ..., "host0": ..., "host1": ...}``,
    each the parsed RESULT or ``{"error": stderr tail}``."""
    base = os.environ.get("XLA_FLAGS", "")

    def env(n, extra=""):
        return {**os.environ, "JAX_PLATFORMS": "cpu",
                "XLA_FLAGS": f"{base} --xla_force_host_platform_device_count={n} {extra}".strip()}
    address = f"localhost:{_free_port()}"
    pipes = dict(cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs = {"four": subprocess.Popen([sys.executable, "-c", four_script], env=env(4, four_flags), **pipes)}
    for i in range(2):
        procs[f"host{i}"] = subprocess.Popen([sys.executable, "-c", hosts_script, address, str(i)], env=env(2),
                                             **pipes)
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
