"""Delays exact to the step: one presynaptic spike through each projection type.

The rule (lapicque._network.delays): input given to a projection at step n reaches the
synapse / output / membrane at step n + floor(d / dt + 1/2).  References are
closed forms (the exponential decay of a conductance that jumped by w at a
known step) and brainpy.state's projections (same timing since 2.8.2).
"""

import brainstate
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque
from lapicque._core.delay_rule import delay_steps
from tolerances import SYN_EXACT_RTOL

DT = 0.1  # ms
W = 6.  # nS
TAU = 5.  # ms
N0 = 2  # step at which the single spike is given to the projection




def _post():
    return lapicque.LIF(2, R=100. * u.Mohm, tau=20. * u.ms, V_rest=-60. * u.mV, V_reset=-60. * u.mV,
                        V_th=-50. * u.mV)


class _Net(brainstate.nn.Module):
    def __init__(self, post, proj):
        super().__init__()
        self.post, self.proj = post, proj


def _drive(proj, post, n_steps, read):
    """Give proj one spike at step N0, run post each step, return read() per step."""
    out = []
    for i in range(n_steps):
        proj(jnp.array([i == N0]))
        with brainstate.environ.context(t=i * DT * u.ms):
            post(0. * u.nA)
        out.append(read())
    return np.asarray(out)


def _expected_g(n_steps, steps):
    n = np.arange(n_steps)
    k = n - N0 - steps
    return np.where(k >= 0, W * np.exp(-np.maximum(k, 0) * DT / TAU), 0.)


DELAYS = [(None, 0), (0. * u.ms, 0), (0.1 * u.ms, 1), (0.3 * u.ms, 3), (2.5 * u.ms, 25)]


@pytest.mark.parametrize("delay,steps", DELAYS)
def test_align_post_single_spike_arrives_after_delay(delay, steps):
    lib = lapicque
    brainstate.environ.set(dt=DT * u.ms)
    post = _post()
    proj = lapicque.AlignPostProj(comm=lapicque.EdgeList(1, 2, [0], [1], W * u.nS),
                                  syn=lib.Expon.desc(2, tau=TAU * u.ms), out=lib.COBA.desc(E=0. * u.mV),
                                  post=post, delay=delay)
    brainstate.nn.init_all_states(_Net(post, proj))
    n = N0 + steps + 10
    g = _drive(proj, post, n, lambda: np.asarray(proj.syn.g.value.to_decimal(u.nS)))
    np.testing.assert_allclose(g[:, 1], _expected_g(n, steps), rtol=SYN_EXACT_RTOL, atol=1e-6)
    assert np.all(g[:, 0] == 0.)


@pytest.mark.parametrize("delay,steps", [DELAYS[1], DELAYS[3]])
def test_align_post_timing_matches_brainpy_state(delay, steps):
    bs = pytest.importorskip("brainpy").state
    brainstate.environ.set(dt=DT * u.ms)
    gs = []
    for lib in (lapicque, bs):
        post = lib.LIF(2, R=100. * u.Mohm, tau=20. * u.ms, V_rest=-60. * u.mV, V_reset=-60. * u.mV, V_th=-50. * u.mV)
        comm = brainstate.nn.EventFixedProb(1, 2, conn_num=2, conn_weight=W * u.nS, allow_multi_conn=False)
        proj = lib.AlignPostProj(comm=comm, syn=bs.Expon.desc(2, tau=TAU * u.ms), out=bs.COBA.desc(E=0. * u.mV),
                                 post=post, delay=delay)
        brainstate.nn.init_all_states(_Net(post, proj))
        gs.append(_drive(proj, post, N0 + steps + 5, lambda: np.asarray(proj.syn.g.value.to_decimal(u.nS))))
    np.testing.assert_allclose(gs[0], gs[1], rtol=SYN_EXACT_RTOL)
    assert gs[0][N0 + steps, 1] == pytest.approx(W) and gs[0][N0 + steps - 1, 1] == 0.


@pytest.mark.parametrize("delay,steps", [(None, 0), (0.1 * u.ms, 1), (1. * u.ms, 10)])
def test_current_proj_single_spike(delay, steps):
    lib = lapicque
    brainstate.environ.set(dt=DT * u.ms)
    post = _post()
    out = lib.COBA(E=0. * u.mV)
    proj = lapicque.CurrentProj(comm=lapicque.EdgeList(1, 2, [0], [1], W * u.nS), out=out, post=post, delay=delay)
    brainstate.nn.init_all_states(_Net(post, proj))
    n = N0 + steps + 4
    # the bound conductance is comm's output of this step: w at step N0 + D only
    g = _drive(proj, post, n, lambda: np.asarray(u.Quantity(out._conductance).to_decimal(u.nS))[1])
    expected = np.where(np.arange(n) == N0 + steps, W, 0.)
    np.testing.assert_allclose(g, expected, atol=1e-6)


@pytest.mark.parametrize("delay,steps", [(None, 0), (0.1 * u.ms, 1), (2. * u.ms, 20)])
def test_delta_proj_single_spike_jumps_V(delay, steps):
    brainstate.environ.set(dt=DT * u.ms)
    post = lapicque.LIF(2, R=1. * u.ohm, tau=10. * u.ms, V_th=100. * u.mV, V_rest=0. * u.mV, V_reset=0. * u.mV)
    proj = lapicque.DeltaProj(comm=lapicque.EdgeList(1, 2, [0], [1], 0.5 * u.mV), post=post, delay=delay)
    brainstate.nn.init_all_states(_Net(post, proj))
    n = N0 + steps + 4
    V = _drive(proj, post, n, lambda: np.asarray(post.V.value.to_decimal(u.mV))[1])
    k = np.arange(n) - N0 - steps  # the jump is added after the step's integration, then V decays with tau
    np.testing.assert_allclose(V, np.where(k >= 0, 0.5 * np.exp(-np.maximum(k, 0) * DT / 10.), 0.), rtol=1e-5,
                               atol=1e-7)


def test_delay_rule_rounds_half_up_and_survives_float_error():
    assert delay_steps(0.3, 0.1) == 3  # 0.3 / 0.1 = 2.9999999999999996
    assert delay_steps(0.7, 0.1) == 7
    assert delay_steps(0.05, 0.1) == 1 and delay_steps(0.0499, 0.1) == 0
    np.testing.assert_array_equal(delay_steps(np.array([0., 0.1, 1.25]), 0.1), [0, 1, 13])


def test_per_element_delays():
    """One axonal delay per presynaptic neuron: each spike arrives after its own delay."""
    lib = lapicque
    brainstate.environ.set(dt=DT * u.ms)
    post = _post()
    proj = lapicque.AlignPostProj(comm=lapicque.EdgeList(2, 2, [0, 1], [0, 1], W * u.nS),
                                  syn=lib.Expon.desc(2, tau=TAU * u.ms), out=lib.COBA.desc(E=0. * u.mV),
                                  post=post, delay=np.array([0.1, 0.5]) * u.ms)
    brainstate.nn.init_all_states(_Net(post, proj))
    g = []
    for i in range(12):
        proj(jnp.array([i == N0, i == N0]))
        with brainstate.environ.context(t=i * DT * u.ms):
            post(0. * u.nA)
        g.append(np.asarray(proj.syn.g.value.to_decimal(u.nS)))
    g = np.asarray(g)
    np.testing.assert_allclose(g[:, 0], _expected_g(12, 1), rtol=SYN_EXACT_RTOL, atol=1e-6)
    np.testing.assert_allclose(g[:, 1], _expected_g(12, 5), rtol=SYN_EXACT_RTOL, atol=1e-6)


def test_delay_in_compiled_loop_equals_eager():
    lib = lapicque
    brainstate.environ.set(dt=DT * u.ms)
    post = _post()
    proj = lapicque.AlignPostProj(comm=lapicque.EdgeList(1, 2, [0], [1], W * u.nS),
                                  syn=lib.Expon.desc(2, tau=TAU * u.ms), out=lib.COBA.desc(E=0. * u.mV),
                                  post=post, delay=0.4 * u.ms)
    brainstate.nn.init_all_states(_Net(post, proj))

    def step(i):
        proj(jnp.expand_dims(i == N0, 0))
        with brainstate.environ.context(t=i * DT * u.ms):
            post(0. * u.nA)
        return proj.syn.g.value.to_decimal(u.nS)[1]

    g = np.asarray(brainstate.transform.for_loop(step, jnp.arange(12)))
    np.testing.assert_allclose(g, _expected_g(12, 4), rtol=SYN_EXACT_RTOL, atol=1e-6)


@pytest.mark.parametrize("delay,err,words", [
    (-0.1 * u.ms, ValueError, "non-negative"),
    (np.nan * u.ms, ValueError, "finite"),
    (1.0, TypeError, "time"),
    (1. * u.mV, TypeError, "dimension"),
    (np.ones((2, 2)) * u.ms, ValueError, "1-D"),
    (np.ones(3) * u.ms, ValueError, "one value per presynaptic"),
])
def test_bad_delays_are_refused_naming_projection(delay, err, words):
    lib = lapicque
    with pytest.raises(err, match=words) as info:
        lapicque.AlignPostProj(comm=lapicque.EdgeList(2, 2, [0], [1], W * u.nS),
                               syn=lib.Expon.desc(2, tau=TAU * u.ms), out=lib.COBA.desc(E=0. * u.mV),
                               post=_post(), delay=delay)
    assert "AlignPostProj" in str(info.value) and "delay" in str(info.value)


def test_reset_empties_the_line():
    brainstate.environ.set(dt=DT * u.ms)
    post = _post()
    proj = lapicque.AlignPostProj(comm=lapicque.EdgeList(1, 2, [0], [1], W * u.nS),
                                  syn=lapicque.Expon.desc(2, tau=TAU * u.ms), out=lapicque.COBA.desc(E=0. * u.mV),
                                  post=post, delay=0.3 * u.ms)
    net = _Net(post, proj)
    brainstate.nn.init_all_states(net)
    buffer = proj.delay_line.buffer
    _drive(proj, post, N0 + 1, lambda: None)  # a spike is in flight at the reset
    brainstate.nn.reset_all_states(net)
    assert proj.delay_line.buffer is buffer and not np.any(np.asarray(buffer.value))
    g = _drive(proj, post, 6, lambda: np.asarray(proj.syn.g.value.to_decimal(u.nS)))
    np.testing.assert_allclose(g[:, 1], _expected_g(6, 3), rtol=SYN_EXACT_RTOL, atol=1e-6)


def _g_of_edges(delays, n_steps, step_delay=None):
    """One presynaptic spike at step N0 through three edges to three targets, with per-edge delays."""
    brainstate.environ.set(dt=DT * u.ms)
    post = lapicque.LIF(3, R=100. * u.Mohm, tau=20. * u.ms, V_rest=-60. * u.mV, V_reset=-60. * u.mV,
                        V_th=-50. * u.mV)
    comm = lapicque.EdgeList(1, 3, [0, 0, 0], [2, 0, 1], W * u.nS, delay=delays)
    proj = lapicque.AlignPostProj(comm=comm, syn=lapicque.Expon.desc(3, tau=TAU * u.ms),
                                  out=lapicque.COBA.desc(E=0. * u.mV), post=post, delay=step_delay)
    brainstate.nn.init_all_states(_Net(post, proj))

    def step(i):
        proj(jnp.expand_dims(i == N0, 0))
        with brainstate.environ.context(t=i * DT * u.ms):
            post(0. * u.nA)
        return proj.syn.g.value.to_decimal(u.nS)

    return np.asarray(brainstate.transform.for_loop(step, jnp.arange(n_steps)))


def test_per_connection_delays():
    """Edges to targets 2, 0, 1 with delays 0.5, 0, 0.1 ms: each target's conductance starts after its own delay."""
    g = _g_of_edges(np.array([0.5, 0., 0.1]) * u.ms, 12)
    for target, steps in ((0, 0), (1, 1), (2, 5)):
        np.testing.assert_allclose(g[:, target], _expected_g(12, steps), rtol=SYN_EXACT_RTOL, atol=1e-6)
    # per-connection and projection delays add
    g = _g_of_edges(np.array([0.5, 0., 0.1]) * u.ms, 14, step_delay=0.2 * u.ms)
    np.testing.assert_allclose(g[:, 2], _expected_g(14, 7), rtol=SYN_EXACT_RTOL, atol=1e-6)


def test_per_connection_delays_from_an_initializer_respect_the_rule():
    import braintools
    conn = lapicque.FixedOutDegree(50, 40, 8, 1. * u.nS, seed=3, delay=braintools.init.Uniform(0., 2., unit=u.ms))
    brainstate.environ.set(dt=DT * u.ms)
    conn.init_state()
    np.testing.assert_array_equal(conn.edge_delays.steps, np.floor(conn.delay_ms / DT + 0.5))
    # spikes from every neuron once: the total of the outputs over time counts every edge exactly once
    total = sum(np.asarray(conn(jnp.full(50, i == 0)).to_decimal(u.nS)).sum() for i in range(22))
    assert total == pytest.approx(conn.n_edges)


@pytest.mark.parametrize("delay,err,words", [
    (np.array([0.1, -0.1, 0.]) * u.ms, ValueError, "non-negative"),
    (np.array([0.1, 0.2]) * u.ms, ValueError, "one value per edge"),
    (np.array([1., 2., 3.]), TypeError, "time"),
])
def test_bad_per_connection_delays(delay, err, words):
    with pytest.raises(err, match=words) as info:
        lapicque.EdgeList(1, 3, [0, 0, 0], [2, 0, 1], W * u.nS, delay=delay)
    assert "EdgeList" in str(info.value)


# ---------------------------------------------------------------------------------------------
# issue 25 item 8: the rule is exact for the numbers written (0.15 / 0.1 is 3/2, not 1.4999999999999998)
# ---------------------------------------------------------------------------------------------
#: (delay ms, dt ms, steps): every quotient is a half step in decimal, just below it in floating point
#: (0.15 / 0.1 = 1.4999999999999998, 0.35 / 0.1 = 3.4999999999999996, 0.3 / 0.2 = 1.4999999999999998)
#: or exactly on it (0.05 / 0.1, 0.25 / 0.1 = 2.5); the rule floor(d / dt + 1/2) rounds every one up.
HALF_STEPS = [(0.05, 0.1, 1), (0.15, 0.1, 2), (0.25, 0.1, 3), (0.35, 0.1, 4), (0.3, 0.2, 2), (0.45, 0.1, 5),
              (1.15, 0.1, 12), (0.015, 0.01, 2)]


@pytest.mark.parametrize("d,dt,steps", HALF_STEPS)
def test_half_steps_round_up_exactly(d, dt, steps):
    assert delay_steps(d, dt) == steps
    assert delay_steps(np.float32(d), np.float32(dt)) == steps  # float32(0.35) = 0.3499999940...
    assert delay_steps(d - 1e-9, dt) == steps - 1  # just below the half step: down


def test_half_steps_in_arrays_and_next_to_other_delays():
    d = np.array([h[0] for h in HALF_STEPS if h[1] == 0.1] + [0.1, 0.2999, 2.5])
    expected = [h[2] for h in HALF_STEPS if h[1] == 0.1] + [1, 3, 25]
    np.testing.assert_array_equal(delay_steps(d, 0.1), expected)
    np.testing.assert_array_equal(delay_steps(d.astype(np.float32), 0.1), expected)
    np.testing.assert_array_equal(delay_steps(np.repeat(d, 1000), 0.1), np.repeat(expected, 1000))


def _arrival(dt, delay=None, edge_delay=None, n_pre=1):
    """Steps from giving one spike (of every presynaptic element) to a projection until each target's g jumps."""
    brainstate.environ.set(dt=dt * u.ms)
    n_post = 3
    post = lapicque.LIF(n_post, R=100. * u.Mohm, tau=20. * u.ms, V_rest=-60. * u.mV, V_reset=-60. * u.mV,
                        V_th=-50. * u.mV)
    pre_ids = [0, 0, 0] if n_pre == 1 else [0, 1, 1]
    comm = lapicque.EdgeList(n_pre, n_post, pre_ids, [0, 1, 2], W * u.nS, delay=edge_delay)
    proj = lapicque.AlignPostProj(comm=comm, syn=lapicque.Expon.desc(n_post, tau=TAU * u.ms),
                                  out=lapicque.COBA.desc(E=0. * u.mV), post=post, delay=delay)
    brainstate.nn.init_all_states(_Net(post, proj))

    def step(i):
        proj(jnp.full(n_pre, i == N0))
        with brainstate.environ.context(t=i * dt * u.ms):
            post(0. * u.nA)
        return proj.syn.g.value.to_decimal(u.nS)

    g = np.asarray(brainstate.transform.for_loop(step, jnp.arange(N0 + 12)))
    return [int(np.argmax(g[:, k] > 0)) - N0 for k in range(n_post)]


@pytest.mark.parametrize("d,dt,steps", [h for h in HALF_STEPS if h[0] < 1])
def test_projection_delays_use_the_exact_rule(d, dt, steps):
    assert _arrival(dt, delay=d * u.ms) == [steps] * 3


def test_per_element_and_per_connection_half_step_delays():
    # per presynaptic element: element 0 at 0.15 ms, element 1 at 0.35 ms
    assert _arrival(0.1, delay=np.array([0.15, 0.35]) * u.ms, n_pre=2) == [2, 4, 4]
    # per connection, in edge order: 0.15, 0.25, 0.35 ms (the float32 values of a jax array, too)
    for delays in (np.array([0.15, 0.25, 0.35]), jnp.array([0.15, 0.25, 0.35], dtype=jnp.float32)):
        assert _arrival(0.1, edge_delay=delays * u.ms) == [2, 3, 4]
    # a per-connection and a projection delay add, each by the rule
    assert _arrival(0.1, delay=0.05 * u.ms, edge_delay=np.array([0.15, 0.25, 0.35]) * u.ms) == [3, 4, 5]


# ---------------------------------------------------------------------------------------------
# issue 25 item 9: a delay line that cannot fit in memory is refused with the figure
# ---------------------------------------------------------------------------------------------
def test_a_delay_line_larger_than_the_device_memory_is_refused_with_the_figure():
    brainstate.environ.set(dt=DT * u.ms)
    post = lapicque.LIF(3200)
    proj = lapicque.AlignPostProj(comm=lapicque.FixedOutDegree(3200, 3200, 2, W * u.nS, seed=1),
                                  syn=lapicque.Expon.desc(3200, tau=TAU * u.ms), out=lapicque.COBA.desc(E=0. * u.mV),
                                  post=post, delay=1e9 * u.ms)
    with pytest.raises(ValueError) as info:
        brainstate.nn.init_all_states(_Net(post, proj))
    msg = str(info.value)
    for words in ("AlignPostProj", "delay", "1e+09 ms", "dt = 0.1 ms", "1e+10 steps x 3200 elements x 4 bytes",
                  "1.28e+14 bytes", "memory of the device"):
        assert words in msg


def test_per_connection_delays_too_long_for_memory_are_refused():
    brainstate.environ.set(dt=DT * u.ms)
    conn = lapicque.EdgeList(2, 2, [0, 1], [1, 0], W * u.nS, delay=np.array([0.1, 1e300]) * u.ms)
    with pytest.raises(ValueError, match=r"EdgeList.*a delay of 1e\+300 ms .* needs a buffer of 1e\+301 steps"):
        conn.init_state()


def test_buffer_size_counts_steps_batch_elements_and_bytes():
    from lapicque._network.delays import check_buffer
    # 0.35 ms = 4 steps (+1 slot for per-element delays) x batch 8 x 100 elements x 8 bytes
    assert check_buffer("P", np.array([0.1, 0.35]), 0.1, True, (8, 100), np.float64) == 5 * 8 * 100 * 8
    with pytest.raises(ValueError) as info:
        check_buffer("P", np.array([0.1, 0.35]), 0.1, True, (8, 100), np.float64, limit=31_999)
    for words in ("P: a delay of 0.35 ms", "5 steps x 800 elements (8 x 100, batch first) x 8 bytes",
                  "= 3.2e+04 bytes", "Use a shorter delay or a larger dt"):
        assert words in str(info.value)
    # a batched projection is sized with its batch: 1 s of 1,000 neurons x batch 4 fits, 1e7 ms does not
    brainstate.environ.set(dt=DT * u.ms)
    line_ok = lapicque.AlignPostProj(comm=lapicque.EdgeList(1000, 2, [0], [1], W * u.nS),
                                     syn=lapicque.Expon.desc(2, tau=TAU * u.ms), out=lapicque.COBA.desc(E=0. * u.mV),
                                     post=_post(), delay=1000. * u.ms).delay_line
    line_ok.init_state(batch_size=4)
    assert line_ok.buffer.value.shape == (10_000, 4, 1000)
