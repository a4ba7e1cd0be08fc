"""Stimuli on the step grid: SpikeTime and the analog inputs, against closed forms, exact moments and brainpy.state.

Noise tolerances come from the sampling error of the estimators over ``n`` independent samples
(channels x seeds): a mean has standard error ``sd / sqrt(n)``, a variance ``var * sqrt(2 / n)``
and a correlation coefficient ``(1 - rho**2) / sqrt(n)``; each check allows ``Z_SAMPLING``
standard errors.
"""

import pathlib

import brainstate
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from asserts import raises_naming
from lapicque._network.stimuli import grid_steps

#: standard errors allowed for a sampled moment: 5 SE is exceeded with probability 6e-7 per check
#: (two-sided normal), so a correct implementation never fails on a new random stream in practice,
#: and a wrong variance by 10 % (the Euler-Maruyama OU at dt = tau / 5) is 10+ SE away.
Z_SAMPLING = 5.
#: float32 rounding of a deterministic input's value (a few ulp of values of order 10).
VALUE_ATOL = 1e-5

DT = 0.1 * u.ms


def run_generator(gen, n_steps, unit, clock="i", dt=DT):
    """Values of ``gen.update()`` over ``n_steps`` steps in one compiled loop (``(n_steps, ...)`` in ``unit``)."""

    def step(i):
        ctx = {"i": i} if clock == "i" else {"t": i * dt}
        with brainstate.environ.context(**ctx):
            return gen.update()

    with brainstate.environ.context(dt=dt):
        brainstate.nn.init_all_states(gen)
        out = brainstate.transform.for_loop(step, jnp.arange(n_steps))
    return np.asarray(out.to_decimal(unit) if isinstance(out, u.Quantity) else out)


def reference():
    bs = pytest.importorskip("brainpy").state
    return bs


# ----------------------------------------------------------------------------------------------
# the grid rule
# ----------------------------------------------------------------------------------------------
def test_grid_steps_takes_decimal_grid_times_exactly():
    """k * dt written in decimal is step k under every rule, for 20 000 k and several dt."""
    k = np.arange(20000)
    for dt in (0.1, 0.025, 0.05, 0.2, 0.3, 1.0):
        times = np.array([float(f"{v:.6f}") for v in k * dt])  # the decimal the user types
        for rule in ("round", "floor", "ceil"):
            np.testing.assert_array_equal(grid_steps(times / dt, rule), k, err_msg=f"dt={dt}, {rule}")
        t32 = times.astype(np.float32).astype(np.float64)  # the same times held in float32
        np.testing.assert_array_equal(grid_steps(t32 / np.float32(dt), "floor", np.finfo(np.float32).eps), k)


def test_grid_steps_half_steps_go_to_the_later_step():
    k = np.arange(5000)
    half = np.array([float(f"{v:.6f}") for v in (k + 0.5) * 0.1])
    np.testing.assert_array_equal(grid_steps(half / 0.1, "round"), k + 1)
    np.testing.assert_array_equal(grid_steps(half / 0.1, "floor"), k)
    np.testing.assert_array_equal(grid_steps(half / 0.1, "ceil"), k + 1)
    off = np.array([10.04, 10.06, 10.09, 10.01])
    assert grid_steps(off / 0.1, "round").tolist() == [100, 101, 101, 100]
    assert grid_steps(off / 0.1, "floor").tolist() == [100, 100, 100, 100]
    assert grid_steps(off / 0.1, "ceil").tolist() == [101, 101, 101, 101]


# ----------------------------------------------------------------------------------------------
# SpikeTime
# ----------------------------------------------------------------------------------------------
def spike_raster(st, n_steps, clock="i", dt=DT):
    return run_generator(st, n_steps, None, clock, dt=dt)


def test_spike_time_delivers_grid_times_at_their_step():
    rng = np.random.default_rng(0)
    steps = rng.integers(0, 3000, 400)
    idx = rng.integers(0, 50, 400)
    times = [float(f"{s * 0.1:.1f}") for s in steps] * u.ms
    expected = np.zeros((3001, 50))
    np.add.at(expected, (steps, idx), 1.)
    for rule in ("round", "floor", "ceil"):
        st = lq.SpikeTime(50, indices=idx, times=times, time_as_step=rule)
        np.testing.assert_array_equal(spike_raster(st, 3001), expected, err_msg=rule)
    st = lq.SpikeTime(50, indices=idx, times=times)
    np.testing.assert_array_equal(spike_raster(st, 3001, clock="t"), expected)  # t only, no i


def test_spike_time_half_steps_and_off_grid_times():
    times = [0.05, 0.15, 0.25, 0.35, 10.04, 10.06] * u.ms
    st = lq.SpikeTime(6, indices=np.arange(6), times=times)
    assert np.argmax(spike_raster(st, 120), axis=0).tolist() == [1, 2, 3, 4, 100, 101]
    st = lq.SpikeTime(6, indices=np.arange(6), times=times, time_as_step="floor")
    assert np.argmax(spike_raster(st, 120), axis=0).tolist() == [0, 1, 2, 3, 100, 100]
    st = lq.SpikeTime(6, indices=np.arange(6), times=times, time_as_step="ceil")
    assert np.argmax(spike_raster(st, 120), axis=0).tolist() == [1, 2, 3, 4, 101, 101]


def test_spike_time_weights_duplicates_order_and_calls():
    with brainstate.environ.context(dt=DT):
        st = lq.SpikeTime(3, indices=[2, 0, 0, 1], times=[0.5, 0.2, 0.2, 0.2] * u.ms, weights=[4., 1., 2., 3.])
        assert st.update(index=2).tolist() == [3., 3., 0.]        # two spikes of neuron 0 sum
        assert st.update(index=5).tolist() == [0., 0., 4.]
        assert st.update(time=0.52 * u.ms).tolist() == [0., 0., 4.]
        assert st.update(index=6).tolist() == [0., 0., 0.] and st.update(index=-3).tolist() == [0., 0., 0.]
        with brainstate.environ.context(t=0.2 * u.ms):
            assert st.update().tolist() == [3., 3., 0.]
        st = lq.SpikeTime((2, 2), indices=[3], times=[0.1] * u.ms, weights=2.5 * u.mV)  # flat index, unit
        assert st.update(index=1).to_decimal(u.mV).tolist() == [[0., 0.], [0., 2.5]]
        empty = lq.SpikeTime(3, indices=[], times=[] * u.ms)
        assert empty.num_times == 0 and empty.update(index=0).tolist() == [0., 0., 0.]
        old = lq.SpikeTime(2, indices=[0], times=[0.1] * u.ms, need_sort=False)  # brainstate's old keyword
        assert old.update(index=1).tolist() == [1., 0.]


def test_spike_time_table_follows_dt():
    """Built per dt at the first update: the same object works at another dt (the reference fixes dt)."""
    st = lq.SpikeTime(1, indices=[0], times=[1.] * u.ms)
    assert np.argmax(spike_raster(st, 20, dt=0.1 * u.ms)[:, 0]) == 10
    assert np.argmax(spike_raster(st, 20, dt=0.25 * u.ms)[:, 0]) == 4


def test_spike_time_matches_reference_off_ties():
    """Random float times (no half-step ties): the same raster as brainpy.state, step by step."""
    bs = reference()
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 30, 300)
    times = jnp.asarray(rng.uniform(0., 50., 300)) * u.ms   # the reference needs jax-backed quantities
    w = jnp.asarray(rng.uniform(0.5, 2., 300))
    with brainstate.environ.context(dt=DT):
        ours, ref = lq.SpikeTime(30, idx, times, w), bs.SpikeTime(30, idx, times, w)
    np.testing.assert_allclose(spike_raster(ours, 510), spike_raster(ref, 510), rtol=1e-6)


def test_spike_time_half_steps_differ_from_reference_as_documented():
    """The reference rounds half steps to even: 0.05 ms -> 0 and 0.25 ms -> 2 (lapicque: 1 and 3)."""
    bs = reference()
    times = [0.05, 0.25] * u.ms
    with brainstate.environ.context(dt=DT):
        ref = bs.SpikeTime(2, indices=[0, 1], times=times)
    assert np.argmax(spike_raster(ref, 6), axis=0).tolist() == [0, 2]
    assert np.argmax(spike_raster(lq.SpikeTime(2, indices=[0, 1], times=times), 6), axis=0).tolist() == [1, 3]


def test_spike_time_errors():
    raises_naming(lambda: lq.SpikeTime(2, indices=[0, 1], times=[10., 20.]), TypeError, ["SpikeTime", "times", "time"])
    raises_naming(lambda: lq.SpikeTime(2, indices=[0, 1], times=[1.] * u.ms), lq.ParameterError,
                  ["SpikeTime", "same length"])
    raises_naming(lambda: lq.SpikeTime(2, indices=[0, 2], times=[1., 2.] * u.ms), lq.ParameterError,
                  ["SpikeTime", "indices", "[0, 2)"])
    raises_naming(lambda: lq.SpikeTime(2, indices=[0], times=[-1.] * u.ms), lq.ParameterError,
                  ["SpikeTime", "times", ">= 0"])
    raises_naming(lambda: lq.SpikeTime(2, indices=[0], times=[1.] * u.ms, time_as_step="up"), lq.ParameterError,
                  ["SpikeTime", "time_as_step"])
    raises_naming(lambda: lq.SpikeTime(2, indices=[0, 1], times=[1., 2.] * u.ms, weights=[1., 2., 3.]),
                  lq.ParameterError, ["SpikeTime", "weights"])
    raises_naming(lambda: lq.SpikeTime(2, indices=[0.5], times=[1.] * u.ms), TypeError, ["SpikeTime", "indices"])


def test_spike_time_in_simulate_fires_a_neuron_at_the_given_steps():
    """lapicque.simulate sets i: a kick of 20 mV per input spike fires a LIF at exactly those steps."""

    class Net(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = lq.SpikeTime(3, indices=[0, 1, 2, 0], times=[0.3, 1.0, 2.7, 4.4] * u.ms)
            self.pop = lq.LIF(3, tau=10. * u.ms, V_th=10. * u.mV, spk_reset="hard")

        def update(self):
            self.pop.add_delta_input("kick", self.inp() * 20. * u.mV)
            self.pop()

    res = lq.simulate(Net(), None, 5. * u.ms, dt=DT)
    steps, neurons = res["pop"].spike_steps
    assert sorted(zip(steps.tolist(), neurons.tolist())) == [(3, 0), (10, 1), (27, 2), (44, 0)]


SYNFIRE = pathlib.Path(__file__).with_name("_synfire_chain.py")


def run_synfire(import_line):
    """Run the synfire-chain script with its import line replaced by ``import_line``."""
    source = SYNFIRE.read_text()
    ours = "import lapicque as bp  # was: import brainpy.state as bp"
    assert ours in source
    namespace = {"__name__": "synfire_chain"}
    exec(compile(source.replace(ours, import_line), str(SYNFIRE), "exec"), namespace)
    spikes, packet = namespace["run_network"](40)
    return np.asarray(spikes), np.asarray(packet.to_decimal(u.ms))


@pytest.mark.slow
def test_synfire_chain_script_runs_by_changing_the_import():
    """The brainpy.state synfire chain (SpikeTime pulse packet) gives the same raster under lapicque."""
    ours, packet = run_synfire("import lapicque as bp")
    assert ours.shape == (1000, 1000)
    # the packet (at 18-22 ms) reaches group 0 after the 5 ms delay: its firing peaks there
    packet_step = int(np.floor(np.median(packet) / 0.1 + 0.5))
    group0 = ours[:, :100].sum(axis=1)
    assert packet_step + 50 <= np.argmax(group0) <= packet_step + 50 + 30, (packet_step, np.argmax(group0))
    pytest.importorskip("brainpy")
    ref, ref_packet = run_synfire("import brainpy.state as bp")
    np.testing.assert_array_equal(packet, ref_packet)
    np.testing.assert_array_equal(ours, ref)


# ----------------------------------------------------------------------------------------------
# deterministic inputs
# ----------------------------------------------------------------------------------------------
def test_constant_input_window_is_exact_on_the_grid():
    """ConstantInput(duration = k dt) is on for exactly k steps, for every k up to 2000."""
    durations = np.array([float(f"{k * 0.1:.1f}") for k in range(1, 2001)])
    gen = lq.ConstantInput(durations.size, 1. * u.nA, durations * u.ms)
    on = run_generator(gen, 2002, u.nA)
    np.testing.assert_array_equal(on.sum(axis=0), np.arange(1, 2001))
    np.testing.assert_array_equal(on[0], 1.)


def test_constant_step_section_ramp_sine_closed_forms():
    k = np.arange(40)
    t = k * 0.1
    gen = lq.ConstantInput(2, u.math.asarray([1., -2.]) * u.pA, 1.5 * u.ms)
    np.testing.assert_allclose(run_generator(gen, 40, u.pA), np.where(t[:, None] < 1.5 - 1e-9, [1., -2.], 0.))
    gen = lq.StepInput(1, [7., 5., 3.] * u.nA, [2.0, 0.3, 1.1] * u.ms)  # unsorted
    expected = np.select([t >= 2.0 - 1e-9, t >= 1.1 - 1e-9, t >= 0.3 - 1e-9], [7., 3., 5.], 0.)
    np.testing.assert_allclose(run_generator(gen, 40, u.nA)[:, 0], expected)
    gen = lq.SectionInput(1, [1., 0., 3.] * u.nA, [0.7, 0., 1.6] * u.ms)   # a zero-length section
    expected = np.select([t < 0.7 - 1e-9, t < 2.3 - 1e-9], [1., 3.], 0.)
    np.testing.assert_allclose(run_generator(gen, 40, u.nA)[:, 0], expected)
    gen = lq.RampInput(1, 2. * u.nA, -4. * u.nA, 1.2 * u.ms, t_start=0.9 * u.ms)
    inside = (t >= 0.9 - 1e-9) & (t < 2.1 - 1e-9)
    expected = np.where(inside, 2. - 6. * (t - 0.9) / 1.2, 0.)
    np.testing.assert_allclose(run_generator(gen, 40, u.nA)[:, 0], expected, atol=VALUE_ATOL)
    gen = lq.SinusoidalInput(1, 2. * u.nA, 300. * u.Hz, 3.3 * u.ms, bias=0.5 * u.nA)
    expected = np.where(t < 3.3 - 1e-9, 2. * np.sin(2 * np.pi * 0.3 * t) + 0.5, 0.)
    np.testing.assert_allclose(run_generator(gen, 40, u.nA)[:, 0], expected, atol=VALUE_ATOL)
    np.testing.assert_allclose(run_generator(gen, 40, u.nA, clock="t")[:, 0], expected, atol=VALUE_ATOL)


def test_analog_inputs_match_reference():
    bs = reference()
    cases = [
        ("ConstantInput", (3, 2. * u.nA), dict(duration=0.55 * u.ms)),
        ("StepInput", (2, [0., 5., 10.] * u.nA, [0.05, 0.34, 0.61] * u.ms), {}),
        ("SectionInput", (1, [1., 2., 3.] * u.nA, [0.25, 0.32, 0.21] * u.ms), {}),
        ("RampInput", (1, 0. * u.nA, 10. * u.nA), dict(duration=1.05 * u.ms, t_start=0.23 * u.ms)),
        ("SinusoidalInput", (2, 2. * u.nA, 700. * u.Hz), dict(duration=2.04 * u.ms, bias=1. * u.nA)),
    ]
    for name, args, kwargs in cases:
        ours = run_generator(getattr(lq, name)(*args, **kwargs), 30, u.nA)
        ref = run_generator(getattr(bs, name)(*args, **kwargs), 30, u.nA)
        np.testing.assert_allclose(ours, ref, atol=VALUE_ATOL, err_msg=name)


@pytest.mark.parametrize("dt, d", [(0.1, 0.1), (0.1, 0.3), (0.025, 0.075)])
def test_section_boundaries_exact_over_many_sections(dt, d):
    """300 sections of d each switch at exactly k d / dt steps: the cumulated ends are placed in float64.

    (The reference sums the durations in float32 and compares float times: 218, 93 and 93 of
    the ~3000 steps of these three cases fall in the wrong section there.)
    """
    K = 300
    gen = lq.SectionInput(1, jnp.arange(1., K + 1.) * u.nA, jnp.full(K, d) * u.ms)
    per = int(round(d / dt))
    out = run_generator(gen, K * per + 5, u.nA, dt=dt * u.ms)[:, 0]
    np.testing.assert_array_equal(out, np.concatenate([np.repeat(np.arange(1., K + 1.), per), np.zeros(5)]))


def test_analog_input_errors():
    raises_naming(lambda: lq.ConstantInput(2, 1. * u.nA, 5.), TypeError, ["ConstantInput", "duration", "time"])
    raises_naming(lambda: lq.ConstantInput(2, 1. * u.nA, -5. * u.ms), lq.ParameterError,
                  ["ConstantInput", "duration", ">= 0"])
    raises_naming(lambda: lq.RampInput(1, 1. * u.nA, 2. * u.mV, 1. * u.ms), TypeError,
                  ["RampInput", "c_end", "c_start"])
    raises_naming(lambda: lq.RampInput(1, 1. * u.nA, 2. * u.nA, 0. * u.ms), lq.ParameterError,
                  ["RampInput", "duration", "> 0"])
    raises_naming(lambda: lq.SinusoidalInput(1, 1. * u.nA, 10. * u.ms, 1. * u.ms), TypeError,
                  ["SinusoidalInput", "frequency"])
    raises_naming(lambda: lq.SinusoidalInput(1, 1. * u.nA, 10. * u.Hz, 1. * u.ms, bias=1. * u.mV), TypeError,
                  ["SinusoidalInput", "bias", "amplitude"])
    raises_naming(lambda: lq.StepInput(1, [1., 2.] * u.nA, [1.] * u.ms), lq.ParameterError,
                  ["StepInput", "same length"])
    raises_naming(lambda: lq.StepInput(1, [] * u.nA, [] * u.ms), lq.ParameterError, ["StepInput", "non-empty"])
    raises_naming(lambda: lq.SectionInput(1, [1.] * u.nA, [-1.] * u.ms), lq.ParameterError,
                  ["SectionInput", "durations"])
    raises_naming(lambda: lq.ConstantInput(0, 1. * u.nA, 1. * u.ms), lq.ParameterError, ["ConstantInput", "in_size"])
    raises_naming(lambda: lq.OUProcessInput(1, 1. * u.nA, 1. * u.mV, 1. * u.ms, 1. * u.ms), TypeError,
                  ["OUProcessInput", "sigma", "mean"])
    raises_naming(lambda: lq.OUProcessInput(1, 1. * u.nA, 1. * u.nA, 0. * u.ms, 1. * u.ms), lq.ParameterError,
                  ["OUProcessInput", "tau"])
    raises_naming(lambda: lq.WienerProcessInput(1, -1. * u.nA, 1. * u.ms), lq.ParameterError,
                  ["WienerProcessInput", "sigma"])
    gen = lq.ConstantInput(1, 1. * u.nA, 1. * u.ms)
    with brainstate.environ.context(dt=DT):
        raises_naming(gen.update, lq.EnvironmentNotSetError, ["ConstantInput", "'t'"])


def test_inputs_drive_a_neuron():
    """A generator's output is a neuron's input: a 1.5 mA step into an LIF (R = 1 ohm) charges it to 1.5 mV."""
    inp = lq.StepInput(1, [1.5] * u.mA, [1.] * u.ms)
    neuron = lq.LIF(1, R=1. * u.ohm, tau=1. * u.ms, V_th=10. * u.mV)

    def step(i):
        with brainstate.environ.context(i=i, t=i * DT):
            neuron.update(inp.update())
            return neuron.V.value

    with brainstate.environ.context(dt=DT):
        brainstate.nn.init_all_states([inp, neuron])
        V = np.asarray(brainstate.transform.for_loop(step, jnp.arange(200)).to_decimal(u.mV))[:, 0]
    t_end = np.arange(1, 201) * 0.1                     # V after step i is V((i + 1) dt)
    expected = np.where(t_end > 1.05, 1.5 * (1 - np.exp(-(t_end - 1.0))), 0.)
    np.testing.assert_allclose(V, expected, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# noise: exact moments over many samples
# ----------------------------------------------------------------------------------------------
def noise_samples(make, n_steps, seeds, dt=DT, unit=u.nA):
    out = []
    for seed in seeds:
        brainstate.random.seed(seed)
        out.append(run_generator(make(), n_steps, unit, dt=dt))
    return np.concatenate(out, axis=1)  # (steps, channels x seeds)


def assert_moment(estimate, exact, se, what):
    assert abs(estimate - exact) <= Z_SAMPLING * se, f"{what}: {estimate} vs {exact} +- {Z_SAMPLING} x {se}"


def corr(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).mean() / np.sqrt((a * a).mean() * (b * b).mean()))


def test_wiener_moments():
    sigma, dt_ms = 2., 0.1
    x = noise_samples(lambda: lq.WienerProcessInput(4000, sigma * u.nA, 5. * u.ms), 60, range(3))
    n = x.shape[1]
    var = sigma ** 2 * dt_ms
    np.testing.assert_array_equal(x[50:], 0.)                     # window [0, 5 ms) = 50 steps
    for i in (0, 17, 49):
        assert_moment(x[i].mean(), 0., np.sqrt(var / n), f"mean at step {i}")
        assert_moment(x[i].var(), var, var * np.sqrt(2. / n), f"variance at step {i}")
    for lag in (1, 2, 5):
        assert_moment(corr(x[20], x[20 + lag]), 0., 1. / np.sqrt(n), f"correlation at lag {lag}")
    W = np.cumsum(x[:50], axis=0)                                  # the Wiener process itself
    for i in (9, 49):
        v = var * (i + 1)
        assert_moment(W[i].var(), v, v * np.sqrt(2. / n), f"Var W at step {i}")
        assert_moment(corr(W[9], W[49]), np.sqrt(10. / 50.), (1. - 10. / 50.) / np.sqrt(n), "corr W")


def test_wiener_matches_reference_draw_for_draw():
    bs = reference()
    brainstate.random.seed(3)
    ours = run_generator(lq.WienerProcessInput(5, 1.5 * u.nA, 2. * u.ms), 30, u.nA)
    after_ours = np.asarray(brainstate.random.rand(3))
    brainstate.random.seed(3)
    ref = run_generator(bs.WienerProcessInput(5, 1.5 * u.nA, 2. * u.ms), 30, u.nA)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(after_ours, np.asarray(brainstate.random.rand(3)))  # same key use


def ou_exact(mu, sigma, tau, dt, i):
    """Mean, variance of x_i (from x_0 = mu) and the autocorrelation factor a = exp(-dt / tau)."""
    a = np.exp(-dt / tau)
    return mu, sigma ** 2 * tau / 2. * (1. - a ** (2 * i)), a


@pytest.mark.parametrize("dt_ms", [0.1, 1.0])  # dt = tau / 20 and tau / 2: the exact transition at any dt
def test_ou_exact_moments(dt_ms):
    mu, sigma, tau = 1.5, 0.8, 2.
    x = noise_samples(lambda: lq.OUProcessInput(4000, mu * u.nA, sigma * u.nA, tau * u.ms, 1e3 * u.ms),
                      60, range(3), dt=dt_ms * u.ms)
    n = x.shape[1]
    for i in (3, 59):
        m, v, a = ou_exact(mu, sigma, tau, dt_ms, i + 1)           # the value of step i is x_{i+1}
        assert_moment(x[i].mean(), m, np.sqrt(v / n), f"mean at step {i}")
        assert_moment(x[i].var(), v, v * np.sqrt(2. / n), f"variance at step {i}")
    for lag in (1, 3, 10):
        i = 40
        v_i, v_j = ou_exact(mu, sigma, tau, dt_ms, i + 1)[1], ou_exact(mu, sigma, tau, dt_ms, i + 1 + lag)[1]
        rho = np.exp(-lag * dt_ms / tau) * np.sqrt(v_i / v_j)
        assert_moment(corr(x[i], x[i + lag]), rho, (1. - rho ** 2) / np.sqrt(n), f"autocorrelation at lag {lag}")


def test_ou_window_state_and_batch():
    gen = lq.OUProcessInput(3, 1. * u.nA, 0. * u.nA, 5. * u.ms, 0.4 * u.ms)
    out = run_generator(gen, 6, u.nA)
    np.testing.assert_allclose(out[:4], 1., atol=1e-6)        # sigma = 0 holds the mean
    np.testing.assert_array_equal(out[4:], 0.)
    gen = lq.OUProcessInput(3, 1. * u.nA, 1. * u.nA, 5. * u.ms, 0.2 * u.ms)
    with brainstate.environ.context(dt=DT):
        gen.init_state(batch_size=4)
        assert gen.x.value.shape == (4, 3) and u.get_unit(gen.x.value) == u.nA
        with brainstate.environ.context(i=0):
            x1 = gen.update()
        with brainstate.environ.context(i=5):                 # outside: x held, output 0
            assert np.all(gen.update().to_decimal(u.nA) == 0.)
        np.testing.assert_array_equal(gen.x.value.to_decimal(u.nA), x1.to_decimal(u.nA))


def test_ou_against_reference_same_draws():
    """Same seed, same draws: lapicque's exact step and the reference's Euler-Maruyama step differ by
    the O(dt/tau) factor of the noise amplitude, sqrt((1 - a^2) tau / (2 dt)) ~ 1 - dt/(2 tau)."""
    bs = reference()
    mu, sigma, tau = 0., 1., 10.
    brainstate.random.seed(5)
    ours = run_generator(lq.OUProcessInput(500, mu * u.nA, sigma * u.nA, tau * u.ms, 1e3 * u.ms), 2000, u.nA)
    brainstate.random.seed(5)
    ref = run_generator(bs.OUProcessInput(500, mu * u.nA, sigma * u.nA, tau * u.ms, 1e3 * u.ms), 2000, u.nA)
    h = 0.1 / tau
    ratio = np.sqrt(np.mean((ours[500:] - ref[500:]) ** 2) / np.mean(ref[500:] ** 2))
    assert 0.6 * h / 2 < ratio < 1.4 * h / 2, (ratio, h / 2)   # measured 0.0050 against h / 2 = 0.005


def test_noise_runs_in_simulate_and_reseeds():
    """simulate threads the brainstate.random key: the same seed gives the same noise, another seed another."""

    class Net(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.noise = lq.OUProcessInput(4, 0. * u.mA, 3. * u.mA, 2. * u.ms, 50. * u.ms)
            self.pop = lq.LIF(4, tau=5. * u.ms, V_th=100. * u.mV)

        def update(self):
            self.pop(self.noise())

    def run(seed):
        brainstate.random.seed(seed)
        return np.asarray(lq.simulate(Net(), None, 20. * u.ms, dt=DT, record=("pop.V",)).traces["pop.V"]
                          .to_decimal(u.mV))

    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.1 and np.abs(a).max() > 0.1
