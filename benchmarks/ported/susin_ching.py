"""Susin & Destexhe (2021) CHING gamma network (RS + FS + chattering AdEx groups), as brainpy.state's example.

Equivalent of https://github.com/brainpy/BrainPy/blob/master/examples_state/
111_Susin_Destexhe_2021_gamma_oscillation_CHING.py
(Apache-2.0, Copyright 2024 BrainX Ecosystem Limited), written for this benchmark (not a copy); see ``_susin.py``.
19,000 RS + 5,000 FS + 1,000 CH; run 300 ms of the published 6 s to keep the benchmark short.
"""

import saiunit as u

from ._susin import CH, FS, RS, build_net

SOURCE = ("https://github.com/brainpy/BrainPy/blob/master/examples_state/"
          "111_Susin_Destexhe_2021_gamma_oscillation_CHING.py")
DURATION_MS = 300.


def build(bp):
    exc, inh1, inh2, ext1, ext2 = 1. * u.nS, 7. * u.nS, 5. * u.nS, 1. * u.nS, 0.75 * u.nS
    return build_net(bp, {"RS": (19000, RS), "FS": (5000, FS), "CH": (1000, CH)}, "RS",
                     ext=[("FS", 0.02, ext2), ("RS", 0.02, ext1), ("CH", 0.02, ext1)],
                     recurrent=[("RS", "FS", 0.02, exc, "ge"), ("RS", "RS", 0.02, exc, "ge"),
                                ("RS", "CH", 0.02, exc, "ge"), ("FS", "RS", 0.02, inh1, "gi"),
                                ("FS", "FS", 0.02, inh2, "gi"), ("FS", "CH", 0.02, inh1, "gi"),
                                ("CH", "RS", 0.02, exc, "ge"), ("CH", "FS", 0.02, exc, "ge"),
                                ("CH", "CH", 0.02, exc, "ge")],
                     taus=(5. * u.ms, 5. * u.ms), low=1., high=2., duration_ms=DURATION_MS)
