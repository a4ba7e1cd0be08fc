"""Virtual environments for the network benchmark's compiled peers (never a lapicque dependency).

Two peers cannot share lapicque's environment:

* **Brian2 2.11** needs Python >= 3.13 (and no longer numpy < 2.4);
* **ANNarchy 5** is a source package: building it needs ``cmake`` (installed from PyPI next to it) and a C++
  compiler; at run time it calls that ``cmake`` again to build the generated network code.

``python -m benchmarks.peer_envs install`` creates one virtual environment per peer under
``$LAPICQUE_PEERS_DIR`` (default ``~/.cache/lapicque/bench-peers``): ``brian2-2.11`` (with a Python 3.13 found
on ``PATH`` or in ``$(pyenv root)/versions``) and ``annarchy`` (with this interpreter's Python).  A peer that
cannot be installed is skipped with the reason printed; the benchmark then leaves its column out.
``python -m benchmarks.peer_envs`` lists what is there.  Brian2 2.9 runs from lapicque's own environment
(``pip install "brian2<2.10" "numpy<2.4"``, as ``make bench`` does).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

#: peer name -> (pip requirements, Python version wanted or None for this interpreter's)
PEERS = {
    "brian2-2.11": (["brian2==2.11.*"], "3.13"),
    "annarchy": (["cmake", "annarchy>=5,<6"], None),
}


def peers_dir() -> Path:
    return Path(os.environ.get("LAPICQUE_PEERS_DIR", Path.home() / ".cache" / "lapicque" / "bench-peers"))


def default_python(name: str) -> Optional[str]:
    """The interpreter of peer ``name``'s environment, or None if it was not installed."""
    py = peers_dir() / name / "bin" / "python"
    return str(py) if py.exists() else None


def find_python(version: Optional[str]) -> Optional[str]:
    """An interpreter of ``version`` (``"3.13"``): on PATH, else the newest pyenv build; None = this one's base."""
    if version is None:
        return getattr(sys, "_base_executable", None) or sys.executable
    found = shutil.which(f"python{version}")
    if found and _runs(found):  # a pyenv shim is on PATH even where that version is not selected: try it
        return found
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30).stdout.strip() or root
    except (OSError, subprocess.TimeoutExpired):
        pass
    builds = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")))
    return builds[-1] if builds else None


def _runs(python: str) -> bool:
    """Whether ``python`` starts (a pyenv shim of an unselected version exits with an error)."""
    try:
        return subprocess.run([python, "-c", "import sys"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def install(name: str, log=print) -> Optional[str]:
    """Create peer ``name``'s environment (if missing) and install it; returns its interpreter or None."""
    reqs, version = PEERS[name]
    target = peers_dir() / name
    base = find_python(version)
    if base is None:
        log(f"skip {name}: no Python {version} found (PATH or pyenv)")
        return None
    py = target / "bin" / "python"
    try:
        if not py.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([base, "-m", "venv", str(target)], check=True, capture_output=True, text=True)
        for req in reqs:  # one at a time: ANNarchy's build needs cmake installed first
            subprocess.run([str(py), "-m", "pip", "install", "-q", req], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as err:
        tail = (err.stderr or err.stdout or "").strip().splitlines()[-2:]
        log(f"skip {name}: {' | '.join(tail)[-300:] or err}")
        return None
    log(f"{name}: {py}")
    return str(py)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.peer_envs", description=__doc__.split("\n\n")[0])
    p.add_argument("action", nargs="?", default="list", choices=("list", "install"))
    p.add_argument("--peers", default=",".join(PEERS), help=f"subset of {','.join(PEERS)}")
    a = p.parse_args(argv)
    found: Dict[str, Optional[str]] = {}
    for name in a.peers.split(","):
        found[name] = install(name) if a.action == "install" else default_python(name)
        if a.action == "list":
            print(f"{name}: {found[name] or 'not installed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
