"""brainpy.state's submodule paths in lapicque (``lapicque/_brainpy_paths.py``) and the guide's table of them.

``brainpy.state.<submodule>.<Name>`` must become ``lapicque.<submodule>.<Name>`` by the same text change
as the top-level import, for every submodule and name of brainpy.state 2.9.0, and the migration guide
must list exactly those mappings.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import lapicque
import lapicque._brainpy_paths as paths

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "migrating_from_brainpy_state.md"

#: brainpy.state 2.9.0: each submodule's ``__all__`` (printed from the reference, the specification)
REFERENCE_290 = {
    "delay": ["InputDelay"],
    "exponential": ["Expon", "DualExpon"],
    "hh": ["HH", "MorrisLecar", "WangBuzsakiHH"],
    "inputs": ["SpikeTime", "PoissonSpike", "PoissonEncoder", "PoissonInput", "poisson_input", "SectionInput",
               "ConstantInput", "StepInput", "RampInput", "SinusoidalInput", "OUProcessInput", "WienerProcessInput"],
    "izhikevich": ["Izhikevich", "IzhikevichRef"],
    "lif": ["IF", "LIF", "ExpIF", "ExpIFRef", "AdExIF", "AdExIFRef", "LIFRef", "ALIF", "QuaIF", "AdQuaIF",
            "AdQuaIFRef", "Gif", "GifRef", "CubaLIF", "CobaLIF"],
    "projection": ["Projection", "AlignPostProj", "DeltaProj", "CurrentProj", "align_pre_projection",
                   "align_post_projection"],
    "readout": ["LeakyRateReadout"],
    "reduced": ["FitzHughNagumo", "HindmarshRose"],
    "stp": ["STP", "STD"],
    "synapse": ["Alpha", "AMPA", "GABAa", "BioNMDA"],
    "synaptic_projection": ["SymmetryGapJunction", "AsymmetryGapJunction"],
    "synouts": ["SynOut", "COBA", "CUBA", "MgBlock"],
}
#: brainpy.state names lapicque deliberately has not (the guide says what to use instead)
NOT_IN_LAPICQUE = {"InputDelay"}


def test_every_reference_submodule_offers_its_names():
    assert set(paths.SUBMODULES) == set(REFERENCE_290)
    for sub, names in REFERENCE_290.items():
        assert paths.SUBMODULES[sub][:len(names)] == tuple(names), sub


@pytest.mark.parametrize("sub", sorted(REFERENCE_290))
def test_each_path_is_the_top_level_object(sub):
    module = __import__(f"lapicque.{sub}", fromlist=["_"])
    assert getattr(lapicque, sub) is module and sys.modules[f"lapicque.{sub}"] is module
    available = [n for n in paths.SUBMODULES[sub] if n in lapicque.__all__]
    for name in available:
        assert getattr(module, name) is getattr(lapicque, name), (sub, name)
    assert module.__all__ == available
    for name in NOT_IN_LAPICQUE & set(paths.SUBMODULES[sub]):
        with pytest.raises(AttributeError, match=f"no counterpart of brainpy.state.{sub}.{name}. Instead"):
            getattr(module, name)


def test_from_imports_and_star_imports_work():
    namespace = {}
    exec("from lapicque.lif import LIF\nfrom lapicque.synouts import *\nimport lapicque.stp as stp", namespace)
    assert namespace["LIF"] is lapicque.LIF and namespace["COBA"] is lapicque.COBA
    assert namespace["stp"].STD is lapicque.STD and "MgBlock" in namespace


def test_a_name_in_another_submodule_says_where_it_is():
    with pytest.raises(AttributeError, match=r"'lapicque.lif' has no attribute 'AMPA'.*It is in lapicque.synapse"):
        lapicque.lif.AMPA
    with pytest.raises(AttributeError, match="has no attribute 'Nonsense'"):
        lapicque.synapse.Nonsense


def test_the_aliases_cost_nothing_and_stay_out_of_dir():
    code = ("import sys, lapicque, lapicque._brainpy_paths as p; p.install(); p.install(); "
            "print('jax' in sys.modules, any(s in dir(lapicque) for s in p.SUBMODULES), "
            "all(type(getattr(lapicque, s)).__name__ == 'module' for s in p.SUBMODULES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]


def test_a_real_module_is_never_shadowed(tmp_path, monkeypatch):
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "lif.py").write_text("REAL = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import fakepkg
    paths.install("fakepkg")
    try:
        import fakepkg.lif
        assert fakepkg.lif.REAL and "fakepkg.hh" in sys.modules
    finally:
        for name in [n for n in sys.modules if n == "fakepkg" or n.startswith("fakepkg.")]:
            del sys.modules[name]


def test_the_guide_lists_every_mapping():
    rows = re.findall(r"^\| `(\w+)` \| (.*) \|$", GUIDE.read_text(), re.M)
    listed = {sub: re.findall(r"`(\w+)`", names) for sub, names in rows if sub in paths.SUBMODULES}
    assert set(listed) == set(paths.SUBMODULES)
    for sub, names in paths.SUBMODULES.items():
        assert listed[sub][:len(names)] == list(names), sub
