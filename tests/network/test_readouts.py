"""LeakyRateReadout: the exponential filter it must be, brainpy.state, training, errors."""

import brainstate
import braintools
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from asserts import raises_naming

#: float32 against a float64 closed form: the recurrence r <- a r + x W adds ~1 ulp per step to a
#: geometric sum bounded by |xW| / (1 - a) ~ 10 here (ulp 1e-6), so 1e-5 relative with room
FILTER_RTOL = 1e-5


def run_readout(ro, xs, dt=1. * u.ms, batch=None):
    with brainstate.environ.context(dt=dt):
        ro.init_state(batch)
        return np.asarray(brainstate.transform.for_loop(ro.update, xs))


def test_readout_is_the_exponential_filter():
    """r_t = sum_{s <= t} exp(-(t - s) dt / tau) x_s W, per output with its own tau."""
    rng = np.random.default_rng(0)
    T, n_in, n_out = 80, 5, 3
    xs = (rng.random((T, n_in)) < 0.3).astype(np.float32)
    W = rng.normal(size=(n_in, n_out)).astype(np.float32)
    tau = np.array([2., 5., 20.])
    ro = lq.LeakyRateReadout(n_in, n_out, tau=tau * u.ms, w_init=jnp.asarray(W))
    r = run_readout(ro, jnp.asarray(xs), dt=0.5 * u.ms)
    lag = np.arange(T)[:, None] - np.arange(T)[None, :]                       # t - s
    kernel = np.where(lag[..., None] >= 0, np.exp(-np.maximum(lag, 0)[..., None] * 0.5 / tau), 0.)  # (t, s, out)
    expected = np.einsum("tso,so->to", kernel, xs.astype(np.float64) @ W.astype(np.float64))
    np.testing.assert_allclose(r, expected, rtol=FILTER_RTOL, atol=FILTER_RTOL)
    with brainstate.environ.context(dt=0.5 * u.ms):
        np.testing.assert_allclose(np.asarray(ro.decay), np.exp(-0.5 / tau), rtol=1e-6)


def test_readout_constant_input_converges_to_xW_over_1_minus_a():
    ro = lq.LeakyRateReadout(2, 1, tau=4. * u.ms, w_init=jnp.array([[1.], [2.]]))
    r = run_readout(ro, jnp.ones((200, 2)))
    np.testing.assert_allclose(r[-1, 0], 3. / (1. - np.exp(-1. / 4.)), rtol=FILTER_RTOL)


def test_readout_matches_reference():
    bs = pytest.importorskip("brainpy").state
    rng = np.random.default_rng(1)
    W = jnp.asarray(rng.normal(size=(6, 4)).astype(np.float32))
    xs = jnp.asarray((rng.random((50, 3, 6)) < 0.4).astype(np.float32))
    with brainstate.environ.context(dt=0.1 * u.ms):
        ref = bs.LeakyRateReadout(6, 4, tau=2. * u.ms, w_init=W)
    ours = lq.LeakyRateReadout(6, 4, tau=2. * u.ms, w_init=W)
    np.testing.assert_allclose(run_readout(ours, xs, 0.1 * u.ms, batch=3), run_readout(ref, xs, 0.1 * u.ms, batch=3),
                               rtol=1e-6, atol=1e-6)
    assert ours.weight.value.shape == ref.weight.value.shape == (6, 4)
    assert type(ours.weight) is type(ref.weight) and type(ours.r) is type(ref.r)


def test_readout_states_batch_reset_dt_and_defaults():
    ro = lq.LeakyRateReadout(3, 2)                      # built without dt (the reference needs it)
    assert ro.weight.value.shape == (3, 2) and np.all(np.asarray(ro.tau.to_decimal(u.ms)) == 5.)
    with brainstate.environ.context(dt=1. * u.ms):
        ro.init_state(batch_size=4)
        assert ro.r.value.shape == (4, 2)
        ro.update(jnp.ones((4, 3)))
        assert np.abs(np.asarray(ro.r.value)).sum() > 0
        ro.reset_state(batch_size=4)
        assert np.all(np.asarray(ro.r.value) == 0.)
    for dt in (0.1, 1.):                                 # decay follows the environment's dt
        with brainstate.environ.context(dt=dt * u.ms):
            assert float(np.max(ro.decay)) == pytest.approx(np.exp(-dt / 5.), rel=1e-6)


def test_readout_gradients_train_the_weights():
    """A few Adam steps drive the final readout to a target (gradients reach ParamState weights)."""
    ro = lq.LeakyRateReadout(4, 2, tau=5. * u.ms, w_init=braintools.init.Constant(0.))
    xs = jnp.asarray(np.random.default_rng(2).random((20, 4)).astype(np.float32))
    target = jnp.array([1., -1.])
    weights = ro.states(brainstate.ParamState)
    opt = braintools.optim.Adam(lr=0.05)
    opt.register_trainable_weights(weights)

    def loss():
        ro.init_state()
        return jnp.sum((brainstate.transform.for_loop(ro.update, xs)[-1] - target) ** 2)

    @brainstate.transform.jit
    def train_step():
        grads, value = brainstate.transform.grad(loss, weights, return_value=True)()
        opt.update(grads)
        return value

    with brainstate.environ.context(dt=1. * u.ms):
        losses = [float(train_step()) for _ in range(60)]
    assert losses[-1] < 0.01 * losses[0], losses


@pytest.mark.usefixtures("isolated_environ")
def test_readout_errors():
    raises_naming(lambda: lq.LeakyRateReadout(3, 2, tau=5.), TypeError, ["LeakyRateReadout", "tau", "time"])
    raises_naming(lambda: lq.LeakyRateReadout(3, 2, tau=-5. * u.ms), lq.ParameterError,
                  ["LeakyRateReadout", "tau", "> 0"])
    raises_naming(lambda: lq.LeakyRateReadout((3, 2), 2), lq.ParameterError, ["LeakyRateReadout", "in_size"])
    raises_naming(lambda: lq.LeakyRateReadout(3, 0), lq.ParameterError, ["LeakyRateReadout", "out_size"])
    raises_naming(lambda: lq.LeakyRateReadout(3, 2, w_init=jnp.ones((2, 2))), lq.ParameterError,
                  ["LeakyRateReadout", "w_init", "(3, 2)"])
    ro = lq.LeakyRateReadout(3, 2)
    ro.init_state()
    with brainstate.environ.context(dt=1. * u.ms):
        raises_naming(lambda: ro.update(jnp.ones(4)), ValueError, ["LeakyRateReadout", "in_size", "3"])
    raises_naming(lambda: ro.update(jnp.ones(3)), lq.EnvironmentNotSetError, ["LeakyRateReadout", "dt"])


def test_readout_under_jit():
    ro = lq.LeakyRateReadout(3, 2, w_init=jnp.ones((3, 2)))
    with brainstate.environ.context(dt=1. * u.ms):
        ro.init_state()
        step = brainstate.transform.jit(ro.update)
        step(jnp.ones(3))
        r = step(jnp.ones(3))
    np.testing.assert_allclose(np.asarray(r), 3. * (1. + np.exp(-1. / 5.)), rtol=1e-6)
