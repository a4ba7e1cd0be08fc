"""Surrogate-gradient training step of a small LIF network (SpyTorch tutorial 1), as brainpy.state's example.

Equivalent of https://github.com/brainpy/BrainPy/blob/master/examples_state/200_surrogate_grad_lif.py
(Apache-2.0, Copyright 2024 BrainX Ecosystem Limited), written for this benchmark (not a copy): input ->
``Linear`` -> ``bp.Expon`` -> ``bp.LIF`` (ReLU surrogate) -> ``Linear`` -> ``bp.Expon``, 100 -> 4 -> 2, batch 256,
200 steps of 1 ms, Poisson-like input at 5 Hz; one timed call is one jitted training step (init states,
``for_loop``, gradient, Adam update), as the example's ``train_fn``.  Compared: the loss after the step.
"""

import brainstate
import braintools
import jax.numpy as jnp
import saiunit as u

SOURCE = "https://github.com/brainpy/BrainPy/blob/master/examples_state/200_surrogate_grad_lif.py"
DT_MS = 1.0
KIND = "loss"  # what run() returns: the loss, compared instead of rates


def build(bp):
    with brainstate.environ.context(dt=DT_MS * u.ms):
        return _build(bp)


def _build(bp):
    num_in, num_rec, num_out, num_step, num_sample = 100, 4, 2, 200, 256

    class SNN(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            scale = 7 * (1 - (u.math.exp(-brainstate.environ.get_dt() / (1 * u.ms))))
            self.i2r = brainstate.nn.Sequential(
                brainstate.nn.Linear(num_in, num_rec, w_init=braintools.init.KaimingNormal(scale=scale, unit=u.mA),
                                     b_init=braintools.init.ZeroInit(unit=u.mA)),
                bp.Expon(num_rec, tau=5. * u.ms, g_initializer=braintools.init.Constant(0. * u.mA)))
            self.r = bp.LIF(num_rec, tau=20 * u.ms, V_reset=0 * u.mV, V_rest=0 * u.mV, V_th=1. * u.mV,
                            spk_fun=braintools.surrogate.ReluGrad())
            self.r2o = brainstate.nn.Linear(num_rec, num_out, w_init=braintools.init.KaimingNormal())
            self.o = bp.Expon(num_out, tau=10. * u.ms, g_initializer=braintools.init.Constant(0.))

        def update(self, spike):
            return self.o(self.r2o(self.r(self.i2r(spike))))

    net = SNN()
    rng = brainstate.random.RandomState(0)
    x_data = rng.rand(num_step, num_sample, num_in) < 5 * u.Hz * brainstate.environ.get_dt()
    y_data = u.math.asarray(rng.rand(num_sample) < 0.5, dtype=int)
    optimizer = braintools.optim.Adam(lr=3e-3)
    optimizer.register_trainable_weights(net.states(brainstate.ParamState))

    def loss_fn():
        predictions = u.math.mean(brainstate.transform.for_loop(net.update, x_data), axis=0)
        return braintools.metric.softmax_cross_entropy_with_integer_labels(predictions, y_data).mean()

    @brainstate.transform.jit
    def train_fn():
        with brainstate.environ.context(dt=DT_MS * u.ms):
            brainstate.nn.init_all_states(net, batch_size=num_sample)
            grads, loss = brainstate.transform.grad(loss_fn, net.states(brainstate.ParamState), return_value=True)()
            optimizer.update(grads)
            return loss

    return (lambda: jnp.asarray(train_fn())), (lambda loss: {"loss": loss})
