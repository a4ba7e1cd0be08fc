"""Precision: float64 vs float32, closed forms, and 16-bit floats.

* float64 (``jax_enable_x64`` with ``brainstate.environ`` precision 64) runs in a
  **subprocess** (``_precision_runs.py`` beside this file), so x64 can never leak into
  the other tests; it runs the same simulations as the float32 reference, concurrently.
* float64 matches float32 to the float32 tolerances, and the closed forms much more
  tightly (the exact propagators of the linear equations leave only rounding).
* ``brainstate.environ.context(precision=64)`` in-process also works: it switches
  x64 on and off again (checked: nothing leaks out of the context).
* 16-bit floats (``precision=16`` -> float16, ``'bf16'`` -> bfloat16) are not
  usable: an exponential-Euler increment ``dt * dV/dt`` of ~0.05 mV is below half
  an ulp of V near -65 mV (float16: 0.03 mV, bfloat16: 0.25 mV) and is rounded away
  (bfloat16 ExpIF sits at -65 mV under a 5 mV drive), and the "never spiked" stamp
  -1e7 ms of the refractory models overflows float16 to -inf.  The core must reject
  them at ``init_state`` with an error naming the precision.
"""

import json
import os
import subprocess
import sys

import brainstate
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from registry import NAMES

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
N_STEPS = 2000
SCALES = [0.8, 1.0, 1.5, 3.0]

#: float64 vs float32 membrane potential away from spikes (3 steps excluded around each
#: spike), each neuron up to its first spike-time disagreement.  Observed (13 models x 4
#: inputs, 2000 steps of 0.1 ms): max 6.1e-4 mV (ExpIF, the exponential amplifies the
#: float32 rounding near the cut-off), 2.5e-4 QuaIF, <= 8e-5 the adaptive models, 4.5e-7
#: the linear ones; and identical spike trains.  Bound: 5e-3 mV (8x).
F64_F32_V_ATOL_MV = 5e-3
#: spikes excluded on each side when comparing traces
SPIKE_MARGIN = 3
#: spike times: float32 rounding can move a threshold crossing that lies within ~1e-6 of a
#: grid point to the neighbouring step; later spikes inherit the shift in the adaptive
#: models.  Compare the first FIRST_SPIKES spikes of each neuron to within 1 step.
FIRST_SPIKES = 5
#: closed forms (exact propagators): float64 to 1e-11 relative (observed 7e-16 LIF, 3e-15
#: ALIF).  float32: each step rounds the increment to about half an ulp of V, and the
#: propagator forgets errors only at the rate dt/tau, so the bias settles at ~(tau/dt) x
#: ulp(V)/2 = 100 x 3.8e-6/2 = 1.9e-4 mV at V ~ -52 mV, tau = 10 ms, dt = 0.1 ms --
#: observed 1.907e-4 mV.  Bound (tau/dt) x ulp(64 mV) = 7.6e-4 mV.
CLOSED_FORM_F64_RTOL = 1e-11
CLOSED_FORM_F32_ATOL_MV = 100 * 7.6e-6


def _launch(precision):
    """Start ``_precision_runs.py`` (beside this file) at ``precision``; it prints one ``RESULT <json>`` line."""
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"),
               PYTHONPATH=os.pathsep.join([ROOT] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH")
                                                    else [])))  # lapicque of this checkout
    args = [str(precision), "--steps", str(N_STEPS), "--scales", ",".join(map(repr, SCALES)),
            "--names", ",".join(NAMES)]
    return subprocess.Popen([sys.executable, os.path.join(HERE, "_precision_runs.py"), *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _collect(proc):
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"subprocess failed:\n{err[-4000:]}"
    return json.loads([x for x in out.splitlines() if x.startswith("RESULT ")][-1][len("RESULT "):])


@pytest.fixture(scope="module")
def results():
    """float64 (subprocess) and float32 (subprocess too: identical code path) results."""
    procs = {p: _launch(p) for p in (64, 32)}
    return {p: _collect(proc) for p, proc in procs.items()}


def test_x64_stays_in_the_subprocess(results):
    assert results[64]["x64"] is True and results[32]["x64"] is False
    assert jnp.zeros(1).dtype == jnp.float32, "x64 leaked into the test process"
    for name in NAMES:
        for key, dtype in results[64]["dtypes"][name].items():
            if key not in ("ref_steps_left", "refractory", "started"):  # int and bool bookkeeping
                assert dtype == "float64", (name, key, dtype)
            assert results[32]["dtypes"][name][key] == dtype.replace("float64", "float32"), (name, key)


def _spike_steps(spikes):
    s = np.asarray(spikes)
    return [np.flatnonzero(s[:, j]) for j in range(s.shape[1])]


@pytest.mark.parametrize("name", NAMES)
def test_float64_matches_float32(name, results):
    r64, r32 = results[64]["runs"][name], results[32]["runs"][name]
    s64, s32 = _spike_steps(r64["spikes"]), _spike_steps(r32["spikes"])
    assert sum(map(len, s64)) > 0, f"{name}: nothing spiked"
    for j, (a, b) in enumerate(zip(s64, s32)):
        n = min(len(a), len(b), FIRST_SPIKES)
        assert abs(len(a) - len(b)) <= max(1, 0.02 * len(a)), f"{name}[{j}]: {len(a)} vs {len(b)} spikes"
        assert np.all(np.abs(a[:n] - b[:n]) <= 1), f"{name}[{j}]: first spikes {a[:n]} vs {b[:n]}"
    V64, V32 = np.asarray(r64["V"]), np.asarray(r32["V"])
    near = np.zeros_like(V64, bool)
    for steps in (s64, s32):
        for j, st in enumerate(steps):
            for step in st:
                near[max(0, step - SPIKE_MARGIN):step + SPIKE_MARGIN + 1, j] = True
    # compare each neuron up to its first spike-time disagreement (after it the trains differ by design)
    for j in range(V64.shape[1]):
        a, b = s64[j], s32[j]
        n = min(len(a), len(b))
        differ = np.flatnonzero(a[:n] != b[:n])
        if differ.size:
            end = min(a[differ[0]], b[differ[0]]) - SPIKE_MARGIN
        elif len(a) != len(b):
            end = np.r_[a[n:], b[n:]].min() - SPIKE_MARGIN
        else:
            end = N_STEPS
        err = np.abs(V64[:end, j] - V32[:end, j])[~near[:end, j]]
        if err.size:
            assert err.max() <= F64_F32_V_ATOL_MV, f"{name}[{j}]: |V64 - V32| = {err.max():.3g} mV"


def test_closed_forms(results):
    dt, k = 0.1, np.arange(1, N_STEPS + 1)
    lif = -52. + (-70. + 52.) * np.exp(-k * dt / 10.)
    a = 3. * np.exp(-k * dt / 100.)
    I1, I2 = 2. * np.exp(-0.2 * k * dt), -1. * np.exp(-0.02 * k * dt)
    r64, r32 = results[64], results[32]
    np.testing.assert_allclose(r64["lif"], lif, rtol=CLOSED_FORM_F64_RTOL, atol=0)
    np.testing.assert_allclose(r64["alif_a"], a, rtol=CLOSED_FORM_F64_RTOL, atol=0)
    np.testing.assert_allclose(r64["gif_I1"], I1, rtol=CLOSED_FORM_F64_RTOL, atol=1e-300)
    np.testing.assert_allclose(r64["gif_I2"], I2, rtol=CLOSED_FORM_F64_RTOL, atol=0)
    np.testing.assert_allclose(r32["lif"], lif, atol=CLOSED_FORM_F32_ATOL_MV, rtol=0)
    err64 = np.abs(np.asarray(r64["lif"]) - lif).max()
    err32 = np.abs(np.asarray(r32["lif"]) - lif).max()
    assert err64 < 1e-4 * err32, (err64, err32)  # float64 is much closer to the closed form


def test_precision_64_context_in_process_does_not_leak():
    """``brainstate.environ.context(precision=64)`` toggles x64 on and back off."""
    from _run import run

    def simulate():
        model = lq.LIFRef(3)
        spk, rec = run(model, np.full((50, 3), 5., np.float32))
        return model, spk, rec["V"]

    _, spk_before, V_before = simulate()
    with brainstate.environ.context(precision=64):
        model, spk64, V64 = simulate()
        assert V64.dtype == np.float64 and model.last_spike_time.value.dtype == np.float64
    model, spk_after, V_after = simulate()
    assert jnp.zeros(1).dtype == jnp.float32 and V_after.dtype == np.float32
    assert model.V.value.dtype == np.float32
    np.testing.assert_array_equal(V_after, V_before)
    np.testing.assert_array_equal(spk_after, spk_before)
    np.testing.assert_array_equal(spk64, spk_before)
    np.testing.assert_allclose(V64, V_before, atol=CLOSED_FORM_F32_ATOL_MV)


@pytest.mark.parametrize("precision", [16, "bf16"])
@pytest.mark.parametrize("name", ["LIF", "LIFRef", "ExpIF", "Gif"])
def test_half_precision_rejected(name, precision):
    model = lq.MODELS[name](3)
    with brainstate.environ.context(precision=precision, dt=0.1 * u.ms):
        with pytest.raises((ValueError, TypeError), match=r"(?i)float16|bfloat16|precision"):
            model.init_state()
