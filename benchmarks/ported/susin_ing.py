"""Susin & Destexhe (2021) ING gamma network (RS + two FS AdEx groups), as brainpy.state's example.

Equivalent of https://github.com/brainpy/BrainPy/blob/master/examples_state/
112_Susin_Destexhe_2021_gamma_oscillation_ING.py
(Apache-2.0, Copyright 2024 BrainX Ecosystem Limited), written for this benchmark (not a copy); see ``_susin.py``.
20,000 RS + 4,000 FS + 1,000 FS2; run 300 ms of the published 6 s to keep the benchmark short.
"""

import saiunit as u

from ._susin import FS, RS, build_net

SOURCE = ("https://github.com/brainpy/BrainPy/blob/master/examples_state/"
          "112_Susin_Destexhe_2021_gamma_oscillation_ING.py")
DURATION_MS = 300.


def build(bp):
    exc, inh, ext = 1. * u.nS, 5. * u.nS, 0.9 * u.nS
    return build_net(bp, {"RS": (20000, RS), "FS": (4000, FS), "FS2": (1000, FS)}, "RS",
                     ext=[("FS", 0.02, ext), ("RS", 0.02, ext), ("FS2", 0.02, ext)],
                     recurrent=[("RS", "RS", 0.02, exc, "ge"), ("RS", "FS", 0.02, exc, "ge"),
                                ("RS", "FS2", 0.15, exc, "ge"), ("FS", "RS", 0.02, inh, "gi"),
                                ("FS", "FS", 0.02, inh, "gi"), ("FS", "FS2", 0.03, inh, "gi"),
                                ("FS2", "RS", 0.15, exc, "gi"), ("FS2", "FS", 0.15, exc, "gi"),
                                ("FS2", "FS2", 0.6, exc, "gi")],
                     taus=(5. * u.ms, 5. * u.ms), low=2., high=3., duration_ms=DURATION_MS)
