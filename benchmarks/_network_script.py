"""The E/I network as ported code runs it: the brainpy.state script in its own ``for_loop``, one process.

Worker side of :mod:`benchmarks.network`'s ``script`` group.  Five variants of one case, built and timed in one
interpreter, interleaved (so load changes hit all alike):

* ``brainpy``: the brainpy.state COBA/CUBA script (``brainstate.nn.EventFixedProb`` comms) in its own
  ``brainstate.transform.for_loop`` over the step times, returning the float spikes of every step, as
  brainpy.state's published examples do (``examples_state/103_COBA_2005.py``);
* ``lapicque-script``: the *unchanged* script with only the import changed (``import lapicque as bp``):
  still ``brainstate.nn.EventFixedProb`` comms, the same loop and float spikes;
* ``lapicque-script-own``: the same script and loop with lapicque's own comm (:class:`lapicque.EdgeList`
  holding the very same edges);
* ``loop-floor``: the same ``for_loop`` writing the same (T, N) float output with no network (a one-state
  leaky update): what any implementation of this loop pays;
* ``lapicque-same-process``: ``lapicque.simulate`` of the lapicque network, in this process.

Kernels per step (:mod:`benchmarks.hlo_kernels`) are counted in the optimized HLO of the user's loop and of
``simulate``'s program.
"""

from __future__ import annotations

import time

import numpy as np

from ._common import interleaved, median
from .hlo_kernels import count_step_kernels, describe

VARIANTS = ("brainpy", "lapicque-script", "lapicque-script-own", "loop-floor", "lapicque-same-process")
NOTES = {
    "brainpy": "brainpy.state script: EventFixedProb comms, its own for_loop, float spikes",
    "lapicque-script": "the unchanged script, import changed: EventFixedProb comms, its own for_loop, float spikes",
    "lapicque-script-own": "the script with lapicque.EdgeList comms (same edges), its own for_loop, float spikes",
    "loop-floor": "the same for_loop writing the same (T, N) float output, no network",
    "lapicque-same-process": "lapicque.simulate(spikes='count'), EdgeList comms, in the script's process",
}


def floor_model(n: int):
    """A module whose step costs nothing but the loop: one leaky state, float 'spikes' out, no network."""
    import brainstate
    import jax.numpy as jnp

    class Floor(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.v = brainstate.HiddenState(jnp.zeros(n, jnp.float32))

        def update(self, t):
            v = self.v.value * 0.99 + 0.011
            spk = v >= 1.
            self.v.value = jnp.where(spk, 0., v)
            return spk.astype(jnp.float32)

    return Floor()


def _script_update(model):
    """The script's step: ``update(t)`` under ``environ.context(t=t)``, returning the float spikes."""
    import brainstate

    def step(t):
        with brainstate.environ.context(t=t):
            model.step()
            return model.pop.get_spike()

    return step


def loop_fn(model, steps: int, update=None):
    """``fn()``: the published scripts' loop: init states, then ``for_loop`` over the step times (not jitted)."""
    import brainstate
    import jax
    import saiunit as u

    times = u.math.arange(steps) * brainstate.environ.get_dt()
    update = update or _script_update(model)

    def fn():
        brainstate.nn.init_all_states(model)
        return jax.block_until_ready(brainstate.transform.for_loop(update, times))

    return fn, update, times


def _models(build_ei, comms, net, model_name):
    import brainpy
    import lapicque

    n = net["V0"].size
    return {
        "brainpy": build_ei(brainpy.state, model_name, net, comms["brainstate"]),
        "lapicque-script": build_ei(lapicque, model_name, net, comms["brainstate"]),
        "lapicque-script-own": build_ei(lapicque, model_name, net, comms["lapicque"]),
        "loop-floor": floor_model(n),
        "lapicque-same-process": build_ei(lapicque, model_name, net, comms["lapicque"]),
    }


def _rates_of(name, out, n_e, seconds):
    """E and I rates (Hz) from a (T, N) float spike output or from simulate's result; None for the floor."""
    if name == "loop-floor":
        return None
    if name == "lapicque-same-process":
        counts = np.asarray(next(iter(out.values())).spike_count)
    else:
        counts = np.asarray(out).sum(0)
    return [float(counts[:n_e].sum() / n_e / seconds), float(counts[n_e:].sum() / (counts.size - n_e) / seconds)]


def kernels(models, steps_probe: int = 20):
    """Kernels per step of the user's loop (each script variant) and of ``simulate`` (optimized HLO)."""
    import brainstate
    import lapicque
    import saiunit as u

    out = {}
    for name, model in models.items():
        brainstate.nn.init_all_states(model)
        if name == "lapicque-same-process":
            text = lapicque.sharding.compiled_text(model, None, steps_probe * 0.1 * u.ms, spikes="count")
        else:
            _, update, times = loop_fn(model, steps_probe, _script_update(model) if name != "loop-floor" else
                                       model.update)
            text = brainstate.transform.jit(lambda: brainstate.transform.for_loop(update, times)).lower() \
                .compile().as_text()
        counts = count_step_kernels(text)
        out[name] = dict(counts, text=describe(counts))
    return out


def run_group(spec, net, build_ei, comms):
    """Time every variant in this process, interleaved; returns ``{variant: result dict}``."""
    import lapicque
    import saiunit as u

    n_e, seconds = int(net["n_e"]), spec["duration_s"]
    steps = int(round(seconds / 1e-4))
    t0 = time.perf_counter()
    models = _models(build_ei, comms, net, spec["model"])
    build = time.perf_counter() - t0
    fns = {}
    for name, model in models.items():
        if name == "lapicque-same-process":
            fns[name] = (lambda m: lambda: lapicque.simulate(m, None, seconds * u.second, spikes="count"))(model)
        else:
            fns[name] = loop_fn(model, steps, model.update if name == "loop-floor" else None)[0]
    first, outs = {}, {}
    for name, fn in fns.items():  # two warm-up calls (a brainpy.state model retraces on its second call)
        t = time.perf_counter()
        fn()
        first[name] = time.perf_counter() - t
        outs[name] = fn()
    cpu = {}
    times = interleaved(fns, spec["repeats"], cpu=cpu, min_sample_s=0)
    res = {}
    for name in fns:
        run = median(times[name])
        res[name] = dict(build_s=build / len(fns), compile_s=max(first[name] - run, 0.), run_s=run, first_s=first[name],
                         all_s=times[name], cpu_s=median(cpu[name]), rates=_rates_of(name, outs[name], n_e, seconds),
                         note=NOTES[name])
    if spec.get("kernels"):
        for name, k in kernels(models).items():
            res[name]["kernels"] = k
    return res
