"""Synaptic outputs (COBA, CUBA, MgBlock): formulas, brainpy.state, binding, errors."""

import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from asserts import raises_naming

V = np.linspace(-90., 20., 12)


def current_pA(out, g_nS, V_mV=V):
    out.bind_cond(g_nS * u.nS)
    return np.asarray(out(V_mV * u.mV).to_decimal(u.pA))


def test_coba_is_g_times_driving_force():
    g = np.linspace(0., 10., 12)
    np.testing.assert_allclose(current_pA(lq.COBA(E=-80. * u.mV), g), g * (-80. - V), rtol=1e-6, atol=1e-6)


def test_coba_in_physiological_units():
    """6 nS at 60 mV from reversal is 360 pA, which moves a 200 pF membrane by 0.18 mV per 0.1 ms."""
    out = lq.COBA(E=0. * u.mV)
    out.bind_cond(6. * u.nS)
    I = out(-60. * u.mV)
    assert I.to_decimal(u.pA) == pytest.approx(360.)
    assert (I * 0.1 * u.ms / (200. * u.pF)).to_decimal(u.mV) == pytest.approx(0.18)


def test_cuba_scales_and_ignores_V():
    np.testing.assert_allclose(current_pA(lq.CUBA(scale=2. * u.mV), np.full(12, 5.)), np.full(12, 10.), rtol=1e-6)
    out = lq.CUBA()  # default scale: 1 V (siemens -> amperes)
    out.bind_cond(1. * u.nS)
    assert out(-70. * u.mV).to_decimal(u.nA) == pytest.approx(1.)


def mg_formula(g, V, E=0., cc=1.2, alpha=0.062, beta=3.57, V_off=0.):
    return g * (E - V) / (1 + cc / beta * np.exp(-alpha * (V - V_off)))


def test_mg_block_formula_with_units_and_plain_numbers():
    g = np.full(12, 2.)
    np.testing.assert_allclose(current_pA(lq.MgBlock(), g), mg_formula(g, V), rtol=1e-5, atol=1e-5)
    out = lq.MgBlock(E=10. * u.mV, cc_Mg=2. * u.mM, alpha=0.05 / u.mV, beta=3. * u.mM, V_offset=5. * u.mV)
    expected = mg_formula(g, V, E=10., cc=2., alpha=0.05, beta=3., V_off=5.)
    np.testing.assert_allclose(current_pA(out, g), expected, rtol=1e-5, atol=1e-5)
    plain = lq.MgBlock()
    plain.bind_cond(np.float32(2.))
    np.testing.assert_allclose(np.asarray(plain(V)), mg_formula(2., V), rtol=1e-5)


def test_mg_block_is_finite_at_extreme_potentials():
    out = lq.MgBlock()
    out.bind_cond(1. * u.nS)
    I = np.asarray(out(np.array([-5000., 5000.]) * u.mV).to_decimal(u.pA))
    assert np.all(np.isfinite(I)) and I[0] == 0.


def test_outputs_match_reference():
    bs = pytest.importorskip("brainpy").state
    g = np.linspace(0., 10., 12)
    for ours, ref in ((lq.COBA(E=-80. * u.mV), bs.COBA(E=-80. * u.mV)),
                      (lq.CUBA(scale=2. * u.mV), bs.CUBA(scale=2. * u.mV))):
        np.testing.assert_allclose(current_pA(ours, g), current_pA(ref, g), rtol=1e-6, atol=1e-9)
    # the reference's MgBlock works only without units (its defaults are plain numbers)
    ours, ref = lq.MgBlock(), bs.MgBlock()
    for out in (ours, ref):
        out.bind_cond(np.float32(2.))
    np.testing.assert_allclose(np.asarray(ours(V)), np.asarray(ref(V)), rtol=1e-6)


def test_desc_and_binding():
    out = lq.COBA.desc(E=0. * u.mV)()
    assert isinstance(out, lq.SynOut)
    with pytest.raises(ValueError, match="COBA: no synaptic variable is bound"):
        out(-60. * u.mV)
    out.bind_cond(1. * u.nS)
    out.unbind_cond()
    with pytest.raises(ValueError, match="bind_cond"):
        out(-60. * u.mV)


@pytest.mark.parametrize("make, exc, words", [
    (lambda: lq.COBA(E=0.), TypeError, ["COBA", "'E'", "voltage"]),
    (lambda: lq.COBA(E=1. * u.nS), TypeError, ["COBA", "'E'", "dimension"]),
    (lambda: lq.COBA(E=float("inf") * u.mV), lq.ParameterError, ["COBA", "'E'", "finite"]),
    (lambda: lq.CUBA(scale="volt"), TypeError, ["CUBA", "scale"]),
    (lambda: lq.MgBlock(cc_Mg=-1.), lq.ParameterError, ["MgBlock", "cc_Mg", ">= 0"]),
    (lambda: lq.MgBlock(beta=0. * u.mM), lq.ParameterError, ["MgBlock", "beta", "> 0"]),
    (lambda: lq.MgBlock(E=0. * u.mM), TypeError, ["MgBlock", "'E'", "voltage"]),
])
def test_bad_parameters(make, exc, words):
    raises_naming(make, exc, words)
