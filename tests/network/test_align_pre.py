"""align_pre, prefetch and prefetch_delay on lapicque's groups: brainpy.state's presynaptic idiom.

``pre.align_pre(STD.desc(...)).align_pre(AMPA(...)).prefetch_delay('g', 2 * u.ms)`` must run by changing
the import and give brainpy.state's postsynaptic conductances; a delayed read must land exactly on the
step of the delay rule, ``D = floor(d / dt + 1/2)`` for the decimals written (brainstate's own
``prefetch_delay`` counts ``ceil(d / dt)`` in floats).
"""

import brainstate
import braintools
import jax.numpy as jnp
import numpy as np
import pytest
import saiunit as u

import lapicque
import registry
import _align_pre_reference as idiom
from lapicque._core.prefetch import DelayedRead

#: the idiom's conductances (mS, values up to 2.7) against brainpy.state's: both are float32 with the same
#: propagators in another order; the largest difference measured is 4.8e-7 mS (2 ulps at 2.7), and the stored
#: reference is rounded to 1e-7: 1e-5 leaves a margin of 20 while a one-step shift of any trace moves it by > 1e-3.
IDIOM_ATOL_MS = 1e-5

# printed by tests/network/_align_pre_reference.py under brainpy 2.9.0 (brainstate 0.6.0): every 40th step's
# conductance bound by each projection (mS, one per postsynaptic neuron) and the first step it is non-zero
REFERENCE_290 = {
    "ampa": {"first": 56, "every": [
        [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0625418, 0.1250836, 0.0],
        [0.2850425, 0.2194907, 0.0876486], [0.1158897, 0.0892382, 0.0356353], [0.0955573, 0.1331617, 0.0144882],
        [0.2470873, 0.4755473, 0.2194011], [0.1504188, 0.2932644, 0.0892018], [0.0802311, 0.1573832, 0.0362667],
        [0.2038575, 0.1769171, 0.0721315], [0.1638181, 0.2338007, 0.0293265], [0.0666035, 0.0950563, 0.0119233],
    ]},
    "nmda": {"first": 72, "every": [
        [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.226217, 0.452434, 0.0],
        [0.3768071, 0.7536142, 0.0], [1.193457, 0.9163582, 0.367639], [1.2225035, 0.9527632, 0.373061],
        [1.2229872, 1.220199, 0.5180566], [1.3800409, 2.4523053, 1.2019669], [1.352625, 2.4428003, 1.1751014],
        [1.398832, 2.3733299, 1.1649829], [1.3973525, 2.289896, 1.1337843], [1.3640379, 2.2373662, 1.0811487],
    ]},
    "gaba": {"first": 72, "every": [
        [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.2410494, 0.4820987, 0.0],
        [0.1051094, 0.2102188, 0.0], [0.4334739, 0.2929956, 0.143488], [0.3293174, 0.4083634, 0.0625679],
        [0.7197199, 1.4373121, 0.725333], [0.3596328, 0.7192641, 0.3571354], [0.2732189, 0.5464372, 0.1557286],
        [0.6891055, 0.5627427, 0.2717724], [0.3004839, 0.2453835, 0.1185061], [0.2296231, 0.3041938, 0.0516745],
    ]},
}


class Counter(lapicque.Dynamics):
    """A dynamics whose state ``n`` counts its updates: a delayed read of ``n`` at step i is ``max(i - D, 0)``."""

    def init_state(self, batch_size=None, **kwargs):
        shape = self.varshape if batch_size is None else (batch_size, *self.varshape)
        self.n = brainstate.HiddenState(jnp.zeros(shape, jnp.float32))

    def reset_state(self, batch_size=None, **kwargs):
        self.n.value = jnp.zeros_like(self.n.value)

    def update(self, x=None):
        self.n.value = self.n.value + 1.
        return self.n.value


def _reads(read, owner, n_steps, dt_ms, init=True):
    """Read before each of ``n_steps`` calls of ``owner``, as a brainpy.state loop does (projections first)."""
    out = []
    with brainstate.environ.context(dt=dt_ms * u.ms):
        if init:
            brainstate.nn.init_all_states(owner)
        for i in range(n_steps):
            with brainstate.environ.context(t=i * dt_ms * u.ms):
                out.append(np.asarray(u.get_mantissa(read())))
                owner(None)
    return np.array(out)


# ----------------------------------------------------------------------------------------------------------------
# the idiom against brainpy.state
# ----------------------------------------------------------------------------------------------------------------
def test_idiom_gives_brainpy_state_290s_conductances():
    traces = idiom.run(lapicque)
    got = idiom.summary(traces)
    for name, ref in REFERENCE_290.items():
        assert got[name]["first"] == ref["first"], name
        np.testing.assert_allclose(got[name]["every"], ref["every"], rtol=0, atol=IDIOM_ATOL_MS, err_msg=name)
    # the delayed chains start exactly 2 ms / 0.125 ms = 16 steps after the undelayed one (same spike)
    assert got["nmda"]["first"] == got["gaba"]["first"] == got["ampa"]["first"] + 16


def test_idiom_gives_the_installed_brainpy_states_conductances_at_every_step():
    bs = pytest.importorskip("brainpy").state
    ref, ours = idiom.run(bs), idiom.run(lapicque)
    for name in (*idiom.PROJECTIONS, "V"):
        np.testing.assert_allclose(ours[name], ref[name], rtol=0, atol=IDIOM_ATOL_MS if name != "V" else 1e-4,
                                   err_msg=name)


def test_idiom_in_a_compiled_loop_equals_the_same_steps_called_one_by_one():
    """The histories are States the compiled loop threads: for_loop gives the numbers of a step called from Python
    (jitted per step, as eager steps take 0.2 s each here)."""
    n = 80
    compiled = idiom.run(lapicque, n_steps=n)
    with brainstate.environ.context(dt=idiom.DT_MS * u.ms):
        pre, post, projs = idiom.build(lapicque)
        brainstate.nn.init_all_states([pre, post, *projs.values()])

        @brainstate.transform.jit
        def step(i):
            with brainstate.environ.context(t=i * idiom.DT_MS * u.ms, i=i):
                for p in projs.values():
                    p()
                g = projs["nmda"].out._conductance.to_decimal(u.mS)
                post(0. * u.uA)
                pre(jnp.asarray(idiom.DRIVE) * u.mV / u.ohm)
            return g

        one_by_one = np.array([step(i) for i in range(n)])
    np.testing.assert_allclose(one_by_one, compiled["nmda"], rtol=0, atol=IDIOM_ATOL_MS)
    assert one_by_one.max() > 0.1


# ----------------------------------------------------------------------------------------------------------------
# the delay lands on the documented step
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("delay_ms, dt_ms, steps", [
    (2.0, 0.1, 20),
    (0.25, 0.1, 3),     # 2.5 steps: half up
    (0.24, 0.1, 2),     # 2.4 steps: down (brainstate's ceil: 3)
    (0.15, 0.1, 2),     # 1.5 exactly, although 0.15 / 0.1 = 1.4999999999999998 in floats
    (0.3, 0.1, 3),      # 0.3 / 0.1 = 2.9999999999999996 in floats
    (0.07, 0.01, 7),    # 0.07 / 0.01 = 7.000000000000001 in float64 (brainstate's ceil: 8)
    (0.25, 0.2, 1),     # 1.25 steps (brainstate's ceil: 2)
    (0.0, 0.1, 0),
])
def test_a_delayed_read_lands_on_floor_d_over_dt_plus_half(delay_ms, dt_ms, steps):
    c = Counter(1)
    read = c.prefetch_delay("n", delay_ms * u.ms)
    got = _reads(read, c, steps + 5, dt_ms)[:, 0]
    np.testing.assert_array_equal(got, np.maximum(np.arange(steps + 5) - steps, 0))


def test_brainstates_own_prefetch_delay_counts_ceil_steps():
    """Why lapicque has its own: the same request through brainstate's PrefetchDelayAt is a step late."""
    c = Counter(1)
    with brainstate.environ.context(dt=0.1 * u.ms):
        theirs = brainstate.nn.PrefetchDelayAt(c, "n", 0.24 * u.ms)
    ours = c.prefetch_delay("n", 0.24 * u.ms)
    with brainstate.environ.context(dt=0.1 * u.ms):
        brainstate.nn.init_all_states(c)
        rows = []
        for i in range(6):
            rows.append((float(ours()[0]), float(theirs()[0])))
            c(None)
    assert [r[0] for r in rows] == [0, 0, 0, 1, 2, 3]     # 2 steps
    assert [r[1] for r in rows] == [0, 0, 0, 0, 1, 2]     # ceil(2.4) = 3 steps


def test_prefetch_delay_at_and_output_delay_follow_the_same_rule():
    c = Counter(1)
    via_prefetch = c.prefetch("n").delay.at(0.25 * u.ms)
    via_output = c.output_delay(0.25 * u.ms)
    assert isinstance(via_prefetch, DelayedRead) and isinstance(via_prefetch, brainstate.nn.PrefetchDelayAt)
    expected = np.maximum(np.arange(8) - 3, 0)
    with brainstate.environ.context(dt=0.1 * u.ms):
        brainstate.nn.init_all_states(c)
        got = []
        for _ in range(8):
            got.append((float(via_prefetch()[0]), float(via_output()[0])))
            c(None)
    np.testing.assert_array_equal([g[0] for g in got], expected)
    np.testing.assert_array_equal([g[1] for g in got], expected)


def test_per_element_delays_and_indices_read_as_brainstates_delay_does():
    c = Counter(3)
    diag = c.prefetch_delay("n", jnp.array([0., 1., 2.]) * u.ms, jnp.arange(3))   # element k, D_k steps
    picked = c.prefetch_delay("n", 1. * u.ms, jnp.array([2]))                      # element 2 only, 1 step
    with brainstate.environ.context(dt=1. * u.ms):
        brainstate.nn.init_all_states(c)
        for _ in range(5):
            c(None)
        np.testing.assert_array_equal(np.asarray(diag()), [5, 4, 3])
        np.testing.assert_array_equal(np.asarray(picked()), [4])


def test_prefetch_without_delay_reads_the_current_value_and_output_delay_the_latest_output():
    c = Counter(2)
    now, out = c.prefetch_delay("n"), c.output_delay()
    with brainstate.environ.context(dt=0.1 * u.ms):
        brainstate.nn.init_all_states(c)
        c(None), c(None)
        np.testing.assert_array_equal(np.asarray(now()), [2, 2])
        np.testing.assert_array_equal(np.asarray(c.prefetch("n")()), [2, 2])
        np.testing.assert_array_equal(np.asarray(out()), [2, 2])


def test_reads_of_one_state_share_one_init():
    lif = _lif()
    lif.prefetch_delay("V", 0.5 * u.ms, init=-70. * u.mV)
    lif.prefetch_delay("V", 1. * u.ms, init=-70. * u.mV)             # the same value: fine
    with pytest.raises(ValueError, match="share one history and one init"):
        lif.prefetch_delay("V", 1. * u.ms, init=-60. * u.mV)


@pytest.mark.parametrize("name", registry.NAMES)
def test_every_model_reads_its_v_d_steps_late(name):
    """On each of the 13 models, driven to fire: the read at step i is the V recorded after call i - 1 - D."""
    model, D, n = registry.make(name, n=2), 3, 60
    read = model.prefetch_delay("V", 0.3 * u.ms)
    reads, recorded = [], []
    with brainstate.environ.context(dt=0.1 * u.ms):
        brainstate.nn.init_all_states(model)
        V0 = np.asarray(model.V.value.to_decimal(u.mV))
        for i in range(n):
            with brainstate.environ.context(t=i * 0.1 * u.ms):
                reads.append(np.asarray(read().to_decimal(u.mV)))
                model(registry.current(name))
                recorded.append(np.asarray(model.V.value.to_decimal(u.mV)))
    expected = np.array([V0] * (D + 1) + recorded[:n - D - 1])
    np.testing.assert_array_equal(np.array(reads), expected)
    assert len(np.unique(np.array(recorded)[:, 0])) > 10        # V moved


# ----------------------------------------------------------------------------------------------------------------
# what the history holds before the delay has elapsed, resets, batches
# ----------------------------------------------------------------------------------------------------------------
def _lif():
    return lapicque.LIF(2, V_rest=-65. * u.mV, V_reset=-65. * u.mV, V_th=-50. * u.mV,
                        V_initializer=braintools.init.Constant(-65. * u.mV))


def test_a_delayed_v_reads_the_initial_v_not_zero_before_the_delay_has_elapsed():
    lif = _lif()
    late = lif.prefetch_delay("V", 0.5 * u.ms)
    with brainstate.environ.context(dt=0.1 * u.ms):
        brainstate.nn.init_all_states(lif)
        first = late()
    assert u.math.allclose(first, -65. * u.mV)    # brainpy.state's history starts at 0 mV


@pytest.mark.parametrize("init, expected_mV", [(-70. * u.mV, -70.), (braintools.init.Constant(-0.06 * u.volt), -60.),
                                               (0., 0.)])
def test_init_fills_the_history_in_the_states_unit(init, expected_mV):
    lif = _lif()
    late = lif.prefetch_delay("V", 0.5 * u.ms, init=init)
    with brainstate.environ.context(dt=0.1 * u.ms):
        brainstate.nn.init_all_states(lif)
        np.testing.assert_allclose(late().to_decimal(u.mV), expected_mV)


@pytest.mark.parametrize("init", [1. * u.nS, 3.])
def test_init_of_the_wrong_unit_is_refused(init):
    lif = _lif()
    lif.prefetch_delay("V", 0.5 * u.ms, init=init)
    with brainstate.environ.context(dt=0.1 * u.ms), pytest.raises(TypeError, match=r"init must be in the unit"):
        brainstate.nn.init_all_states(lif)


def test_reset_empties_the_history_and_keeps_its_states():
    c = Counter(1)
    read = c.prefetch_delay("n", 0.3 * u.ms)
    first = _reads(read, c, 6, 0.1)
    states = dict(read.history.states())
    with brainstate.environ.context(dt=0.1 * u.ms):
        brainstate.nn.reset_all_states(c)
    again = _reads(read, c, 6, 0.1, init=False)
    np.testing.assert_array_equal(again, first)
    assert all(read.history.states()[k] is v for k, v in states.items())


def test_batched_states_are_delayed_per_batch_row():
    c = Counter(2)
    read = c.prefetch_delay("n", 0.2 * u.ms)
    with brainstate.environ.context(dt=0.1 * u.ms):
        brainstate.nn.init_all_states(c, batch_size=3)
        for _ in range(4):
            c(None)
        assert read().shape == (3, 2)
        np.testing.assert_array_equal(np.asarray(read()), np.full((3, 2), 2.))


def test_a_read_registered_after_init_must_fit_the_history():
    c = Counter(1)
    c.prefetch_delay("n", 0.5 * u.ms)
    with brainstate.environ.context(dt=0.1 * u.ms):
        brainstate.nn.init_all_states(c)
        shorter = c.prefetch_delay("n", 0.2 * u.ms)          # fits in the 6 slots allocated
        for _ in range(4):
            c(None)
        assert float(shorter()[0]) == 2.
        with pytest.raises(RuntimeError, match="longer than the history"):
            c.prefetch_delay("n", 1. * u.ms)


# ----------------------------------------------------------------------------------------------------------------
# align_pre
# ----------------------------------------------------------------------------------------------------------------
def test_align_pre_builds_a_descriptor_once_with_the_groups_size():
    pre = _lif()
    std = pre.align_pre(lapicque.STD.desc(tau=700. * u.ms, U=0.07))
    assert std.varshape == pre.varshape
    assert pre.align_pre(lapicque.STD.desc(tau=700. * u.ms, U=0.07)) is std
    assert pre.align_pre(lapicque.STD.desc(tau=700. * u.ms, U=0.2)) is not std
    ampa = lapicque.AMPA(2)
    assert std.align_pre(ampa) is ampa and std.align_pre(ampa) is ampa     # an instance is registered once
    assert list(std.after_updates.values()).count(ampa) == 1


def test_a_chain_runs_after_each_call_of_the_group_on_its_output():
    pre = _lif()
    std = pre.align_pre(lapicque.STD.desc(U=0.5))
    ampa = std.align_pre(lapicque.AMPA(2))
    with brainstate.environ.context(dt=0.1 * u.ms, t=0. * u.ms):
        # update() skips the after-update hooks, as in brainpy.state; calling the group runs them
        for call, x_after in ((pre.update, [1., 1.]), (pre, [0.5, 1.])):
            brainstate.nn.init_all_states(pre)
            pre.V.value = jnp.array([-40., -65.]) * u.mV       # neuron 0 above threshold: it spikes
            spikes = call(0. * u.nA)
            np.testing.assert_array_equal(np.asarray(spikes), [1., 0.])
            np.testing.assert_allclose(np.asarray(std.x.value), x_after)
    assert float(ampa.g.value[0].to_decimal(u.mS)) > 0 and float(ampa.g.value[1].to_decimal(u.mS)) == 0


def test_align_pre_refuses_what_cannot_follow_the_group():
    pre = _lif()
    with pytest.raises(ValueError, match=r"LIF.align_pre: AMPA has size \(3,\)"):
        pre.align_pre(lapicque.AMPA(3))
    with pytest.raises(TypeError, match="expected a dynamics"):
        pre.align_pre(lambda x: x)
    with pytest.raises(TypeError, match="the descriptor must build a dynamics"):
        pre.align_pre(lapicque.COBA.desc(E=0. * u.mV))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(interpolation="linear"), ValueError, "whole steps"),
    (dict(update_every=0.2 * u.ms), ValueError, "update_every"),
    (dict(bogus=1), TypeError, "unexpected argument"),
])
def test_prefetch_delay_refuses_what_it_does_not_do(kwargs, error, match):
    with pytest.raises(error, match=match):
        Counter(1).prefetch_delay("n", 1. * u.ms, **kwargs)


@pytest.mark.parametrize("delay, error", [(1.0, TypeError), (1. * u.mV, TypeError), (-1. * u.ms, ValueError),
                                          (jnp.ones((2, 2)) * u.ms, ValueError)])
def test_prefetch_delay_checks_the_delay(delay, error):
    with pytest.raises(error, match="delay"):
        Counter(1).prefetch_delay("n", delay)


def test_reading_a_missing_state_or_before_init_says_what_to_do():
    c = Counter(1)
    read = c.prefetch_delay("n", 1. * u.ms)
    with pytest.raises(RuntimeError, match="call init_state"):
        read()
    c.prefetch_delay("nope", 1. * u.ms)
    with brainstate.environ.context(dt=0.1 * u.ms), pytest.raises(TypeError, match="has no State 'nope'"):
        brainstate.nn.init_all_states(c)


def test_pop_false_keeps_plain_inputs_registered():
    d = lapicque.Dynamics(2)
    d.add_current_input("bias", 1. * u.nA)
    d.add_delta_input("kick", 2. * u.mV)
    for _ in range(2):
        assert u.math.allclose(d.sum_current_inputs(0. * u.nA, pop=False), 1. * u.nA)
        assert u.math.allclose(d.sum_delta_inputs(0. * u.mV, pop=False), 2. * u.mV)
    d.sum_current_inputs(0. * u.nA), d.sum_delta_inputs(0. * u.mV)
    assert d.current_inputs == {} and d.delta_inputs == {}
