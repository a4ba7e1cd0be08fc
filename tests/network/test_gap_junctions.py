"""Gap junctions on coupled passive cells: the scheme iterated in float64, the ODE's closed form and
solve_ivp (first-order convergence of the explicit coupling), brainpy.state, units and errors."""

import brainstate
import braintools
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u
from scipy.integrate import solve_ivp

import lapicque as lq
from asserts import raises_naming

#: float32 run against the same scheme iterated in float64: a few ulp of 20 mV per step,
#: decaying with the cells' time constant (observed ~2e-6 mV); 50x margin
SCHEME_ATOL_MV = 1e-4
#: the explicit coupling's global error against the exact ODE is at most h R g max|V1 - V2|
#: (h = dt / tau; derivation in test_symmetric_against_closed_form); x1.5 for the input term
COUPLING_ERROR_FACTOR = 1.5

TAU, R = 10., 1.  # ms, ohm: a passive LIF, tau dV/dt = -V + R I (V_rest = 0)


def passive(n, V0):
    return lq.LIF(n, R=R * u.ohm, tau=TAU * u.ms, V_rest=0. * u.mV, V_th=1e4 * u.mV,
                  V_initializer=braintools.init.Constant(jnp.asarray(V0, jnp.float32) * u.mV))


def run(groups, gj, currents, n_steps, dt):
    """V of each group after each step (float64 arrays), gap junction first, then the groups."""

    def step(i):
        with brainstate.environ.context(t=i * dt * u.ms, i=i):
            gj.update()
            for g, I in zip(groups, currents):
                g.update(jnp.asarray(I, jnp.float32) * u.mA)
            return [g.V.value.to_decimal(u.mV) for g in groups]

    with brainstate.environ.context(dt=dt * u.ms):
        brainstate.nn.init_all_states(groups)
        out = brainstate.transform.for_loop(step, jnp.arange(n_steps))
    return [np.asarray(v, np.float64) for v in out]


def scheme(V0, I, G, n_steps, dt):
    """The exact-per-step LIF with the gap currents of the step's start, iterated in float64.

    ``G[i, j]`` is the conductance through which cell ``j`` drives cell ``i``.
    """
    a = np.exp(-dt / TAU)
    V, out = np.asarray(V0, np.float64), []
    for _ in range(n_steps):
        I_gap = G @ V - G.sum(axis=1) * V
        V = a * V + (1. - a) * R * (np.asarray(I) + I_gap)
        out.append(V)
    return np.array(out)


def ode(V0, I, G, t):
    """solve_ivp of tau dV/dt = -V + R (I + sum_j G_ij (V_j - V_i)) at the times t (ms)."""
    A = (-np.eye(len(V0)) + R * (G - np.diag(G.sum(axis=1)))) / TAU
    b = R * np.asarray(I) / TAU
    sol = solve_ivp(lambda _, V: A @ V + b, (0., t[-1]), V0, t_eval=t, method="DOP853", rtol=1e-11, atol=1e-12)
    return sol.y.T


def test_symmetric_against_scheme_and_closed_form():
    """Two cells, g = 0.5 S: sum relaxes with tau, difference with tau / (1 + 2Rg) towards R dI / (1 + 2Rg).

    The scheme's difference obeys D' = (a - 2Rg(1 - a)) D + (1 - a) R dI, the ODE's
    D' = e^{-h(1+2Rg)} D + ...: the factors differ by h^2 Rg(1 + 2Rg) + O(h^3), and the error this
    adds each step decays with 1 - e^{-h(1+2Rg)} ~ h(1 + 2Rg), so the global error is at most
    h R g max|D| (the fixed points agree exactly).
    """
    g, V0, I = 0.5, [20., 0.], [1.5, 0.]
    G = np.array([[0., g], [g, 0.]])
    errors = []
    for dt in (0.1, 0.05):
        n = int(round(30. / dt))
        cells = passive(2, V0)
        gj = lq.SymmetryGapJunction(cells, "V", conn=lambda a, b: ([0], [1]), weight=g * u.siemens)
        (V,) = run([cells], gj, [I], n, dt)
        np.testing.assert_allclose(V, scheme(V0, I, G, n, dt), atol=SCHEME_ATOL_MV)
        t = np.arange(1, n + 1) * dt
        S = 1.5 + (20. - 1.5) * np.exp(-t / TAU)                      # closed form of V1 + V2
        D_inf = 1.5 / (1. + 2. * R * g)
        D = D_inf + (20. - D_inf) * np.exp(-t * (1. + 2. * R * g) / TAU)
        exact = np.stack([(S + D) / 2., (S - D) / 2.], axis=1)
        np.testing.assert_allclose(exact, ode(V0, I, G, t), atol=1e-8)  # closed form == solve_ivp
        err = np.abs(V - exact).max()
        assert err <= COUPLING_ERROR_FACTOR * (dt / TAU) * R * g * 20., (dt, err)
        errors.append(err)
    assert 1.8 < errors[0] / errors[1] < 2.2, errors                  # first order in dt


def test_asymmetric_against_solve_ivp():
    """weight[..., 0] drives the post cell, weight[..., 1] the pre cell."""
    g_post, g_pre = 0.8, 0.1
    V0, I = [-5., 12.], [0.5, -0.2]
    G = np.array([[0., g_pre], [g_post, 0.]])
    errors = []
    for dt in (0.1, 0.05):
        n = int(round(25. / dt))
        pre, post = passive(1, V0[:1]), passive(1, V0[1:])
        gj = lq.AsymmetryGapJunction(pre, "V", post, "V", conn=lambda a, b: ([0], [0]),
                                     weight=jnp.array([g_post, g_pre]) * u.siemens)
        V = np.concatenate(run([pre, post], gj, [I[:1], I[1:]], n, dt), axis=1)
        np.testing.assert_allclose(V, scheme(V0, I, G, n, dt), atol=SCHEME_ATOL_MV)
        err = np.abs(V - ode(V0, I, G, np.arange(1, n + 1) * dt)).max()
        assert err <= COUPLING_ERROR_FACTOR * (dt / TAU) * R * max(g_post, g_pre) * 17., (dt, err)
        errors.append(err)
    assert 1.8 < errors[0] / errors[1] < 2.2, errors


def test_symmetric_conserves_current_and_returns_the_pre_current():
    cells = passive(3, [10., -4., 2.])
    cells.init_state()
    gj = lq.SymmetryGapJunction(cells, "V", conn=lambda a, b: ([0, 1, 0], [1, 2, 2]),
                                weight=jnp.array([1., 2., 3.]) * u.siemens)
    returned = gj.update()
    total = sum(v.to_decimal(u.mA) for v in cells.current_inputs.values())
    assert float(jnp.abs(total.sum())) < 1e-5                           # what leaves one cell enters another
    # cell 0: -(1 * (10 - -4) + 3 * (10 - 2)) = -38 mA; cell 1: 14 - 2 * (-4 - 2) = 26; cell 2: -12 + 24 = 12
    np.testing.assert_allclose(np.asarray(total), [-38., 26., 12.], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(returned.to_decimal(u.mA)), [38., -12., 0.], rtol=1e-6)


def reference_pair(bs, cls, n, V0):
    return cls(n, R=R * u.ohm, tau=TAU * u.ms, V_rest=0. * u.mV, V_th=1e4 * u.mV,
               V_initializer=braintools.init.Constant(jnp.asarray(V0, jnp.float32) * u.mV))


def test_match_reference():
    """The same LIF groups and junctions in lapicque and brainpy.state: the same trajectories."""
    bs = pytest.importorskip("brainpy").state
    rng = np.random.default_rng(0)
    V0, I = rng.uniform(-10., 10., 5), rng.uniform(-1., 1., 5)
    pre_ids, post_ids = np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4])
    w = jnp.asarray(rng.uniform(0.1, 1., 4)) * u.siemens
    trajectories = []
    for lib in (lq, bs):
        cells = reference_pair(bs, lib.LIF, 5, V0)
        gj = lib.SymmetryGapJunction(cells, "V", conn=lambda a, b: (pre_ids, post_ids), weight=w)
        trajectories.append(run([cells], gj, [I], 300, 0.1)[0])
    np.testing.assert_allclose(trajectories[0], trajectories[1], atol=SCHEME_ATOL_MV)
    trajectories = []
    w2 = jnp.asarray(rng.uniform(0.1, 1., (3, 2))) * u.siemens
    for lib in (lq, bs):
        a, b = reference_pair(bs, lib.LIF, 3, V0[:3]), reference_pair(bs, lib.LIF, 4, V0[1:])
        gj = lib.AsymmetryGapJunction(a, "V", b, "V", conn=lambda n, m: ([0, 1, 2], [3, 0, 0]), weight=w2)
        trajectories.append(np.concatenate(run([a, b], gj, [I[:3], I[1:]], 300, 0.1), axis=1))
    np.testing.assert_allclose(trajectories[0], trajectories[1], atol=SCHEME_ATOL_MV)


def test_batch_and_trainable_weights():
    cells = passive(2, [20., 0.])
    gj = lq.SymmetryGapJunction(cells, "V", conn=lambda a, b: ([0], [1]), weight=0.5 * u.siemens)
    assert isinstance(gj.weight, brainstate.ParamState) and gj.weight.value.shape in ((), (1,))
    with brainstate.environ.context(dt=0.1 * u.ms):
        cells.init_state(batch_size=3)
        gj.update()
        cells.update(0. * u.mA)
        assert cells.V.value.shape == (3, 2)
        V = np.asarray(cells.V.value.to_decimal(u.mV))
    np.testing.assert_allclose(V, np.broadcast_to(scheme([20., 0.], [0., 0.], np.array([[0, .5], [.5, 0]]), 1,
                                                         0.1)[0], (3, 2)), atol=SCHEME_ATOL_MV)

    def final_difference():
        cells.reset_state()
        for _ in range(5):
            gj.update()
            cells.update(0. * u.mA)
        return (cells.V.value[0] - cells.V.value[1]).to_decimal(u.mV)

    with brainstate.environ.context(dt=0.1 * u.ms):
        cells.init_state()
        grad = brainstate.transform.jit(brainstate.transform.grad(final_difference,
                                                                  gj.states(brainstate.ParamState)))()
    assert all(float(np.ravel(u.get_mantissa(v))[0]) < 0. for v in grad.values())  # more coupling, less gap


def test_errors():
    cells = passive(2, [0., 0.])
    conn = lambda a, b: ([0], [1])  # noqa: E731
    cells.init_state()
    raises_naming(lambda: lq.SymmetryGapJunction(cells, "V", conn, 0.5), TypeError,
                  ["SymmetryGapJunction", "weight", "conductance"])
    raises_naming(lambda: lq.SymmetryGapJunction(cells, "V", conn, 0.5 * u.ms), TypeError,
                  ["SymmetryGapJunction", "weight", "conductance"])
    raises_naming(lambda: lq.SymmetryGapJunction(cells, "V", lambda a, b: ([0], [2]), 1. * u.nS),
                  lq.ParameterError, ["SymmetryGapJunction", "post_ids", "[0, 2)"])
    raises_naming(lambda: lq.SymmetryGapJunction(cells, "V", lambda a, b: ([0, 1], [1]), 1. * u.nS),
                  lq.ParameterError, ["SymmetryGapJunction", "as many"])
    raises_naming(lambda: lq.SymmetryGapJunction(cells, "V", conn, jnp.ones(3) * u.nS), lq.ParameterError,
                  ["SymmetryGapJunction", "weight", "(1,)"])
    raises_naming(lambda: lq.SymmetryGapJunction(cells, "V", conn, float("nan") * u.nS), lq.ParameterError,
                  ["SymmetryGapJunction", "weight", "finite"])
    raises_naming(lambda: lq.AsymmetryGapJunction(cells, "V", cells, "V", conn, jnp.ones(3) * u.nS),
                  lq.ParameterError, ["AsymmetryGapJunction", "weight", "(1, 2)"])
    raises_naming(lambda: lq.SymmetryGapJunction(object(), "V", conn, 1. * u.nS), TypeError,
                  ["SymmetryGapJunction", "add_current_input"])
    fresh = passive(2, [0., 0.])
    gj = lq.SymmetryGapJunction(fresh, "V", conn, 1. * u.nS)              # states made later: checked at update
    raises_naming(gj.update, ValueError, ["SymmetryGapJunction", "'V'", "init_state"])
    gj = lq.SymmetryGapJunction(cells, "V", conn, 1. * u.nS)
    gj.update()
    raises_naming(gj.update, RuntimeError, ["SymmetryGapJunction", "LIF", "first"])
