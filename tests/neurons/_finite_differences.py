"""The finite-difference check of ``test_gradients.py``, in float64, in a process of its own.

``jax_enable_x64`` is switched on before anything runs, so the test starts this script instead of
touching its own process.  By hand, from the repository root::

    python tests/neurons/_finite_differences.py

For LIF (``tau``) and AdExIF (``tau``, ``tau_w``) it differentiates a subthreshold loss with
``jax.grad`` and with central differences, and prints one ``RESULT <json>`` line: per parameter the
gradient, the difference quotient, the run's spike count and largest V, and the loss's dtype.
"""

import json

import jax

jax.config.update("jax_enable_x64", True)

import brainstate  # noqa: E402
import braintools  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import saiunit as u  # noqa: E402

import lapicque as lq  # noqa: E402

brainstate.environ.set(precision=64)
DT = 0.1 * u.ms
SURROGATE = braintools.surrogate.ReluGrad()  # zero derivative for |x| >= 1

# V stays below V_reset, i.e. outside ReluGrad's support ((V - V_th)/(V_th - V_reset) < -1): then
# the surrogate spike contributes nothing and autodiff must equal the derivative of the trajectory.
CASES = {
    "LIF": (dict(V_rest=-70. * u.mV, V_reset=-60. * u.mV, V_th=-50. * u.mV,
                 V_initializer=braintools.init.Constant(-70. * u.mV)),
            dict(tau=10.), 8.),
    "AdExIF": (dict(V_rest=-65. * u.mV, V_reset=-60. * u.mV, V_th=-50. * u.mV,
                    V_initializer=braintools.init.Constant(-65. * u.mV)),
               dict(tau=10., tau_w=30.), 3.),
}


def run(name, theta):
    """A 300-step run of 4 neurons with time constants ``theta`` (ms): the loss, (spike count, largest V)."""
    fixed, _, amp = CASES[name]
    kw = {k: v * u.ms for k, v in theta.items()}
    model = lq.MODELS[name](4, spk_fun=SURROGATE, **fixed, **kw)
    with brainstate.environ.context(dt=DT):
        model.init_state()
        I = amp * jnp.linspace(0.25, 1.0, 4) * u.mA

        def step(i):
            spk = model.update(I)
            return spk, model.V.value.to_decimal(u.mV)
        spikes, V = brainstate.transform.for_loop(step, jnp.arange(300))
    # a nonlinear subthreshold loss: mean squared depolarisation
    return jnp.mean((V + 70.) ** 2), (spikes.sum(), V.max())


def check(name):
    _, theta0, _ = CASES[name]
    keys = list(theta0)
    x0 = jnp.array([theta0[k] for k in keys])
    h = 1e-4 * x0

    def f(x):
        return run(name, dict(zip(keys, x)))

    @jax.jit
    def grad_and_fd(x0):
        g, (n_spikes, vmax) = jax.grad(f, has_aux=True)(x0)
        # central differences, one pair of runs per parameter (vmapped)
        steps = jnp.diag(h)
        plus, minus = jax.vmap(lambda d: f(x0 + d)[0])(steps), jax.vmap(lambda d: f(x0 - d)[0])(steps)
        return g, (plus - minus) / (2 * h), n_spikes, vmax, f(x0)[0]

    g, fd, n_spikes, vmax, loss = grad_and_fd(x0)
    return {f"{name}.{k}": dict(grad=float(g[i]), fd=float(fd[i]), spikes=float(n_spikes), vmax=float(vmax),
                                dtype=str(loss.dtype))
            for i, k in enumerate(keys)}


if __name__ == "__main__":
    out = {}
    for case in CASES:
        out.update(check(case))
    print("RESULT " + json.dumps(out), flush=True)
