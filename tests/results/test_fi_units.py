"""analysis.fi_curve takes the model's own input unit (its ``input_unit``), as lapicque.simulate does.

A current for the integrate-and-fire and conductance-based models (unchanged), dV/dt in mV/ms for
Izhikevich, plain numbers for FitzHugh-Nagumo and Hindmarsh-Rose; another unit is refused naming the
unit expected.
"""

import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque import analysis

MV_PER_MS = u.mV / u.ms


def _isi_rates(res) -> np.ndarray:
    """The inverse mean inter-spike interval of each neuron of a dense run (count rate below two spikes)."""
    out = []
    for i, t in enumerate(analysis.spike_times(res)):
        t = np.asarray(t.to_decimal(u.ms))
        out.append((t.size - 1) / (t[-1] - t[0]) * 1e3 if t.size >= 2 and t[-1] > t[0]
                   else float(res.rate.to_decimal(u.Hz)[i]))
    return np.asarray(out)


@pytest.mark.parametrize("cls, inputs", [
    (lq.Izhikevich, [0., 5., 10., 20.] * MV_PER_MS),
    (lq.IzhikevichRef, [0., 10., 20.] * MV_PER_MS),
    (lq.FitzHughNagumo, np.array([0., 0.3, 0.5, 1.])),
    (lq.HindmarshRose, [0., 1., 3.]),
])
def test_fi_curve_equals_simulate(cls, inputs):
    """fi_curve's rates are those of a lapicque.simulate run of the same model at the same inputs."""
    n = len(inputs)
    count = analysis.fi_curve(cls, inputs, 300 * u.ms, method="count")
    res = lq.simulate(cls(n), inputs, 300 * u.ms, spikes="dense")
    np.testing.assert_allclose(np.asarray(count.to_decimal(u.Hz)), np.asarray(res.rate.to_decimal(u.Hz)),
                               rtol=1e-6)
    isi = analysis.fi_curve(cls, inputs, 300 * u.ms)
    np.testing.assert_allclose(np.asarray(isi.to_decimal(u.Hz)), _isi_rates(res), rtol=1e-5)
    assert isi.shape == (n,) and float(isi[0].to_decimal(u.Hz)) == 0.0 and float(isi[-1].to_decimal(u.Hz)) > 0


def test_fi_curve_any_unit_of_the_dimension_and_an_instance():
    """mV/ms given as V/s is the same input; an instance and a unitless quantity work as for currents."""
    a = analysis.fi_curve(lq.Izhikevich, [5., 10.] * MV_PER_MS, 200 * u.ms)
    b = analysis.fi_curve(lq.Izhikevich(2), [5., 10.] * (u.volt / u.second), 200 * u.ms)
    np.testing.assert_array_equal(np.asarray(a.mantissa), np.asarray(b.mantissa))
    c = analysis.fi_curve(lq.FitzHughNagumo, [0.5, 1.], 300 * u.ms)
    d = analysis.fi_curve(lq.FitzHughNagumo(2), u.Quantity(np.array([0.5, 1.])), 300 * u.ms)
    np.testing.assert_array_equal(np.asarray(c.mantissa), np.asarray(d.mantissa))


def test_fi_curve_currents_unchanged():
    """A current model still takes currents (in any current unit), with the same rates as before."""
    mA = analysis.fi_curve("LIF", [0.5, 2., 4.] * u.mA, 200 * u.ms, tau=10 * u.ms, spk_reset="hard")
    uA = analysis.fi_curve("LIF", [500., 2000., 4000.] * u.uA, 200 * u.ms, tau=10 * u.ms, spk_reset="hard")
    np.testing.assert_array_equal(np.asarray(mA.mantissa), np.asarray(uA.mantissa))
    np.testing.assert_allclose(np.asarray(mA.mantissa), [0., 142.85715, 344.82758], rtol=1e-6)
    hh = analysis.fi_curve(lq.HH, [0., 20.] * u.uA, 100 * u.ms, 0.02 * u.ms)
    assert float(hh[0].to_decimal(u.Hz)) == 0.0 and float(hh[1].to_decimal(u.Hz)) > 0


@pytest.mark.parametrize("model, inputs, fragments", [
    (lq.Izhikevich, [10.] * u.mA, ["Izhikevich takes its input in mV / ms", "(u.mV / u.ms)", "mA"]),
    (lq.IzhikevichRef, [10., 20.], ["IzhikevichRef takes its input in mV / ms"]),
    (lq.FitzHughNagumo, [0.5] * u.mA, ["FitzHughNagumo takes its input as a plain number", "input_unit is None"]),
    (lq.HindmarshRose, [1.] * MV_PER_MS, ["HindmarshRose takes its input as a plain number"]),
    (lq.HH, [10.] * MV_PER_MS, ["current quantity", "u.uA", "HH takes its input in uA"]),
    ("LIF", [1., 2.] * u.mV, ["current quantity", "u.mA", "LIF takes its input in mA"]),
    ("LIF", [1., 2.], ["current quantity", "u.mA"]),
])
def test_fi_curve_wrong_unit_names_the_expected_one(model, inputs, fragments):
    with pytest.raises(TypeError) as info:
        analysis.fi_curve(model, inputs, 10 * u.ms)
    for f in fragments:
        assert f in str(info.value), (f, str(info.value))


def test_fi_curve_empty_and_shape_errors_for_other_units():
    with pytest.raises(ValueError, match="must not be empty"):
        analysis.fi_curve(lq.FitzHughNagumo, [])
    with pytest.raises(ValueError, match="one neuron per current"):
        analysis.fi_curve(lq.Izhikevich(3), [1., 2.] * MV_PER_MS)
