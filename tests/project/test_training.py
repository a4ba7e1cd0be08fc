"""The training examples' code path: a short BPTT run on a tiny subset lowers the loss.

Imports the functions of ``examples/train_digits.py`` and
``examples/swap_neuron_models.py`` (scikit-learn is an extra for the examples;
these tests are skipped without it).
"""

import importlib.util
import pathlib
import sys

import brainstate
import braintools
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

pytest.importorskip("sklearn")

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def _load(name):
    """Import ``examples/<name>.py`` as a module (examples/ is not a package)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))  # swap_neuron_models imports train_digits
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def td():
    return _load("train_digits")


@pytest.fixture(scope="module")
def data(td):
    return td.load_data(seed=0)


def test_load_data_split(data):
    x_tr, _, x_te, y_te = data
    assert x_tr.shape == (1437, 64) and x_te.shape == (360, 64)  # 80/20 of 1797
    assert x_tr.dtype == np.float32 and 0. <= x_tr.min() and x_tr.max() <= 1.
    assert set(np.unique(y_te)) == set(range(10))


@pytest.mark.parametrize("encoding", ["current", "poisson", "latency"])
def test_encode(td, encoding):
    x = jnp.array([[0., 0.5, 1.]])
    xs = td.encode(x, 10, encoding, key=jax.random.PRNGKey(0))
    assert xs.shape == (10, 1, 3)
    xs = np.asarray(xs)
    if encoding == "current":
        assert np.all(xs == np.asarray(x))
    else:
        assert set(np.unique(xs)) <= {0., 1.}
        assert xs[:, 0, 0].sum() == 0  # a dark pixel never fires
    if encoding == "latency":
        assert list(xs[:, 0, :].sum(0)) == [0., 1., 1.]
        assert np.argmax(xs[:, 0, 2]) < np.argmax(xs[:, 0, 1])  # brighter fires earlier


def _short_run(td, data, n_updates=30, **net_kwargs):
    """Train on 64 digits for ``n_updates`` full-batch steps; return the losses."""
    x_tr, y_tr = data[0][:64], data[1][:64]
    brainstate.random.seed(0)
    net = td.SpikingClassifier(64, 32, 10, **net_kwargs)
    trainer = td.Trainer(net, n_steps=10, lr=1e-2, seed=0)
    losses = [trainer.train_step(x_tr, y_tr)[0] for _ in range(n_updates)]
    assert np.all(np.isfinite(losses))
    return losses


def test_training_reduces_loss(td, data):
    """``Trainer.fit`` (progress bar off) lowers the loss and learns the subset; ``accuracy`` works."""
    x_tr, y_tr = data[0][:64], data[1][:64]
    brainstate.random.seed(0)
    net = td.SpikingClassifier(64, 32, 10, spk_fun=braintools.surrogate.Sigmoid(alpha=4.), tau=10. * u.ms)
    trainer = td.Trainer(net, n_steps=10, lr=1e-2, seed=0)
    acc_before = trainer.accuracy(x_tr, y_tr)
    history = trainer.fit(x_tr, y_tr, epochs=30, batch_size=64, progress=False)
    losses = [h[0] for h in history]
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses
    acc_after = trainer.accuracy(x_tr, y_tr)
    assert acc_after > max(0.6, acc_before + 0.3), (acc_before, acc_after)


def test_swap_example_models_train(data):
    """Every neuron model of the swap example runs in the network and its loss goes down."""
    sw = _load("swap_neuron_models")
    td = sys.modules["train_digits"]
    for name, (cls, params, gain) in sw.NEURONS.items():
        losses = _short_run(td, data, n_updates=15, neuron=cls, gain=gain,
                            spk_fun=sw.SURROGATES["Arctan"], **params)
        assert np.mean(losses[-3:]) < np.mean(losses[:3]), (name, losses)


def test_main_prints_accuracy(td, capsys):
    acc = td.main(["--epochs", "1", "--hidden", "16", "--steps", "5", "--no-progress"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"test accuracy: {acc:.3f}"
