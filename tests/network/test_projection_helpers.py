"""Projection, align_pre_projection and align_post_projection: brainpy.state's projection helpers.

``Projection`` is the base of every projection; the two lower-case wrappers run a spike source, optional
short-term plasticity and a projection in one module.  Checked against brainpy.state 2.9 where it runs
(``align_post_projection``; its ``align_pre_projection`` fails on every built-in synapse, see
``lapicque/_network/aligned.py``), against closed forms, and against the ``align_pre`` idiom of the same
chain (which ``test_align_pre.py`` checks against brainpy.state).
"""

import inspect

import brainstate
import braintools
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque
import _align_pre_reference as idiom

#: conductances in mS up to ~2.1, float32 in both libraries: the largest difference measured against
#: brainpy.state is 3.0e-7 (with the stored reference's 1e-7 rounding); 1e-5 leaves a margin of 30 while a
#: spike delivered one step early or late moves a value by > 1e-2.
WRAPPER_ATOL_MS = 1e-5

# printed by tests/network/_align_pre_reference.py under brainpy 2.9.0 (brainstate 0.6.0): the postsynaptic
# Expon's g (mS) every 40th step of run_post_wrapper, and the first step it is non-zero
True
POST_WRAPPER_290 = {"first": 55, "every": [
    [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.2676307, 0.5352613, 0.0],
    [1.2765145, 0.9954278, 0.3894003], [0.4696035, 0.3661974, 0.1432524], [0.3918749, 0.5729514, 0.0526996],
    [1.0848618, 2.0921755, 0.9522148], [0.8747131, 1.7208978, 0.3503003], [0.321789, 0.6330828, 0.1288683],
    [0.8759875, 0.7549439, 0.2957007], [0.7116582, 1.056529, 0.1087822], [0.2618045, 0.3886753, 0.0400187],
]}


def _lif(n, **kw):
    return lapicque.LIF(n, R=1. * u.ohm, tau=10. * u.ms, V_th=-50. * u.mV, V_reset=-65. * u.mV, V_rest=-65. * u.mV,
                        V_initializer=braintools.init.Constant(-65. * u.mV), **kw)


def _spikes_at(steps, n_steps, n=1):
    """A spike generator: ``gen(i)`` is 1 at the given steps, else 0 (n copies)."""
    table = np.zeros((n_steps, n), np.float32)
    table[list(steps)] = 1.
    table = jnp.asarray(table)
    return lambda i: table[i]


# ----------------------------------------------------------------------------------------------------------------
# Projection
# ----------------------------------------------------------------------------------------------------------------
def test_every_projection_is_a_projection():
    post = _lif(2)
    comm = lapicque.EdgeList(1, 2, [0], [1], 1. * u.nS)
    projs = [lapicque.AlignPostProj(comm=comm, syn=lapicque.Expon.desc(2), out=lapicque.COBA.desc(E=0. * u.mV),
                                    post=post),
             lapicque.CurrentProj(comm=comm, out=lapicque.COBA(E=0. * u.mV), post=post),
             lapicque.DeltaProj(comm=lapicque.EdgeList(1, 2, [0], [1], 1. * u.mV), post=post),
             lapicque.align_pre_projection(lambda x: x, syn=lapicque.Expon(1), comm=comm,
                                           out=lapicque.COBA(E=0. * u.mV), post=post),
             lapicque.align_post_projection(lambda x: x, comm=comm, syn=lapicque.Expon.desc(2),
                                            out=lapicque.COBA.desc(E=0. * u.mV), post=post)]
    projs.append(lapicque.FusedProj(projs[2]))
    assert all(isinstance(p, lapicque.Projection) for p in projs)


def test_a_projection_without_update_calls_its_children_in_turn():
    post = lapicque.LIF(3)

    class Two(lapicque.Projection):
        def __init__(self):
            super().__init__()
            self.first = lapicque.DeltaProj(comm=lapicque.EdgeList(1, 3, [0], [0], 1. * u.mV), post=post)
            self.second = lapicque.DeltaProj(comm=lapicque.EdgeList(1, 3, [0], [2], 2. * u.mV), post=post)

    Two()(jnp.array([True]))
    np.testing.assert_allclose(post.sum_delta_inputs(0. * u.mV).to_decimal(u.mV), [1., 0., 2.])
    with pytest.raises(ValueError, match="without child modules must define update"):
        lapicque.Projection()(jnp.array([True]))


@pytest.mark.parametrize("name", ["Projection", "align_pre_projection", "align_post_projection"])
def test_signatures_are_brainpy_states(name):
    """brainpy.state's parameters, in its order and with its defaults (annotations aside)."""
    bs = pytest.importorskip("brainpy").state
    ref = inspect.signature(getattr(bs, name).__init__).parameters
    ours = inspect.signature(getattr(lapicque, name).__init__).parameters
    assert list(ours)[:len(ref)] == list(ref)
    for p in ref:
        assert (ours[p].kind, ours[p].default) == (ref[p].kind, ref[p].default), p


@pytest.mark.parametrize("method", ["align_pre", "prefetch", "prefetch_delay", "output_delay", "sum_current_inputs",
                                    "sum_delta_inputs"])
def test_dynamics_methods_have_brainpy_states_signatures(method):
    bs = pytest.importorskip("brainpy").state
    ref = inspect.signature(getattr(bs.Dynamics, method)).parameters
    ours = inspect.signature(getattr(lapicque.Dynamics, method)).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [(p.name, p.kind, p.default) for p in ref.values()]


# ----------------------------------------------------------------------------------------------------------------
# align_post_projection
# ----------------------------------------------------------------------------------------------------------------
def test_align_post_projection_gives_brainpy_state_290s_synapse():
    got = idiom.summary(idiom.run_post_wrapper(lapicque), ("post_g",))["post_g"]
    assert got["first"] == POST_WRAPPER_290["first"]
    np.testing.assert_allclose(got["every"], POST_WRAPPER_290["every"], rtol=0, atol=WRAPPER_ATOL_MS)


def test_align_post_projection_gives_the_installed_brainpy_states_synapse_at_every_step():
    bs = pytest.importorskip("brainpy").state
    ref, ours = idiom.run_post_wrapper(bs), idiom.run_post_wrapper(lapicque)
    np.testing.assert_allclose(ours["post_g"], ref["post_g"], rtol=0, atol=WRAPPER_ATOL_MS)
    np.testing.assert_allclose(ours["V"], ref["V"], rtol=0, atol=1e-4)


def test_align_post_projection_with_std_scales_each_spike_by_the_released_fraction():
    """Closed form: spikes at steps a, b deliver w and w x_b, x_b = 1 - U e^{-(b - a) dt / tau} (x recovers to 1)."""
    a, b, n, dt, tau, U, w = 3, 23, 40, 0.1, 50., 0.4, 6.
    post = _lif(1)
    proj = lapicque.align_post_projection(
        _spikes_at([a, b], n), comm=lapicque.EdgeList(1, 1, [0], [0], w * u.nS),
        syn=lapicque.Expon.desc(1, tau=1e6 * u.ms), out=lapicque.COBA.desc(E=0. * u.mV), post=post,
        stp=lapicque.STD(1, tau=tau * u.ms, U=U))
    g = []
    with brainstate.environ.context(dt=dt * u.ms):
        brainstate.nn.init_all_states([proj, post])
        for i in range(n):
            with brainstate.environ.context(t=i * dt * u.ms):
                proj(i)
                post(0. * u.nA)
            g.append(float(proj.projection.syn.g.value[0].to_decimal(u.nS)))
    g = np.array(g)
    x_b = 1. - U * np.exp(-(b - a) * dt / tau)
    # tau = 1e6 ms: g keeps what arrived (to 1e-5 relative over the run)
    np.testing.assert_allclose(g[a:b], w, rtol=1e-5)
    np.testing.assert_allclose(g[b:], w * (1 + x_b), rtol=1e-5)
    assert np.all(g[:a] == 0)


# ----------------------------------------------------------------------------------------------------------------
# align_pre_projection
# ----------------------------------------------------------------------------------------------------------------
def test_align_pre_projection_with_expon_is_the_closed_form():
    """A unitless presynaptic Expon: after a spike at step a, s_k = e^{-(k - a) dt / tau}; CUBA: I = scale comm(s)."""
    a, n, dt, tau = 2, 30, 0.1, 2.
    post = _lif(2)
    w = jnp.array([[1.5, 0.5]])
    proj = lapicque.align_pre_projection(
        _spikes_at([a], n), syn=lapicque.Expon(1, tau=tau * u.ms, g_initializer=braintools.init.Constant(0.)),
        comm=lambda s: s @ w, out=lapicque.CUBA(scale=u.nA), post=post)
    currents = []
    with brainstate.environ.context(dt=dt * u.ms):
        brainstate.nn.init_all_states([proj, post])
        for i in range(n):
            with brainstate.environ.context(t=i * dt * u.ms):
                proj(i)
                currents.append(np.asarray(post.sum_current_inputs(0. * u.nA, post.V.value).to_decimal(u.nA)))
                post(0. * u.nA)
    k = np.arange(n)
    s = np.where(k >= a, np.exp(-(k - a) * dt / tau), 0.)
    np.testing.assert_allclose(np.array(currents), s[:, None] * np.array([[1.5, 0.5]]), rtol=1e-5, atol=1e-7)


def test_align_pre_projection_is_the_align_pre_idiom_one_step_earlier():
    """spikes -> STD -> AMPA -> comm inside the projection binds this step's g; the idiom reads it a step later."""
    n = 100
    with brainstate.environ.context(dt=idiom.DT_MS * u.ms):
        pre, post = idiom._lif(lapicque, 4, 1. * u.ohm), idiom._lif(lapicque, 3, 100. * u.ohm)
        w = jnp.asarray(idiom.W, dtype=jnp.float32)
        wrapper = lapicque.align_pre_projection(
            pre, syn=lapicque.AMPA(4, alpha=0.94 / (u.ms * u.mM), beta=0.18 / u.ms), comm=lambda g: g @ w,
            out=lapicque.COBA(E=0. * u.mV), post=post, stp=lapicque.STD(4, tau=700. * u.ms, U=0.07))
        brainstate.nn.init_all_states([wrapper, post])
    ref = idiom.run(lapicque, n_steps=n + 1)["ampa"]
    with brainstate.environ.context(dt=idiom.DT_MS * u.ms):
        g = []
        for i in range(n):
            with brainstate.environ.context(t=i * idiom.DT_MS * u.ms, i=i):
                wrapper(jnp.asarray(idiom.DRIVE) * u.mV / u.ohm)
                g.append(np.asarray(wrapper.projection.out._conductance.to_decimal(u.mS)))
                post(0. * u.uA)
    np.testing.assert_allclose(np.array(g), ref[1:], rtol=0, atol=WRAPPER_ATOL_MS)
    assert ref.max() > 0.1


# ----------------------------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------------------------
def test_the_wrappers_refuse_what_they_cannot_run():
    post = _lif(2)
    comm = lapicque.EdgeList(1, 2, [0], [1], 1. * u.nS)
    with pytest.raises(TypeError, match="every spike generator must be callable"):
        lapicque.align_post_projection(3, comm=comm, syn=lapicque.Expon.desc(2), out=lapicque.COBA.desc(E=0. * u.mV),
                                       post=post)
    with pytest.raises(TypeError, match="stp must be a callable"):
        lapicque.align_post_projection(comm=comm, syn=lapicque.Expon.desc(2), out=lapicque.COBA.desc(E=0. * u.mV),
                                       post=post, stp=0.5)
    with pytest.raises(TypeError, match="syn must be a callable"):
        lapicque.align_pre_projection(syn=1., comm=comm, out=lapicque.COBA(E=0. * u.mV), post=post)
    two = lapicque.align_post_projection(lambda x: (x, x), comm=comm, syn=lapicque.Expon.desc(2),
                                         out=lapicque.COBA.desc(E=0. * u.mV), post=post)
    with pytest.raises(ValueError, match="must end with one value"):
        two(jnp.array([1.]))
