r"""Published firing patterns as data: run them, classify them, draw the gallery.

Two collections, mapped to the seed's parameterisation
(``tau dV/dt = -(V - V_rest) + ... + R I``):

* :data:`ADEX` -- the eight AdEx firing patterns of Naud et al. (2008), with the
  parameters of Brian2's example (Touboul & Brette form, step current from
  ``t = 0``, ``V(0) = E_L``, ``w(0) = 0``, cut-off ``V_peak = 0 mV``, no refractory
  period), on :class:`lapicque.AdExIF`.  Mapping: ``tau = C / g_L``,
  ``R = 1 / g_L`` (10 nS -> 100 MOhm), ``a`` in nS, ``b`` and ``I`` in pA,
  ``V_th = V_peak``, ``V_reset = V_r``, ``V_rest = E_L``.
* :data:`GIF` -- the twenty behaviours A-T of Mihalaş & Niebur (2009, Table 1 and
  Fig. 1) on :class:`lapicque.Gif`, whose defaults are the paper's common
  parameters.  With ``tau = 20 ms`` and ``R = 20 ohm`` the paper's currents
  ``I/C`` in V/s are currents in mA here (1 V/s -> 1 mA), and ``a`` in 1/s is
  ``a / 1000`` per ms.  ``V(0) = -70 mV``, ``V_th(0) = -50 mV`` (panel H: both
  -30 mV), ``I1(0) = I2(0) = 0``.

Every pattern uses ``spk_reset='hard'`` (reset exactly to ``V_reset``) and the
current is piecewise constant.  :func:`run` / :func:`run_all` simulate them
(patterns of one family share one compiled run: one neuron per pattern, with
per-neuron parameter arrays), :func:`classify` measures the spike train and
decides whether it shows the behaviour the pattern is named after, and
:func:`gallery` draws the papers' figure (``V`` and the input current per
panel) with a headless Agg canvas.

Time convention: the state after step ``k`` (``k = 1 .. n``) belongs to time
``k * dt``; a spike is the first grid time at which ``V >= V_th``.  A pattern
whose *initial* state is at threshold (Gif panel H starts at
``V = V_th = -30 mV``) spikes at ``t = 0``: the first update resets it.

Examples
--------
>>> from lapicque import patterns
>>> res = patterns.run("A")                     # Gif tonic spiking, dt = 0.1 ms
>>> res.spike_times[:3]
array([22., 44., 66.])
>>> c = patterns.classify(res)
>>> c.passed, c.label
(True, 'tonic spiking')
>>> patterns.classify(patterns.run("initial_burst")).label
'initial burst'
"""

from ._tables import ADEX, GIF, PATTERNS, Pattern, get, table
from ._run import PatternResult, run, run_all
from ._classify import (BURST_RATIO, REGULAR_BURST_CV, Classification, adex_label, classify, classify_all,
                        spike_features, split_groups, summary)
from ._gallery import gallery

__all__ = [
    "Pattern", "PatternResult", "Classification",
    "ADEX", "GIF", "PATTERNS", "get", "table",
    "run", "run_all", "classify", "classify_all", "summary", "spike_features", "split_groups", "adex_label",
    "gallery",
]
