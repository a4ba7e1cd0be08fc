"""brainpy.state's published example scripts, ported by changing the import: lapicque vs brainpy.state.

Each module here is an equivalent of one published brainpy.state example (its source address and licence in
its docstring; written for this benchmark, not copied): ``build(bp)`` builds the script's network with library
``bp`` -- ``brainpy.state`` or ``lapicque``, the one line a port changes -- and returns ``(run, outputs)``:
``run()`` runs the script's own loop once (its ``brainstate.transform.for_loop``, as published), ``outputs(out)``
names the spike arrays (or the loss) to compare.  ``python -m benchmarks.ported`` runs each script in a fresh
process, both libraries in that process, timed interleaved (two warm-up calls, then ``--repeats`` rounds,
medians), compares the mean rate of every population (within :data:`RATE_RTOL`) and prints the speed-up of
lapicque over brainpy.state and its geometric mean over the scripts that ran on both with agreeing outputs.
"""

SCRIPTS = ("ei_net_1996", "coba_2005", "cuba_2005", "cuba_2005_two_pops", "fast_global_oscillation",
           "susin_ai", "susin_ching", "susin_ing", "susin_ping", "surrogate_grad_lif")
#: population rates (or the loss) of the two libraries agree within this fraction (chaotic networks: the two
#: libraries draw their random initial states and connectivity from the same seed, but not always in the same
#: order, so spike trains differ while rates agree within a few %)
RATE_RTOL = 0.10
