"""Swap the neuron model and the surrogate gradient in one spiking network.

The classifier of ``train_digits.py`` takes the hidden neuron group as a
constructor argument, so trying another model is one line: any lapicque class
(``LIF``, ``ALIF``, ``AdExIF``, ``Gif``, ...) with its own parameters, and any
``braintools.surrogate`` function as ``spk_fun``.  Each combination below is
trained for a few epochs on the 8x8 digits and its test accuracy printed.

The swap itself::

    net = SpikingClassifier(64, 128, 10, neuron=lapicque.AdExIF, gain=20.,
                            spk_fun=braintools.surrogate.Arctan(),
                            tau=10. * u.ms, V_th=-50. * u.mV, a=0.01 * u.siemens)

(the ``*Ref`` models work the same way: the network sets ``t`` every step).
Models differ in their voltage range and input resistance, so each gets
parameters that put its firing threshold within reach of the input current
(``gain`` converts the Linear layer's output to mA).

Run::

    python examples/swap_neuron_models.py [--epochs 8]
"""

import argparse

import brainstate
import braintools
import saiunit as u
from train_digits import SpikingClassifier, Trainer, load_data

import lapicque

#: name -> (neuron class, constructor parameters, gain in mA per unit of the Linear output)
NEURONS = {
    "LIF": (lapicque.LIF, {"tau": 10. * u.ms, "V_th": 1. * u.mV}, 2.),
    "ALIF": (lapicque.ALIF, {"tau": 10. * u.ms, "tau_a": 50. * u.ms, "beta": 0.1 * u.mV}, 2.),
    # AdEx: -65 mV rest, cut-off at -50 mV; weak subthreshold adaptation, spike-triggered b
    "AdExIF": (lapicque.AdExIF, {"tau": 10. * u.ms, "tau_w": 50. * u.ms, "V_th": -50. * u.mV,
                                 "a": 0.01 * u.siemens, "b": 0.5 * u.mA}, 20.),
    # Gif with R = 20 ohm: 1 mA moves V by 20 mV; spike-induced current I1 (A1 < 0) adapts
    "Gif": (lapicque.Gif, {"tau": 10. * u.ms, "A1": -0.2 * u.mA, "k1": 0.1 / u.ms}, 2.),
}

SURROGATES = {
    "Sigmoid": braintools.surrogate.Sigmoid(alpha=4.),
    "Arctan": braintools.surrogate.Arctan(),
    "PiecewiseQuadratic": braintools.surrogate.PiecewiseQuadratic(),
}


def train_one(neuron, surrogate, data, epochs=8, seed=0):
    """Build the same network with ``neuron`` and ``surrogate``, train it, return the test accuracy."""
    cls, params, gain = NEURONS[neuron]
    brainstate.random.seed(seed)
    x_tr, y_tr, x_te, y_te = data
    net = SpikingClassifier(64, 128, 10, neuron=cls, gain=gain, spk_fun=SURROGATES[surrogate], **params)
    trainer = Trainer(net, n_steps=20, lr=3e-3, total_steps=epochs * (len(x_tr) // 64), seed=seed)
    trainer.fit(x_tr, y_tr, epochs=epochs, batch_size=64, seed=seed, progress=False)
    return trainer.accuracy(x_te, y_te)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--neurons", nargs="+", default=list(NEURONS), choices=list(NEURONS))
    ap.add_argument("--surrogates", nargs="+", default=["Sigmoid", "Arctan"], choices=list(SURROGATES))
    args = ap.parse_args(argv)
    data = load_data(seed=0)
    results = {}
    for neuron in args.neurons:
        for surrogate in args.surrogates:
            acc = train_one(neuron, surrogate, data, epochs=args.epochs)
            results[neuron, surrogate] = acc
            print(f"{neuron:8s} {surrogate:20s} test accuracy: {acc:.3f}", flush=True)
    return results


if __name__ == "__main__":
    try:
        main()
    except ModuleNotFoundError as e:  # an optional extra: one line saying what to install
        raise SystemExit(f"swap_neuron_models.py: {e}")
