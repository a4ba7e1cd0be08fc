"""examples/train_readout.py: a spiking layer with a LeakyRateReadout learns its task in a short run."""

import importlib.util
import pathlib
import re

import jax
import numpy as np

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "train_readout.py"


def _load():
    spec = importlib.util.spec_from_file_location("train_readout", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_batch_rates_and_labels():
    ex = _load()
    xs, ys = ex.make_batch(jax.random.PRNGKey(0), 600, n_steps=200)
    xs, ys = np.asarray(xs), np.asarray(ys)
    assert xs.shape == (200, 600, 30) and set(np.unique(xs)) <= {0., 1.} and set(np.unique(ys)) == {0, 1, 2}
    group_rate = xs.reshape(200, 600, 3, 10).mean(axis=(0, 3))          # spikes per 1 ms step
    own = group_rate[np.arange(600), ys]
    np.testing.assert_allclose(own.mean(), 0.06, rtol=0.05)               # 60 Hz
    others = np.delete(group_rate, 0, axis=1)[ys == 0]
    np.testing.assert_allclose(others.mean(), 0.02, rtol=0.1)             # 20 Hz


def test_training_learns_the_task(capsys):
    """60 updates: the loss falls to a third or less and held-out accuracy is far above chance (1/3)."""
    acc = _load().main(["--updates", "60"])
    lines = capsys.readouterr().out.strip().splitlines()
    first, last = map(float, re.match(r"loss ([\d.]+) -> ([\d.]+)", lines[0]).groups())
    assert last < first / 3., lines
    assert acc > 0.85 and lines[-1] == f"test accuracy: {acc:.3f}"
