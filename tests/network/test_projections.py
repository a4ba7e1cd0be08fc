"""Projections: the comm -> synapse -> output -> post pipeline, any brainstate module as comm,
duck-typed synapses/outputs/posts, shared synapses, and FusedProj == its members.

References: hand-computed sums (dense products of the connectivity), brainpy.state's
projections on the same input, and the members run one by one for FusedProj.
"""

import brainstate
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque




def _pop(n=4):
    return lapicque.LIFRef(n, R=100. * u.Mohm, tau=20. * u.ms, V_rest=-60. * u.mV, V_th=-50. * u.mV,
                           V_reset=-60. * u.mV, V_initializer=lambda s, b=None: -60. * u.mV * jnp.ones(s))


class Holder(brainstate.nn.Module):
    def __init__(self, *children):
        super().__init__()
        self.children_ = list(children)


def _step(post, t=0.):
    with brainstate.environ.context(t=t * u.ms, dt=0.1 * u.ms):
        return post(0. * u.pA)


@pytest.fixture(autouse=True)
def dt():
    brainstate.environ.set(dt=0.1 * u.ms)


@pytest.mark.parametrize("make_comm,x", [
    (lambda: lapicque.EdgeList(3, 4, [0, 2, 2], [1, 3, 3], 2. * u.nS), jnp.array([True, False, True])),
    (lambda: brainstate.nn.EventFixedProb(3, 4, conn_num=4, conn_weight=2. * u.nS, allow_multi_conn=False),
     jnp.array([True, False, True])),
    (lambda: brainstate.nn.Linear(3, 4, w_init=jnp.ones((3, 4)) * u.nS, b_init=None), jnp.array([1., 0., 1.])),
])
def test_any_brainstate_module_works_as_comm(make_comm, x):
    lib = lapicque
    post, comm = _pop(), make_comm()
    proj = lapicque.AlignPostProj(comm=comm, syn=lib.Expon.desc(4, tau=5. * u.ms), out=lib.COBA.desc(E=0. * u.mV),
                                  post=post)
    brainstate.nn.init_all_states(Holder(post, proj))
    expected = comm(x)
    proj(x)
    _step(post)
    np.testing.assert_allclose(np.asarray(proj.syn.g.value.to_decimal(u.nS)), np.asarray(expected.to_decimal(u.nS)),
                               rtol=1e-6)
    # the output is a current input of post: g (E - V) at V = -60 mV, with the step's V before integration
    assert len(post.current_inputs) == 1


def test_non_merging_synapse_instance_and_prefetch_modules():
    lib = lapicque
    post = _pop()
    syn, out = lib.Expon(4, tau=5. * u.ms), lib.COBA(E=0. * u.mV)
    state = brainstate.ShortTermState(jnp.array([True, True, False]))
    proj = lapicque.AlignPostProj(state, lambda s: ~s, comm=lapicque.EdgeList(3, 4, [0, 1, 2], [0, 1, 2], 1. * u.nS),
                                  syn=syn, out=out, post=post)
    brainstate.nn.init_all_states(Holder(post, proj, syn))
    proj()
    np.testing.assert_allclose(np.asarray(syn.g.value.to_decimal(u.nS)), [0., 0., 1., 0.])
    assert out._conductance is not None  # bound by the projection itself (no hook)


def test_duck_typed_synapse_and_output():
    """Any callable with add_delta_input works as syn, any callable with bind_cond as out."""

    class Counter(lapicque.Dynamics):  # a synapse that only accumulates its inputs
        def init_state(self, *args, **kwargs):
            self.total = brainstate.ShortTermState(jnp.zeros(self.varshape))

        def update(self):
            self.total.value = self.sum_delta_inputs(self.total.value)
            return self.total.value

    class Gain(brainstate.nn.Module):
        def bind_cond(self, g):
            self.g = g

        def update(self, V):
            return self.g * u.pA

    post = _pop()
    proj = lapicque.AlignPostProj(comm=lapicque.EdgeList(2, 4, [0, 1], [3, 3], 1.), syn=Counter.desc(4),
                                  out=Gain.desc(), post=post)
    brainstate.nn.init_all_states(Holder(post, proj))
    for _ in range(3):
        proj(jnp.array([True, True]))
        _step(post)
    np.testing.assert_allclose(np.asarray(proj.syn.total.value), [0., 0., 0., 6.])


def test_brainpy_state_neuron_as_post_matches_brainpy_projection():
    bs = pytest.importorskip("brainpy").state
    g = []
    for proj_lib in (lapicque, bs):
        post = bs.LIF(4, R=100. * u.Mohm, tau=20. * u.ms, V_rest=-60. * u.mV, V_th=-50. * u.mV, V_reset=-60. * u.mV)
        comm = brainstate.nn.EventFixedProb(3, 4, conn_num=2, conn_weight=3. * u.nS, seed=1, allow_multi_conn=False)
        proj = proj_lib.AlignPostProj(comm=comm, syn=bs.Expon.desc(4, tau=5. * u.ms), out=bs.COBA.desc(E=0. * u.mV),
                                      post=post)
        brainstate.nn.init_all_states(Holder(post, proj))
        trace = []
        for i in range(5):
            proj(jnp.array([i == 0, i == 1, True]))
            _step(post, 0.1 * i)
            trace.append(np.asarray(post.V.value.to_decimal(u.mV)))
        g.append(np.asarray(trace))
    np.testing.assert_allclose(g[0], g[1], rtol=1e-6)


def test_current_proj_binds_comm_output():
    lib = lapicque
    post = _pop()
    out = lib.CUBA()
    proj = lapicque.CurrentProj(comm=lapicque.EdgeList(2, 4, [0, 1, 1], [0, 0, 2], 5. * u.pA), out=out, post=post)
    proj(jnp.array([True, True]))
    np.testing.assert_allclose(np.asarray(u.Quantity(out._conductance).to_decimal(u.pA)), [10., 0., 5., 0.])


def test_delta_proj_label():
    post = _pop()
    proj = lapicque.DeltaProj(comm=lapicque.EdgeList(1, 4, [0], [2], 1. * u.mV), post=post, label="gap")
    proj(jnp.array([True]))
    assert list(post.delta_inputs) == [f"gap // {proj.name}"]


def _fusable(post, lib, delay_e=None, delay_i=None):
    e = lapicque.AlignPostProj(comm=lapicque.FixedOutDegree(6, 5, 3, 2. * u.nS, seed=1),
                               syn=lib.Expon.desc(5, tau=5. * u.ms), out=lib.COBA.desc(E=0. * u.mV), post=post,
                               delay=delay_e)
    i = lapicque.AlignPostProj(comm=lapicque.FixedOutDegree(4, 5, 2, 0.05 * u.uS, seed=2),
                               syn=lib.Expon.desc(5, tau=10. * u.ms), out=lib.COBA.desc(E=-80. * u.mV), post=post,
                               delay=delay_i)
    return e, i


@pytest.mark.parametrize("fused_input", ["concatenated", "separate"])
def test_fused_projection_equals_its_members(fused_input):
    lib = lapicque
    rng = np.random.default_rng(3)
    spikes = jnp.asarray(rng.random((8, 10)) < 0.4)
    traces = []
    for fuse in (False, True):
        post = _pop(5)
        e, i = _fusable(post, lib, delay_e=0.2 * u.ms, delay_i=None)
        both = lapicque.FusedProj(e, i)
        brainstate.nn.init_all_states(Holder(post, both))
        trace = []
        for k, s in enumerate(spikes):
            if not fuse:
                e(s[:6]), i(s[6:])
            elif fused_input == "concatenated":
                both(s)
            else:
                both(s[:6], s[6:])
            _step(post, 0.1 * k)
            trace.append(np.concatenate([np.asarray(e.syn.g.value.to_decimal(u.nS)),
                                         np.asarray(i.syn.g.value.to_decimal(u.nS)),
                                         np.asarray(post.V.value.to_decimal(u.mV))]))
        traces.append(np.asarray(trace))
    np.testing.assert_allclose(traces[1], traces[0], rtol=1e-6)
    assert traces[0][:, 5:10].max() > 0  # inhibition (in uS, converted to nS in the fused matrix) arrived


def test_fused_projection_errors():
    lib = lapicque
    post = _pop(5)
    e, i = _fusable(post, lib)
    both = lapicque.FusedProj(e, i)
    with pytest.raises(ValueError, match="one input per member"):
        both(jnp.zeros(7, bool))
    d = lapicque.DeltaProj(comm=lapicque.EdgeList(1, 5, [0], [0], 1. * u.mV), post=post)
    with pytest.raises(TypeError, match="physical dimension"):
        lapicque.FusedProj(e, d)
    with pytest.raises(ValueError, match="at least one"):
        lapicque.FusedProj()
    late = lapicque.DeltaProj(comm=lapicque.EdgeList(1, 5, [0], [0], 1. * u.mV, delay=0.2 * u.ms), post=post)
    with pytest.raises(TypeError, match="per-connection delays"):
        lapicque.FusedProj(late)
