"""The XLA option lapicque asks for in every program of the process, so a user's own loop gets it too.

``simulate`` compiles its loop with XLA's CPU copy-insertion region analysis
(:mod:`lapicque._engine.compile`): where several kernels of a loop body read the
states one of them overwrites, XLA otherwise copies them every step (the E/I
network's step: 21 kernels in a user's ``for_loop``, 14 with the option).  A
user's ``brainstate.transform.for_loop`` is compiled by JAX, not by lapicque, so
the option has to be in ``XLA_FLAGS`` before JAX creates its CPU client:
importing lapicque adds it there.  It only decides where XLA may update buffers
in place; values are unchanged.

Only for the jaxlib versions it was tested with (an unknown flag stops XLA at
start-up); set ``LAPICQUE_XLA_FLAGS=0`` to leave ``XLA_FLAGS`` alone.  If JAX
created its CPU client before lapicque was imported, the flag has no effect
there (``simulate`` still passes the option to its own compilation).
"""

from __future__ import annotations

import os

__all__ = ["FLAG", "TESTED_JAXLIB", "add_xla_flags"]

FLAG = "--xla_cpu_copy_insertion_use_region_analysis=true"
#: jaxlib (major, minor) versions whose XLA knows the flag (checked by starting XLA with it)
TESTED_JAXLIB = {(0, 10), (0, 12)}


def _jaxlib_version():
    try:
        from importlib.metadata import version
        major, minor = (int(x) for x in version("jaxlib").split(".")[:2])
        return major, minor
    except Exception:  # not installed, or an unusual version string
        return None


def add_xla_flags(environ=os.environ) -> bool:
    """Add :data:`FLAG` to ``XLA_FLAGS`` unless opted out, already there, or the jaxlib is untested.

    Examples
    --------
    >>> env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    >>> add_xla_flags(env) == (_jaxlib_version() in TESTED_JAXLIB)
    True
    >>> add_xla_flags({"LAPICQUE_XLA_FLAGS": "0"})
    False
    """
    if environ.get("LAPICQUE_XLA_FLAGS", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    flags = environ.get("XLA_FLAGS", "")
    if "xla_cpu_copy_insertion_use_region_analysis" in flags or _jaxlib_version() not in TESTED_JAXLIB:
        return False
    environ["XLA_FLAGS"] = f"{flags} {FLAG}".strip()
    return True
