"""``lapicque demo``: the illustrated report of all models, as PNG + NPZ + HTML."""

from __future__ import annotations

import os


def cmd_demo(args) -> int:
    import time
    from .demo_network import network_section
    from ..report import run_demo
    import warnings
    from ..presets import DriveWarning
    t_start = time.time()
    with warnings.catch_warnings():  # the report runs the reference's defaults and the published patterns on purpose
        warnings.simplefilter("ignore", DriveWarning)
        files = run_demo(args.out, quick=args.quick, log=print, extra_sections=[network_section])
    print(f"wrote {len(files)} files to {os.path.abspath(args.out)} in {time.time() - t_start:.0f} s; "
          f"open {os.path.join(os.path.abspath(args.out), 'index.html')}")
    return 0
