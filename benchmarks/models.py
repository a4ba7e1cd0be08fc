"""The same simulation loop for lapicque and the reference (``brainpy.state``).

Every run is a ``brainstate.transform.for_loop`` over ``T`` steps inside
``brainstate.transform.jit``; each step sets ``t = i * dt`` with
``brainstate.environ.context`` and calls ``model.update(I)`` with a constant
current ``I`` (chosen per model so that the neurons fire), and the loop
returns the spikes of every step: either as ``update`` returns them
(``float32`` surrogate spikes, ``store='float'``) or as ``bool``
(``store='bool'``).  Only the model class differs between the two libraries.
"""

from __future__ import annotations

import importlib
from typing import Callable, Dict, Optional, Tuple

#: constant input current (mA) per model: suprathreshold with the default
#: parameters of both libraries, so that every model fires regularly
INPUT_MA: Dict[str, float] = {
    "IF": 2.0,
    "LIF": 2.0,
    "LIFRef": 2.0,
    "ALIF": 2.0,
    "ExpIF": 10.0,
    "ExpIFRef": 10.0,
    "AdExIF": 10.0,
    "AdExIFRef": 10.0,
    "QuaIF": 10.0,
    "AdQuaIF": 40.0,
    "AdQuaIFRef": 40.0,
    "Gif": 1.5,
    "GifRef": 1.5,
}

#: the order of the reference's model table
MODEL_NAMES = tuple(INPUT_MA)

#: a small, varied subset for --quick
QUICK_MODELS = ("LIF", "LIFRef", "AdExIF", "GifRef")

DT_MS = 0.1

IMPLS = ("lapicque", "brainpy")


def model_class(impl: str, name: str):
    """The class ``name`` of ``impl`` ('lapicque' or 'brainpy')."""
    if impl == "lapicque":
        import lapicque

        return lapicque.MODELS[name]
    if impl == "brainpy":
        mod = importlib.import_module("brainpy.state")
        return getattr(mod, name)
    raise ValueError(f"unknown implementation {impl!r}")


def has_reference() -> bool:
    try:
        importlib.import_module("brainpy.state")
        return True
    except Exception:  # noqa: BLE001
        return False


def make_model(impl: str, name: str, n: int, batch: Optional[int] = None, **kwargs):
    """Construct and initialize model ``name`` of ``impl`` with ``n`` neurons."""
    model = model_class(impl, name)(n, **kwargs)
    model.init_state(batch_size=batch) if batch is not None else model.init_state()
    return model


def build_forward(impl: str, name: str, n: int, steps: int, store: str = "float",
                  dt_ms: float = DT_MS, input_ma: Optional[float] = None) -> Tuple[Callable, object]:
    """A jitted function running ``steps`` steps of ``name``; returns (fn, model).

    ``fn()`` returns the recorded spikes, shape ``(steps, n)``, blocked until
    computed.  The model state carries over between calls (the run continues),
    which keeps every call the same amount of work.
    """
    import brainstate
    import jax
    import jax.numpy as jnp
    import saiunit as u

    if store not in ("float", "bool"):
        raise ValueError("store must be 'float' or 'bool'")
    brainstate.environ.set(dt=dt_ms * u.ms)
    model = make_model(impl, name, n)
    current = (INPUT_MA[name] if input_ma is None else input_ma) * u.mA
    dt = dt_ms * u.ms

    def step(i):
        with brainstate.environ.context(t=i * dt):
            spk = model.update(current)
        return spk > 0 if store == "bool" else spk

    @brainstate.transform.jit
    def run():
        return brainstate.transform.for_loop(step, jnp.arange(steps))

    def fn():
        return jax.block_until_ready(run())

    return fn, model


def build_simulate(name: str, n: int, steps: int, dt_ms: float = DT_MS,
                   input_ma: Optional[float] = None) -> Optional[Callable]:
    """``lapicque.simulate`` of the same run, if lapicque has it (else None)."""
    try:
        import lapicque
    except ImportError:  # pragma: no cover
        return None
    sim = getattr(lapicque, "simulate", None)
    if sim is None:
        try:
            sim = importlib.import_module("lapicque.simulate").simulate
        except Exception:  # noqa: BLE001
            return None
    import inspect

    import brainstate
    import jax
    import saiunit as u

    brainstate.environ.set(dt=dt_ms * u.ms)
    model = make_model("lapicque", name, n)
    current = (INPUT_MA[name] if input_ma is None else input_ma) * u.mA
    params = inspect.signature(sim).parameters
    kwargs = {}
    # be tolerant of the exact signature: (model, inputs/duration, steps/T, dt, ...)
    if "dt" in params:
        kwargs["dt"] = dt_ms * u.ms
    for key in ("steps", "n_steps", "T", "num_steps"):
        if key in params:
            kwargs[key] = steps
            break
    else:
        if "duration" in params:
            kwargs["duration"] = steps * dt_ms * u.ms
    for key in ("inputs", "input", "x", "current", "I"):
        if key in params:
            kwargs[key] = current
            break
    for key in ("progress_bar", "pbar", "progress"):
        if key in params:
            kwargs[key] = False

    def fn():
        return jax.block_until_ready(jax.tree_util.tree_leaves(sim(model, **kwargs)))

    return fn


def spike_rate_hz(spikes, dt_ms: float = DT_MS) -> float:
    """Mean firing rate (Hz) of a ``(T, N)`` spike record."""
    import numpy as np

    s = np.asarray(spikes)
    return float(s.astype(np.float64).mean() / (dt_ms * 1e-3))
