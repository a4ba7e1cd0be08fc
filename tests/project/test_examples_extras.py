"""The examples say which extra to install when an optional package is missing (issue 24).

``make demo`` installs the ``plot`` extra only; the digits examples need scikit-learn, from the
``examples`` extra.  Without it they stop with one line naming the package and the install command,
not with a bare ``ModuleNotFoundError: No module named 'sklearn'`` traceback.
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: run an example as a script with scikit-learn hidden (as if not installed)
RUN_WITHOUT_SKLEARN = """
import runpy, sys
for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
    del sys.modules[name]
sys.modules["sklearn"] = None   # `import sklearn...` now raises ModuleNotFoundError
sys.argv = [{path!r}] + {args!r}
sys.path.insert(0, {folder!r})
runpy.run_path({path!r}, run_name="__main__")
"""


@pytest.mark.parametrize("script, args", [("train_digits.py", ["--epochs", "1"]),
                                          ("swap_neuron_models.py", [])])
def test_missing_sklearn_names_the_extra(script, args):
    path = REPO / "examples" / script
    code = RUN_WITHOUT_SKLEARN.format(path=str(path), args=args, folder=str(path.parent))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "JAX_PLATFORMS": "cpu"})
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert "pip install -e '.[examples]'" in err, err
    assert "scikit-learn" in err, err
    assert "Traceback" not in err, err  # one line, not a traceback
    assert len(err.splitlines()) == 1, err


def test_load_data_raises_an_import_error_naming_the_extra(monkeypatch):
    """Imported (by swap_neuron_models or a test), ``load_data`` raises ModuleNotFoundError: importorskip still works."""
    monkeypatch.syspath_prepend(str(REPO / "examples"))
    import train_digits
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.delitem(sys.modules, "sklearn.datasets", raising=False)
    monkeypatch.delitem(sys.modules, "sklearn.model_selection", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"pip install -e '\.\[examples\]'") as info:
        train_digits.load_data()
    assert info.value.name and info.value.name.startswith("sklearn")


def test_pyproject_license_is_an_spdx_expression():
    """``make demo`` printed setuptools' deprecation warnings for ``license = {text = ...}`` (PEP 639).

    The SPDX expression needs setuptools >= 77 to build, and a ``License ::`` classifier may not accompany it.
    """
    import re
    import tomllib
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert data["project"]["license"] == "Apache-2.0"
    assert not any(c.startswith("License ::") for c in data["project"].get("classifiers", []))
    req = [r for r in data["build-system"]["requires"] if r.startswith("setuptools")]
    assert req and (m := re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", req[0].replace(" ", ""))) and int(m.group(1)) >= 77
    assert any(r.startswith("scikit-learn") for r in data["project"]["optional-dependencies"]["examples"])
