"""Susin & Destexhe (2021) asynchronous-irregular network (RS + FS AdEx, Poisson drive), as brainpy.state's example.

Equivalent of https://github.com/brainpy/BrainPy/blob/master/examples_state/
110_Susin_Destexhe_2021_gamma_oscillation_AI.py
(Apache-2.0, Copyright 2024 BrainX Ecosystem Limited), written for this benchmark (not a copy); see ``_susin.py``.
20,000 RS + 5,000 FS; run 300 ms of the published 2 s to keep the benchmark short.
"""

import saiunit as u

from ._susin import FS, RS, build_net

SOURCE = ("https://github.com/brainpy/BrainPy/blob/master/examples_state/"
          "110_Susin_Destexhe_2021_gamma_oscillation_AI.py")
DURATION_MS = 300.


def build(bp):
    exc, inh, ext = 1. * u.nS, 5. * u.nS, 1. * u.nS
    return build_net(bp, {"RS": (20000, RS), "FS": (5000, FS)}, "RS",
                     ext=[("FS", 0.02, ext), ("RS", 0.02, ext)],
                     recurrent=[("RS", "RS", 0.02, exc, "ge"), ("RS", "FS", 0.02, exc, "ge"),
                                ("FS", "FS", 0.02, inh, "gi"), ("FS", "RS", 0.02, inh, "gi")],
                     taus=(5. * u.ms, 5. * u.ms), low=2., high=2., duration_ms=DURATION_MS)
