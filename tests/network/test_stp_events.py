"""Short-term plasticity through event-driven connectivity: the released fraction scales what is delivered.

Issue 25 item 3: ``AlignPostProj(lq.STP(...), comm=lq.FixedOutDegree(...), ...)`` used to deliver the
conductance of U = 1 (every value > 0 was a whole spike).  References:

* the Tsodyks-Markram recurrence in closed form for regular presynaptic trains (NETWORKS.md: between spikes
  u relaxes with tau_f and x recovers with tau_d exactly; at a spike u <- u + U (1 - u), the release is u x
  and x <- x - u x), the conductance then being the exact exponential sum of weight x release;
* brainpy.state's STP/STD and projection with a dense float comm (``brainstate.nn.Linear``) over the same
  edges;
* the unsharded product for the sharded path (2 CPU devices in a subprocess, ``_sharded_product.py``).
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import brainstate
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq

DT = 0.1  # ms
STEPS = 400
#: Regular trains: (period, first spike) in steps, one per presynaptic neuron.
TRAINS = [(20, 3), (30, 0), (45, 11), (70, 5)]
N_PRE, N_POST, K = len(TRAINS), 6, 3
TAU_SYN = 5.  # ms
STP_KW = dict(U=0.1, tau_f=50. * u.ms, tau_d=20. * u.ms)
STD_KW = dict(tau=20. * u.ms, U=0.3)
#: float32 against float64: u and x relax by a product of per-step factors (up to 70 steps between spikes) and g
#: decays step by step over 400 steps, each factor off by up to ~6e-8 relative; measured 3.5e-6 here.
F32_TRACE_RTOL = 3e-5
#: The same float32 products summed in another order (dense matmul against the sparse rows): a few ulp.
DENSE_VS_SPARSE_RTOL = 1e-5


def spike_trains():
    s = np.zeros((STEPS, N_PRE), bool)
    for i, (period, first) in enumerate(TRAINS):
        s[first::period, i] = True
    return s


def closed_form_release(kind, spikes):
    """(STEPS, N_PRE) released fraction per spike (0 elsewhere), float64, event by event (not step by step)."""
    out = np.zeros(spikes.shape)
    for i in range(spikes.shape[1]):
        steps = np.nonzero(spikes[:, i])[0]
        if kind == "STP":
            U, tau_f, tau_d = 0.1, 50., 20.
            uu, x = U * math.exp(-(steps[0] + 1) * DT / tau_f), 1.  # the state starts one step before step 0
        else:
            U, tau_d = 0.3, 20.
            x = 1.
        for n, k in enumerate(steps):
            if n:
                gap = (k - steps[n - 1]) * DT
                x = 1. - (1. - x) * math.exp(-gap / tau_d)
                if kind == "STP":
                    uu = uu * math.exp(-gap / tau_f)
            if kind == "STP":
                uu = uu + U * (1. - uu)
                out[k, i] = uu * x
                x = x - uu * x
            else:
                out[k, i] = x
                x = x - U * x
    return out


def exponential_sum(release, dense):
    """g_k = sum over spikes m <= k of (release_m @ W) exp(-(k - m) dt / tau), float64."""
    a, g, out = math.exp(-DT / TAU_SYN), np.zeros(dense.shape[1]), []
    for r in release:
        g = a * g + r @ dense
        out.append(g)
    return np.asarray(out)


class Net(brainstate.nn.Module):
    def __init__(self, lib, plasticity, comm, delay=None):
        super().__init__()
        self.post = lib.LIF(N_POST, R=100. * u.Mohm, tau=20. * u.ms, V_rest=-60. * u.mV, V_reset=-60. * u.mV,
                            V_th=-50. * u.mV)
        self.proj = lib.AlignPostProj(plasticity, comm=comm, syn=lib.Expon.desc(N_POST, tau=TAU_SYN * u.ms),
                                      out=lib.COBA.desc(E=0. * u.mV), post=self.post, delay=delay)

    def step(self, k, s):
        with brainstate.environ.context(t=k * DT * u.ms):
            self.proj(s)
            self.post(0. * u.pA)
        return self.proj.syn.g.value.to_decimal(u.nS), self.post.V.value.to_decimal(u.mV)


def run(net, spikes, compiled=True):
    brainstate.nn.init_all_states(net)
    ks = jnp.arange(spikes.shape[0])
    if compiled:
        g, v = brainstate.transform.for_loop(net.step, ks, jnp.asarray(spikes))
        return np.asarray(g), np.asarray(v)
    g, v = zip(*[net.step(k, jnp.asarray(s)) for k, s in zip(ks, spikes)])
    return np.asarray(g), np.asarray(v)


@pytest.fixture(autouse=True)
def dt():
    with brainstate.environ.context(dt=DT * u.ms):
        yield


def fixed_out_degree():
    return lq.FixedOutDegree(N_PRE, N_POST, K, 6. * u.nS, seed=3)


@pytest.mark.parametrize("compiled", [True, False], ids=["for_loop", "eager"])
@pytest.mark.parametrize("kind", ["STP", "STD"])
def test_projection_delivers_weight_times_tsodyks_markram_release(kind, compiled):
    """The issue's case (FixedOutDegree comm): g = sum of weight x u+ x- over spikes, exactly decaying."""
    comm = fixed_out_degree()
    plasticity = lq.STP(N_PRE, **STP_KW) if kind == "STP" else lq.STD(N_PRE, **STD_KW)
    spikes = spike_trains()
    g, _ = run(Net(lq, plasticity, comm), spikes, compiled)
    release = closed_form_release(kind, spikes)
    expected = exponential_sum(release, np.asarray(comm.to_dense().to_decimal(u.nS)))
    np.testing.assert_allclose(g, expected, rtol=F32_TRACE_RTOL, atol=1e-6 * expected.max())
    # neuron 1 spikes at step 0: its weights times the first release, u+ ~ U (2 - U) = 0.19 for STP (x- = 1),
    # 1 for STD (the first spike of a train transmits undepressed)
    np.testing.assert_allclose(g[0], release[0, 1] * np.asarray(comm.to_dense().to_decimal(u.nS))[1], rtol=1e-5)
    assert release[0, 1] == (pytest.approx(0.19, abs=1e-3) if kind == "STP" else 1.)


def test_released_fraction_scales_the_conductance_by_u():
    """U = 0.1 and U = 1 give different conductances (they were equal), in the ratio of their first releases."""
    spikes = spike_trains()
    g = [run(Net(lq, lq.STP(N_PRE, U=U, tau_f=50. * u.ms, tau_d=20. * u.ms), fixed_out_degree()), spikes)[0]
         for U in (0.1, 1.)]
    u_small = 0.1 * math.exp(-DT / 50.) + 0.1 * (1 - 0.1 * math.exp(-DT / 50.))
    np.testing.assert_allclose(g[0][0], u_small * g[1][0], rtol=1e-5)  # step 0: neuron 1's first spike, x = 1
    assert g[1][0].max() > 0


@pytest.mark.parametrize("kind", ["STP", "STD"])
def test_same_plasticity_module_our_connectivity_equals_brainpy_dense_comm(kind):
    """brainpy.state's own STP/STD, projection, synapse and neuron; only the comm differs: brainpy.state with a
    dense float comm (brainstate.nn.Linear) over our edges, against our event-driven FixedOutDegree."""
    bs = pytest.importorskip("brainpy").state
    comm = fixed_out_degree()
    dense = brainstate.nn.Linear(N_PRE, N_POST, w_init=comm.to_dense(), b_init=None)
    kw = STP_KW if kind == "STP" else STD_KW
    spikes = spike_trains().astype(np.float32)
    ours = run(Net(bs, getattr(bs, kind)(N_PRE, **kw), comm), spikes)
    ref = run(Net(bs, getattr(bs, kind)(N_PRE, **kw), dense), spikes)
    np.testing.assert_allclose(ours[0], ref[0], rtol=DENSE_VS_SPARSE_RTOL, atol=1e-6 * ref[0].max())  # g, nS
    np.testing.assert_allclose(ours[1], ref[1], rtol=DENSE_VS_SPARSE_RTOL)  # V, mV
    assert ref[0].max() > 0 and np.ptp(ref[1]) > 0.1


@pytest.mark.parametrize("kind", ["STP", "STD"])
def test_lapicque_pipeline_against_brainpy_state_pipeline(kind):
    """lapicque's STP + projection vs brainpy.state's: the releases differ only by the documented one-step
    relaxation per spike (lapicque._network.plasticity: the reference jumps with the previous step's values), so the
    conductances differ by at most that bound carried through the same exponential sum; U = 1 would not."""
    bs = pytest.importorskip("brainpy").state
    comm = fixed_out_degree()
    w = np.asarray(comm.to_dense().to_decimal(u.nS))
    dense = brainstate.nn.Linear(N_PRE, N_POST, w_init=comm.to_dense(), b_init=None)
    kw = STP_KW if kind == "STP" else STD_KW
    spikes = spike_trains()
    ours = run(Net(lq, getattr(lq, kind)(N_PRE, **kw), comm), spikes)[0]
    ref = run(Net(bs, getattr(bs, kind)(N_PRE, **kw), dense), spikes.astype(np.float32))[0]
    U, tau_d = (0.1, 20.) if kind == "STP" else (0.3, 20.)
    one_step = (1 - math.exp(-DT / tau_d)) + (U * (1 - math.exp(-DT / 50.)) if kind == "STP" else 0.)
    n_spikes = np.cumsum(spikes, axis=0)  # the per-spike difference bound grows with the spikes so far
    bound = exponential_sum(spikes * n_spikes * one_step, w) + 1e-5 * ref.max()
    assert np.all(np.abs(ours - ref) <= bound)
    assert np.abs(ours - ref).max() > 0  # the two orders do differ
    whole_spikes = exponential_sum(spikes.astype(float), w)  # what a comm that counts values as spikes delivers
    assert np.any(np.abs(whole_spikes - ref) > bound)


@pytest.mark.parametrize("where", ["projection", "connectivity"])
def test_delayed_release_arrives_whole(where):
    """Delays carry the released fraction as it is (not as a spike): the closed form, 5 steps late."""
    spikes = spike_trains()
    dense = np.asarray(fixed_out_degree().to_dense().to_decimal(u.nS))
    plain = exponential_sum(closed_form_release("STP", spikes), dense)
    late = 0.5 * u.ms
    if where == "projection":
        net = Net(lq, lq.STP(N_PRE, **STP_KW), fixed_out_degree(), delay=late)
    else:
        net = Net(lq, lq.STP(N_PRE, **STP_KW), lq.FixedOutDegree(N_PRE, N_POST, K, 6. * u.nS, seed=3, delay=late))
    delayed = run(net, spikes)[0]
    np.testing.assert_allclose(delayed[5:], plain[:-5], rtol=F32_TRACE_RTOL, atol=1e-6 * plain.max())
    assert np.all(delayed[:5] == 0.)


def test_fused_projection_delivers_event_values():
    """FusedProj stacks its members' matrices: values (not only spikes) reach every member, times its weight."""
    post = lq.LIF(3)
    a = lq.DeltaProj(comm=lq.EdgeList(2, 3, [0, 1], [2, 2], 1. * u.mV), post=post)
    b = lq.DeltaProj(comm=lq.EdgeList(1, 3, [0], [0], 2. * u.mV), post=post)
    lq.FusedProj(a, b)(jnp.array([0.5, 0.25, 0.125]))
    np.testing.assert_allclose(np.asarray(post.sum_delta_inputs(0. * u.mV).to_decimal(u.mV)), [0.25, 0., 0.75])


def test_sharded_product_delivers_event_values():
    """Across 2 devices, values are exchanged as numbers (bool spikes as bits): x @ W, and the same bits as one
    device."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(root)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH")
                                                        else [])),  # lapicque of this checkout
           "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()}
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("_sharded_product.py"))], env=env,
                          capture_output=True, text=True, timeout=300, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads([x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1][len("RESULT "):])
    assert result == {"values": True, "bool": True, "devices": 2}
