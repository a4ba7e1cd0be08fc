"""Results: the messages for a network's result where one population's is expected, and Neo times on the grid.

* ``plot.raster(network_result)`` said a raw raster needs a dt; it now says to pass ``res['pop']``;
* ``SimulationResult.load`` on a file written by ``NetworkResult.save`` said "not a lapicque result"; it now
  points to ``NetworkResult.load`` (and the population);
* ``to_neo`` exported float32 times (3.4000001 ms); they are now the step index times dt, in float64, on the grid.
"""

import brainstate
import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque import plot


class Net(brainstate.nn.Module):
    def __init__(self):
        super().__init__()
        self.pop = lq.LIF(3)
        self.exc = lq.LIF(2)

    def update(self):
        self.pop(2 * u.mA)
        self.exc(1.5 * u.mA)


@pytest.fixture(scope="module")
def net_result():
    return lq.simulate(Net(), None, 20 * u.ms)


def test_raster_of_a_network_result_names_the_populations(net_result):
    pytest.importorskip("matplotlib")
    with pytest.raises(TypeError) as info:
        plot.raster(net_result)
    msg = str(info.value)
    assert msg.startswith("plot.raster: this is the result of a network")
    assert "('exc', 'pop')" in msg and "res['exc']" in msg and "dt" not in msg.split("pass one")[0]
    ax = plot.raster(net_result["pop"])  # what it says to do works
    assert ax.get_xlabel() == "time (ms)"


def test_analysis_of_a_network_result_says_the_same(net_result):
    from lapicque._results.events import as_events
    with pytest.raises(TypeError, match=r"pass one population's result, e\.g\. res\['exc'\]"):
        as_events(net_result, None, 0 * u.ms)


def test_simulation_result_load_of_a_network_file(net_result, tmp_path):
    path = net_result.save(tmp_path / "net.npz")
    with pytest.raises(ValueError) as info:
        lq.SimulationResult.load(path)
    msg = str(info.value)
    assert "not a lapicque result" not in msg
    assert "holds the result of a network (populations: 'exc', 'pop')" in msg
    assert "lapicque.NetworkResult.load(path)['exc']" in msg
    back = lq.NetworkResult.load(path)  # what it says to do works
    assert back["pop"].spike_count.tolist() == net_result["pop"].spike_count.tolist()


def test_simulation_result_load_still_reads_its_own_files(tmp_path):
    res = lq.simulate(lq.LIF(2), [2.0, 1.5] * u.mA, 10 * u.ms)
    back = lq.SimulationResult.load(res.save(tmp_path / "one.npz"))
    assert back.spike_count.tolist() == res.spike_count.tolist()


@pytest.mark.parametrize("dt_ms", [0.1, 0.025])
def test_neo_spike_times_lie_on_the_dt_grid(dt_ms):
    pytest.importorskip("neo")
    res = lq.simulate(lq.LIF(2), [2.0, 1.5] * u.mA, 40 * u.ms, dt=dt_ms * u.ms, record=("V",), record_every=3)
    seg = res.to_neo().segments[0]
    steps, neurons = res.spike_steps
    for i, st in enumerate(seg.spiketrains):
        t = np.asarray(st.rescale("ms").magnitude)
        assert t.dtype == np.float64 and t.size == int(res.spike_count[i]) > 0
        want = (np.asarray(steps[neurons == i], np.float64) + 1) * dt_ms
        np.testing.assert_array_equal(t, np.round(want, 3))  # exactly the grid values: 3.4, not 3.4000001
        assert all(repr(float(x)) == repr(round(float(x), 3)) for x in t)
        assert float(st.t_start.rescale("ms").magnitude) == 0.0
        assert float(st.t_stop.rescale("ms").magnitude) == 40.0
    assert float(seg.analogsignals[0].t_start.rescale("ms").magnitude) == round(3 * dt_ms, 3)
