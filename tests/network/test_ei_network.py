"""The E/I network of Brette et al. (2007), COBA, in the parameters of NEST's brette_et_al_2007/coba.py.

Written brainpy.state-style (LIFRef, AlignPostProj + Expon.desc + COBA.desc, a
0.1 ms delay); the library is a parameter, so "change the import" is literally
what the comparison with brainpy.state does.  References: brainpy.state in the
same interpreter, the closed-form rate of the uncoupled neuron
1 / (5 ms + 20 ms ln 2).  Brian2 fed the same edge list and initial potentials is the reference of
``test_start.py`` (COBA and CUBA, several seeds, float32 and float64).
"""

import brainstate
import braintools
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque
from tolerances import EI_RATE_RTOL_VS_BRAINPY

N = 4000
STEPS = 10000  # 1 s at dt = 0.1 ms
W_E, W_I = 6. * u.nS, 67. * u.nS




def efp(n_pre, w, seed):
    return brainstate.nn.EventFixedProb(n_pre, N, conn_num=0.02, conn_weight=w, seed=seed)


def out_degree(n_pre, w, seed):
    return lapicque.FixedOutDegree(n_pre, N, int(0.02 * N), w, seed=seed)


class EINet(brainstate.nn.Module):
    """The brainpy.state COBA script: ``bp`` is the library (lapicque or brainpy.state)."""

    def __init__(self, bp, syn=None, comm=efp, w_e=W_E, w_i=W_I, fuse=False):
        super().__init__()
        syn = syn or bp
        self.n_e = int(0.8 * N)
        self.pop = bp.LIFRef(N, R=100. * u.Mohm, tau=20. * u.ms, tau_ref=5. * u.ms, V_rest=-60. * u.mV,
                             V_th=-50. * u.mV, V_reset=-60. * u.mV, spk_reset='hard',
                             V_initializer=braintools.init.Normal(-55. * u.mV, 5. * u.mV))
        self.E = bp.AlignPostProj(comm=comm(self.n_e, w_e, 1), syn=syn.Expon.desc(N, tau=5. * u.ms),
                                  out=syn.COBA.desc(E=0. * u.mV), post=self.pop, delay=0.1 * u.ms)
        self.I = bp.AlignPostProj(comm=comm(N - self.n_e, w_i, 2), syn=syn.Expon.desc(N, tau=10. * u.ms),
                                  out=syn.COBA.desc(E=-80. * u.mV), post=self.pop, delay=0.1 * u.ms)
        self.both = lapicque.FusedProj(self.E, self.I) if fuse else None

    def update(self, t):
        with brainstate.environ.context(t=t):
            spk = self.pop.get_spike() != 0.
            if self.both is None:
                self.E(spk[:self.n_e])
                self.I(spk[self.n_e:])
            else:
                self.both(spk)
            self.pop(200. * u.pA)
            spk = self.pop.get_spike() != 0.
            return spk[:self.n_e].sum(), spk[self.n_e:].sum()


def run_rates(net, steps=STEPS):
    """E and I rates (Hz) over ``steps`` steps, and the initial V (mV)."""
    brainstate.nn.init_all_states(net)
    V0 = np.asarray(net.pop.V.value.to_decimal(u.mV))
    times = u.math.arange(steps) * brainstate.environ.get_dt()
    n_e, n_i = brainstate.transform.for_loop(net.update, times)
    seconds = steps * 1e-4
    return np.asarray(n_e).sum() / net.n_e / seconds, np.asarray(n_i).sum() / (N - net.n_e) / seconds, V0


@pytest.fixture
def env():
    brainstate.environ.set(dt=0.1 * u.ms)
    brainstate.random.seed(2007)
    yield
    brainstate.random.seed()


@pytest.fixture(scope="module")
def lapicque_rates():
    brainstate.environ.set(dt=0.1 * u.ms)
    brainstate.random.seed(2007)
    return run_rates(EINet(lapicque, lapicque))


def test_rates_match_brainpy_state_with_the_import_changed(lapicque_rates):
    bs = pytest.importorskip("brainpy").state
    brainstate.environ.set(dt=0.1 * u.ms)
    brainstate.random.seed(2007)
    ref = run_rates(EINet(bs))
    np.testing.assert_allclose(lapicque_rates[2], ref[2])  # same seeded initial state
    np.testing.assert_allclose(lapicque_rates[:2], ref[:2], rtol=EI_RATE_RTOL_VS_BRAINPY)
    assert 15. < lapicque_rates[0] < 25. and 15. < lapicque_rates[1] < 25.  # NETWORKS.md: ~20.3 / 20.9 Hz


def test_projection_layer_is_exact_on_a_brainpy_state_neuron(env):
    """With brainpy.state's own neuron as post, our projections reproduce brainpy.state's spike counts exactly."""
    bs = pytest.importorskip("brainpy").state

    class Mixed(EINet):  # brainpy.state neuron, lapicque projections
        def __init__(self):
            brainstate.nn.Module.__init__(self)
            ref = EINet(bs)
            self.n_e, self.pop, self.both = ref.n_e, ref.pop, None
            self.E = lapicque.AlignPostProj(comm=ref.E.comm, syn=bs.Expon.desc(N, tau=5. * u.ms),
                                            out=bs.COBA.desc(E=0. * u.mV), post=self.pop, delay=0.1 * u.ms)
            self.I = lapicque.AlignPostProj(comm=ref.I.comm, syn=bs.Expon.desc(N, tau=10. * u.ms),
                                            out=bs.COBA.desc(E=-80. * u.mV), post=self.pop, delay=0.1 * u.ms,
                                            label="inh")

    mixed = run_rates(Mixed(), steps=3000)
    brainstate.random.seed(2007)
    ref = run_rates(EINet(bs), steps=3000)
    np.testing.assert_array_equal(mixed[2], ref[2])
    np.testing.assert_allclose(mixed[:2], ref[:2], rtol=1e-6)


def test_network_is_coupled_and_uncoupled_rate_is_the_closed_form(env, lapicque_rates):
    r_e, r_i, _ = run_rates(EINet(lapicque, lapicque, w_e=0. * u.nS, w_i=0. * u.nS), steps=5000)
    closed = 1. / (5e-3 + 20e-3 * np.log(2.))  # 53.0 Hz: refractory + time from V_reset to V_th
    assert abs(r_e - closed) / closed < 0.01 and abs(r_i - closed) / closed < 0.01
    assert lapicque_rates[0] < 0.6 * closed  # recurrent inhibition really acts


def test_fused_projections_give_the_same_network(env):
    """E and I through one event-driven call (FusedProj) == two calls, same connectivity."""
    two = run_rates(EINet(lapicque, lapicque, comm=out_degree), steps=3000)
    brainstate.random.seed(2007)
    one = run_rates(EINet(lapicque, lapicque, comm=out_degree, fuse=True), steps=3000)
    np.testing.assert_array_equal(two[2], one[2])
    np.testing.assert_allclose(two[:2], one[:2], rtol=1e-6)


# --------------------------------------------------------------------------------------
# bad input: clear errors that name the projection and the parameter
# --------------------------------------------------------------------------------------

def _pop(n=10):
    return lapicque.LIFRef(n, R=100. * u.Mohm, tau=20. * u.ms, V_rest=-60. * u.mV, V_th=-50. * u.mV,
                           V_reset=-60. * u.mV)


def test_comm_output_size_must_match_post():
    lib = lapicque
    with pytest.raises(ValueError, match=r"AlignPostProj.*comm's output size 8 does not match post's size 10"):
        lapicque.AlignPostProj(comm=lapicque.FixedOutDegree(5, 8, 2, 1. * u.nS), syn=lib.Expon.desc(10, tau=5. * u.ms),
                               out=lib.COBA.desc(E=0. * u.mV), post=_pop())
    with pytest.raises(ValueError, match=r"AlignPostProj.*syn's size"):
        lapicque.AlignPostProj(comm=lapicque.FixedOutDegree(5, 10, 2, 1. * u.nS), syn=lib.Expon.desc(8, tau=5. * u.ms),
                               out=lib.COBA.desc(E=0. * u.mV), post=_pop())
    with pytest.raises(ValueError, match=r"DeltaProj.*comm's output size"):
        lapicque.DeltaProj(comm=brainstate.nn.Linear(3, 4), post=_pop())


def test_wrong_input_size_and_non_spikes_name_the_projection():
    lib = lapicque
    proj = lapicque.AlignPostProj(comm=lapicque.FixedOutDegree(5, 10, 2, 1. * u.nS),
                                  syn=lib.Expon.desc(10, tau=5. * u.ms), out=lib.COBA.desc(E=0. * u.mV), post=_pop())
    with pytest.raises(ValueError, match=r"AlignPostProj.*6 elements.*expects 5"):
        proj(jnp.zeros(6, bool))
    with pytest.raises(ValueError, match="non-negative finite event values"):
        proj(jnp.full(5, -0.3))


def test_weights_of_the_wrong_dimension_name_the_projection():
    pop = _pop()
    proj = lapicque.AlignPostProj(comm=lapicque.FixedOutDegree(5, 10, 2, 1. * u.mV),
                                  syn=lapicque.Expon.desc(10, tau=5. * u.ms), out=lapicque.COBA.desc(E=0. * u.mV),
                                  post=pop)
    brainstate.nn.init_all_states(_Holder(pop, proj))
    with pytest.raises(TypeError, match=r"AlignPostProj.*comm's output is in mV.*synapse's state g"):
        proj(jnp.ones(5, bool))


class _Holder(brainstate.nn.Module):
    def __init__(self, *children):
        super().__init__()
        self.children_ = list(children)


def test_wrong_post_syn_out_types():
    lib = lapicque
    comm = lapicque.FixedOutDegree(5, 10, 2, 1. * u.nS)
    with pytest.raises(TypeError, match=r"AlignPostProj.*post must be a neuron group.*lacks"):
        lapicque.AlignPostProj(comm=comm, syn=lib.Expon.desc(10, tau=5. * u.ms), out=lib.COBA.desc(E=0. * u.mV),
                               post=brainstate.nn.Linear(3, 10))
    with pytest.raises(TypeError, match=r"out must be a descriptor"):
        lapicque.AlignPostProj(comm=comm, syn=lib.Expon.desc(10, tau=5. * u.ms), out=lib.COBA(E=0. * u.mV),
                               post=_pop())
    with pytest.raises(TypeError, match=r"out must be an output instance"):
        lapicque.AlignPostProj(comm=comm, syn=lib.Expon(10, tau=5. * u.ms), out=lib.COBA.desc(E=0. * u.mV),
                               post=_pop())
    with pytest.raises(TypeError, match=r"comm must be a callable"):
        lapicque.CurrentProj(comm=3, out=lib.COBA(E=0. * u.mV), post=_pop())
    with pytest.raises(TypeError, match=r"FusedProj"):
        lapicque.FusedProj(lapicque.DeltaProj(comm=brainstate.nn.Linear(3, 10), post=_pop()))


def test_a_lapicque_neuron_is_accepted_as_post_and_shares_synapses():
    """brainpy.state refuses post=lapicque.LIFRef(...); ours accepts it and merges equal descriptors."""
    lib = lapicque
    pop = _pop()
    a = lapicque.AlignPostProj(comm=lapicque.FixedOutDegree(5, 10, 2, 1. * u.nS), syn=lib.Expon.desc(10, tau=5. * u.ms),
                               out=lib.COBA.desc(E=0. * u.mV), post=pop)
    b = lapicque.AlignPostProj(comm=lapicque.FixedOutDegree(7, 10, 2, 1. * u.nS), syn=lib.Expon.desc(10, tau=5. * u.ms),
                               out=lib.COBA.desc(E=0. * u.mV), post=pop)
    c = lapicque.AlignPostProj(comm=lapicque.FixedOutDegree(7, 10, 2, 1. * u.nS), syn=lib.Expon.desc(10, tau=5. * u.ms),
                               out=lib.COBA.desc(E=0. * u.mV), post=pop, label="other")
    assert a.syn is b.syn and a.out is b.out and c.syn is not a.syn
    assert len(pop.current_inputs) == 2


def test_example_script_runs(env):
    """examples/ei_network.py builds and runs (small and short here)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "examples" / "ei_network.py"
    spec = importlib.util.spec_from_file_location("ei_network_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.EINet(N=400)
    brainstate.nn.init_all_states(net)
    spikes = brainstate.transform.for_loop(net.update, u.math.arange(1000) * brainstate.environ.get_dt())
    assert spikes.shape == (1000, 400) and 0 < np.asarray(spikes).mean() < 0.01
