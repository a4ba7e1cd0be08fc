"""Poisson inputs: rates within statistical bounds (seeded), reproducibility, exact binomial counts, errors."""

import math

import brainstate
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u
from scipy import stats

import lapicque as lq
import tolerances as tol
from asserts import raises_naming
from lapicque._network.inputs import binomial_counts

DT = 0.1  # ms


def p_step(f_hz):
    return -math.expm1(-f_hz * DT * 1e-3)


def within(count, n, p, sigmas=tol.POISSON_SIGMAS):
    """``count`` successes of ``n`` Bernoulli(p) trials lie within ``sigmas`` standard deviations."""
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def run_source(src, steps, seed):
    brainstate.random.seed(seed)
    with brainstate.environ.context(dt=DT * u.ms):
        return np.asarray(brainstate.transform.for_loop(lambda i: src.update(), jnp.arange(steps)))


def test_poisson_spike_rates_within_bounds_and_reproducible():
    rates = np.repeat([0., 10., 50., 200.], 500)
    src = lq.PoissonSpike(rates.size, freqs=rates * u.Hz)
    spikes = run_source(src, 400, seed=7)
    assert spikes.dtype == bool and spikes.shape == (400, rates.size)
    for f in (10., 50., 200.):
        assert within(spikes[:, rates == f].sum(), 400 * 500, p_step(f))
    assert spikes[:, rates == 0.].sum() == 0
    np.testing.assert_array_equal(spikes, run_source(src, 400, seed=7))
    assert not np.array_equal(spikes, run_source(src, 400, seed=8))


def test_poisson_encoder_follows_the_given_rates():
    enc = lq.PoissonEncoder(1000, spk_type=jnp.float32)
    brainstate.random.seed(3)
    rates = jnp.linspace(0., 400., 1000) * u.Hz
    with brainstate.environ.context(dt=DT * u.ms):
        spikes = np.asarray(brainstate.transform.for_loop(lambda i: enc.update(rates), jnp.arange(400)))
    assert spikes.dtype == np.float32
    expected = sum(p_step(f) for f in np.linspace(0., 400., 1000)) * 400
    assert abs(spikes.sum() - expected) <= tol.POISSON_SIGMAS * math.sqrt(expected)


@pytest.mark.parametrize("n, p", [(500, p_step(100.)), (10_000, 0.05), (20, 0.5)])
def test_binomial_counts_follow_the_binomial_distribution(n, p):
    brainstate.random.seed(11)
    k = np.asarray(binomial_counts(n, jnp.float32(p), (40_000,), jnp.float32))
    assert within(k.mean() * k.size, n * k.size, p)
    lo, hi = stats.binom.ppf([1e-4, 1 - 1e-4], n, p).astype(int)
    edges = np.arange(lo, hi + 2)
    observed = np.histogram(np.clip(k, lo, hi), bins=edges)[0]
    expected = np.diff(stats.binom.cdf(edges - 1, n, p))
    expected[0] += stats.binom.cdf(lo - 1, n, p)
    expected[-1] += stats.binom.sf(hi, n, p)
    chi2 = stats.chisquare(observed, expected * k.size / expected.sum())
    assert chi2.pvalue > 1e-4


def test_poisson_input_adds_the_mean_drive_and_respects_indices_and_refractory():
    brainstate.random.seed(5)
    with brainstate.environ.context(dt=DT * u.ms):
        V = brainstate.HiddenState(u.math.zeros(20_000) * u.mV)
        lq.poisson_input(100. * u.Hz, 500, 0.1 * u.mV, V)
        mean = 500 * p_step(100.) * 0.1
        se = 0.1 * math.sqrt(500 * p_step(100.) * (1 - p_step(100.)) / 20_000)
        assert abs(float(V.value.mean().to_decimal(u.mV)) - mean) <= tol.POISSON_SIGMAS * se
        W = brainstate.HiddenState(u.math.zeros(6) * u.mV)
        refractory = jnp.array([False, True, False, False, False, False])
        lq.poisson_input(1e6 * u.Hz, 10, 1. * u.mV, W, indices=jnp.array([0, 1, 2]), refractory=refractory)
    assert np.asarray(W.value.to_decimal(u.mV)).tolist() == [10., 0., 10., 0., 0., 0.]


def test_poisson_input_module_on_a_neuron_in_a_compiled_loop():
    """Every kick reaches V (through the neuron's delta inputs): tau = 1e6 ms makes the leak negligible
    (50 steps lose 5e-6 of the gain) and V_th = 1 V keeps the neurons silent."""
    neu = lq.LIF(4000, R=100. * u.Mohm, tau=1e6 * u.ms, V_th=1e3 * u.mV)
    inp = lq.PoissonInput(neu.prefetch("V"), None, num_input=800, freq=10. * u.Hz, weight=0.05 * u.mV)
    brainstate.random.seed(9)
    with brainstate.environ.context(dt=DT * u.ms):
        neu.init_state()
        V0 = neu.V.value

        def step(i):
            inp.update()
            return neu.update()
        brainstate.transform.for_loop(step, jnp.arange(50))
    gained = np.asarray((neu.V.value - V0).to_decimal(u.mV))
    n_events = 50 * 800 * 4000
    assert within(gained.sum() / 0.05, n_events, p_step(10.))


def test_traced_rate_falls_back_to_jax_binomial():
    brainstate.random.seed(2)
    V = brainstate.HiddenState(u.math.zeros(5000) * u.mV)

    @brainstate.transform.jit
    def add(f_hz):
        with brainstate.environ.context(dt=DT * u.ms):
            lq.poisson_input(f_hz * u.Hz, 200, 1. * u.mV, V)

    add(jnp.float32(300.))
    assert within(float(V.value.sum().to_decimal(u.mV)), 5000 * 200, p_step(300.))


@pytest.mark.parametrize("make, exc, words", [
    (lambda: lq.PoissonSpike(10, freqs=5.), TypeError, ["PoissonSpike", "freqs", "rate"]),
    (lambda: lq.PoissonSpike(10, freqs=-5. * u.Hz), lq.ParameterError, ["PoissonSpike", "freqs", ">= 0"]),
    (lambda: lq.PoissonSpike(10, freqs=np.ones(3) * u.Hz), lq.ParameterError, ["PoissonSpike", "freqs", "shape"]),
    (lambda: lq.PoissonSpike(-1, freqs=5. * u.Hz), lq.ParameterError, ["PoissonSpike", "in_size"]),
    (lambda: lq.PoissonInput(lq.LIF(3).prefetch("V"), None, 0, 5. * u.Hz, 1. * u.mV), ValueError,
     ["PoissonInput", "num_input"]),
    (lambda: lq.PoissonInput("V", None, 10, 5. * u.Hz, 1. * u.mV), TypeError, ["PoissonInput", "target"]),
    (lambda: lq.PoissonInput(lq.LIF(3).prefetch("V"), None, 10, 5. * u.ms, 1. * u.mV), TypeError,
     ["PoissonInput", "freq"]),
])
def test_bad_parameters(make, exc, words):
    raises_naming(make, exc, words)


def test_weight_with_the_wrong_dimension_is_a_clear_error():
    V = brainstate.HiddenState(u.math.zeros(3) * u.mV)
    with brainstate.environ.context(dt=DT * u.ms):
        with pytest.raises(TypeError, match="poisson_input: weight 1.0 nS does not have the dimension"):
            lq.poisson_input(5. * u.Hz, 10, 1. * u.nS, V)
        with pytest.raises(TypeError, match="PoissonEncoder: parameter 'freqs'"):
            lq.PoissonEncoder(3).update(np.ones(3))


@pytest.mark.parametrize("rate", [np.nan, np.inf, -1.])
def test_encoder_refuses_concrete_rates_that_are_not_finite_and_nonnegative(rate):
    enc = lq.PoissonEncoder(3)
    with brainstate.environ.context(dt=DT * u.ms):
        raises_naming(lambda: enc.update(np.array([1., rate, 2.]) * u.Hz), lq.ParameterError,
                      ["PoissonEncoder", "'freqs'", "finite rate >= 0", "index (1,)", str(rate)])
        raises_naming(lambda: lq.poisson_input(rate * u.Hz, 3, 1. * u.mV, brainstate.HiddenState(
            u.math.zeros(3) * u.mV)), lq.ParameterError, ["poisson_input", "'freq'", "finite rate >= 0"])


def test_encoder_with_an_invalid_traced_rate_fires_at_every_step_instead_of_falling_silent():
    """Inside a compiled loop the rate is not looked at (no host round trip per step); NaN and negative
    rates saturate the source (bool spikes cannot be NaN), valid rates keep their statistics."""
    enc = lq.PoissonEncoder(4)
    rates = jnp.array([np.nan, -5., 0., 200.], dtype=jnp.float32)
    brainstate.random.seed(4)
    with brainstate.environ.context(dt=DT * u.ms):
        spikes = np.asarray(brainstate.transform.for_loop(lambda r: enc.update(r * u.Hz),
                                                          jnp.broadcast_to(rates, (4000, 4))))
    assert spikes[:, :2].all() and not spikes[:, 2].any()
    assert within(spikes[:, 3].sum(), 4000, p_step(200.))
