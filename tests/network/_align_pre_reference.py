"""brainpy.state's presynaptic idiom, written once and run with either library (``test_align_pre.py``).

``run(bst)`` builds a thalamus-style network (Li, Henriquez & Froehlich 2017, as brainpy.state's
example writes it) with ``bst`` = ``brainpy.state`` or ``lapicque``, the only line that changes:
four presynaptic LIF neurons (three driven to fire at different rates, one silent), one STD shared
by three chains (the same descriptor), each chain ending in a receptor whose ``g`` feeds a
``CurrentProj``::

    pre.align_pre(bst.STD.desc(tau=700 ms, U=0.07)).align_pre(bst.AMPA(...)).prefetch('g')             -> COBA
    pre.align_pre(bst.STD.desc(tau=700 ms, U=0.07)).align_pre(bst.BioNMDA(...)).prefetch_delay('g', 2 ms) -> MgBlock
    pre.align_pre(bst.STD.desc(tau=700 ms, U=0.07)).align_pre(bst.GABAa(...)).prefetch_delay('g', 2 ms)   -> COBA

and returns, per step, the conductance each projection bound to its output (mS, one per
postsynaptic neuron) and the postsynaptic V (mV).  ``run_post_wrapper(bst)`` drives the same
presynaptic group through ``bst.align_post_projection`` (an ``Expon`` on the postsynaptic side;
brainpy.state's ``align_pre_projection`` fails on every built-in synapse, see ``lapicque/_network/aligned.py``)
and returns the postsynaptic synapse's ``g``.  Run as a script, it imports brainpy and prints
``REFERENCE_290`` (``test_align_pre.py``) and ``POST_WRAPPER_290`` (``test_projection_helpers.py``):
the conductances every ``EVERY`` steps and the first step at which each is non-zero.  The numbers in
the tests were printed by::

    /tmp/venv312/bin/python tests/network/_align_pre_reference.py    # brainpy 2.9.0, brainstate 0.6.0
"""

import json

import brainstate
import braintools
import brainunit as u
import jax.numpy as jnp
import numpy as np

DT_MS, N_STEPS, EVERY = 0.125, 480, 40
#: presynaptic drive (mV / ohm): periods of ~14, ~7 and ~28 ms; the fourth neuron stays silent
DRIVE = (20., 30., 16., 0.)
W = np.array([[1.0, 0.0, 0.5], [0.5, 1.0, 0.0], [0.0, 2.0, 1.0], [3.0, 3.0, 3.0]])  # (pre, post)
PROJECTIONS = ("ampa", "nmda", "gaba")


def _lif(bst, n, R):
    return bst.LIF(n, R=R, tau=10. * u.ms, V_th=-50. * u.mV, V_reset=-65. * u.mV, V_rest=-65. * u.mV,
                   V_initializer=braintools.init.Constant(-65. * u.mV))


def build(bst):
    """The network; only ``bst`` differs between brainpy.state and lapicque."""
    pre, post = _lif(bst, 4, 1. * u.ohm), _lif(bst, 3, 100. * u.ohm)
    w = jnp.asarray(W, dtype=brainstate.environ.dftype())
    std = bst.STD.desc(tau=700. * u.ms, U=0.07)
    ampa = pre.align_pre(std).align_pre(bst.AMPA(pre.varshape, alpha=0.94 / (u.ms * u.mM), beta=0.18 / u.ms))
    nmda = pre.align_pre(std).align_pre(bst.BioNMDA(pre.varshape))
    gaba = pre.align_pre(std).align_pre(bst.GABAa(pre.varshape, alpha=10.5 / (u.ms * u.mM), beta=0.166 / u.ms))
    projs = {
        "ampa": bst.CurrentProj(ampa.prefetch('g'), comm=lambda g: g @ w, out=bst.COBA(E=0. * u.mV), post=post),
        "nmda": bst.CurrentProj(nmda.prefetch_delay('g', 2. * u.ms), comm=lambda g: g @ w,
                                out=bst.MgBlock(E=0. * u.mV, alpha=0.062 / u.mV, V_offset=0. * u.mV), post=post),
        "gaba": bst.CurrentProj(gaba.prefetch_delay('g', 2. * u.ms), comm=lambda g: g @ (0.5 * w),
                                out=bst.COBA(E=-80. * u.mV), post=post),
    }
    return pre, post, projs


def run(bst, n_steps=N_STEPS):
    """Per step: each projection's bound conductance (mS) and the postsynaptic V (mV), as numpy arrays."""
    with brainstate.environ.context(dt=DT_MS * u.ms):
        pre, post, projs = build(bst)
        brainstate.nn.init_all_states([pre, post, *projs.values()])
        drive = jnp.asarray(DRIVE) * u.mV / u.ohm

        def step(i):
            with brainstate.environ.context(t=i * DT_MS * u.ms, i=i):
                for p in projs.values():
                    p()
                g = {k: p.out._conductance.to_decimal(u.mS) for k, p in projs.items()}
                post(0. * u.uA)
                pre(drive)
            return {**g, "V": post.V.value.to_decimal(u.mV)}

        out = brainstate.transform.for_loop(step, jnp.arange(n_steps))
    return {k: np.asarray(v) for k, v in out.items()}


def run_post_wrapper(bst, n_steps=N_STEPS):
    """``align_post_projection(pre, comm, Expon.desc, COBA.desc, post)``: the postsynaptic ``g`` (mS) per step."""
    with brainstate.environ.context(dt=DT_MS * u.ms):
        pre, post = _lif(bst, 4, 1. * u.ohm), _lif(bst, 3, 100. * u.ohm)
        w = jnp.asarray(W, dtype=brainstate.environ.dftype())
        # brainpy.state hands the comm a brainevent.BinaryArray (its data in .value), lapicque the spikes themselves
        proj = bst.align_post_projection(pre, comm=lambda x: (getattr(x, "value", x) @ w) * u.mS,
                                         syn=bst.Expon.desc(3, tau=5. * u.ms), out=bst.COBA.desc(E=0. * u.mV),
                                         post=post)
        brainstate.nn.init_all_states([pre, post, proj])
        drive = jnp.asarray(DRIVE) * u.mV / u.ohm

        def step(i):
            with brainstate.environ.context(t=i * DT_MS * u.ms, i=i):
                proj(drive)                 # runs pre, then hands its spikes on
                post(0. * u.uA)             # advances the shared synapse, then integrates
            return {"post_g": proj.projection.syn.g.value.to_decimal(u.mS), "V": post.V.value.to_decimal(u.mV)}

        out = brainstate.transform.for_loop(step, jnp.arange(n_steps))
    return {k: np.asarray(v) for k, v in out.items()}


def summary(traces, names=PROJECTIONS):
    """What the test stores: every EVERY-th step's conductances and each projection's first non-zero step."""
    return {k: {"first": int(np.argmax(np.any(traces[k] > 0, axis=1))),
                "every": np.round(traces[k][::EVERY].astype(float), 7).tolist()} for k in names}


if __name__ == "__main__":
    import brainpy
    print(json.dumps({"brainpy": brainpy.__version__, **summary(run(brainpy.state)),
                      **summary(run_post_wrapper(brainpy.state), ("post_g",))}))
