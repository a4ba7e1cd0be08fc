"""The guides in docs/*.md run, and print what they say.

Each ```python block of a page is run in order in one namespace: a block with ``>>>``
prompts as a doctest (its printed output must match the page, ELLIPSIS and
NORMALIZE_WHITESPACE as in the package doctests), any other block as a script.  Blocks
fenced ```py are legacy or reference code (brainpy) that the page only shows.  Where
brainpy is installed, the claims the pages make about it are checked too (the legacy
run in a subprocess, since it switches JAX to float64):

* migrating_from_brainpy_state.md: the first example with ``import brainpy.state as bst``
  prints the same spike counts as with ``import lapicque as bst``; the reference's Gif and
  GifRef(tau_ref=0) differ while lapicque's Gif equals the reference's GifRef(tau_ref=0);
  the reference's LIFRef period slips where lapicque's does not.
* migrating_from_brainpy_adexif.md: the legacy ``brainpy.neurons.AdExIF`` run prints the
  spike times the page shows, which are lapicque's plus the legacy spike at t = 0.
"""

import doctest
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted((REPO / "docs").glob("*.md"))
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
#: languages a page may fence: run (python), shown only (py, text, bash)
KNOWN = {"python", "py", "text", "bash", ""}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _blocks(path, lang):
    return [body for kind, body in FENCE.findall(path.read_text()) if kind == lang]


def _run_page(text_blocks, name):
    """Run the blocks in order in one namespace; returns the namespace."""
    globs = {"__name__": f"docs.{name}"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for k, block in enumerate(text_blocks):
        if ">>>" in block:
            test = parser.get_doctest(block, globs, f"{name}[{k}]", name, 0)
            test.globs = globs  # DocTest copies its globals; the page's blocks share one namespace
            runner.run(test, clear_globs=False)
        else:
            exec(compile(block, f"{name}[{k}]", "exec"), globs)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (see above)"
    assert result.attempted > 0
    return globs


def test_there_are_guides():
    names = {p.name for p in DOCS}
    assert {"migrating_from_brainpy_state.md", "migrating_from_brainpy_adexif.md"} <= names


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_page_blocks_run_and_print_what_the_page_says(path, isolated_environ):
    kinds = {kind for kind, _ in FENCE.findall(path.read_text())}
    assert kinds <= KNOWN, f"{path.name}: unknown fence languages {kinds - KNOWN}"
    _run_page(_blocks(path, "python"), path.stem)


def test_the_parser_finds_failures(isolated_environ):
    """A page whose printed output is wrong fails (the test above can fail)."""
    with pytest.raises(AssertionError, match="1 of 2 examples failed"):
        _run_page([">>> x = 2\n>>> x + 1\n4\n"], "broken")


# --------------------------------------------------------------------------------------
# the reference and the legacy code shown on the pages (brainpy installed)
# --------------------------------------------------------------------------------------
def _run_python(code):
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_state_guide_first_example_runs_on_brainpy_state_too(isolated_environ):
    pytest.importorskip("brainpy")
    first = _blocks(REPO / "docs" / "migrating_from_brainpy_state.md", "python")[0]
    assert "import lapicque as bst" in first
    code = first.replace("import lapicque as bst", "import brainpy.state as bst")
    test = doctest.DocTestParser().get_doctest(code, {}, "reference", "reference", 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def _spikes_and_V(model, n, current):
    """Run ``model`` for ``n`` steps of 0.1 ms (step i at t = i dt): spike steps and V (mV) of neuron 0."""
    import brainstate
    import jax.numpy as jnp
    import numpy as np
    import saiunit as u

    with brainstate.environ.context(dt=0.1 * u.ms):
        model.init_state()

        def step(i):
            with brainstate.environ.context(t=i * 0.1 * u.ms):
                return model.update(current), model.V.value.to_decimal(u.mV)

        spk, V = brainstate.transform.for_loop(step, jnp.arange(n))
    return np.nonzero(np.asarray(spk)[:, 0] > 0.5)[0], np.asarray(V)[:, 0]


def test_state_guide_claims_about_the_reference():
    brainpy = pytest.importorskip("brainpy")
    import numpy as np
    import saiunit as u

    import lapicque

    kw = dict(a=0.005 / u.ms, A1=10. * u.mA, A2=-0.6 * u.mA)
    g = _spikes_and_V(brainpy.state.Gif(1, **kw), 5000, 2. * u.mA)
    g0 = _spikes_and_V(brainpy.state.GifRef(1, tau_ref=0. * u.ms, **kw), 5000, 2. * u.mA)
    ours = _spikes_and_V(lapicque.Gif(1, **kw), 5000, 2. * u.mA)
    # Gif: the reference's two classes differ (second spikes one step apart, V by ~29 mV) ...
    assert g[0][1] - g0[0][1] == 1 and 20. < np.abs(g[1] - g0[1]).max() < 40.
    # ... and lapicque's Gif is the reference's GifRef(tau_ref=0) up to float32 round-off
    np.testing.assert_array_equal(ours[0], g0[0])
    assert np.abs(ours[1] - g0[1]).max() < 1e-4
    # LIFRef at 5 mA: every 31 steps, except twice in 3 s where the float comparison waits 32
    s, _ = _spikes_and_V(brainpy.state.LIFRef(1, tau_ref=2. * u.ms, spk_reset="hard"), 30000, 5. * u.mA)
    isi, counts = np.unique(np.diff(s), return_counts=True)
    assert dict(zip(isi.tolist(), counts.tolist())) == {31: 965, 32: 2}


def test_adexif_guide_legacy_run_prints_the_page_numbers():
    pytest.importorskip("brainpy")
    page = REPO / "docs" / "migrating_from_brainpy_adexif.md"
    legacy = _blocks(page, "py")[0]
    shown = json.loads(re.search(r"^# (\[.*\])$", legacy, re.M).group(1))
    printed = json.loads(_run_python(legacy).strip().splitlines()[-1])
    assert printed == shown
    # the lapicque run on the page: the same spikes, the start at V(0) = 0 mV > V_th included, each reported at the
    # end of its step (one dt = 0.01 ms after the legacy label, the step's start)
    ours = re.search(r"res\.spike_times\[0\].*\n(\[.*\])\n", _blocks(page, "python")[0]).group(1)
    assert shown[0] == 0.0 and json.loads(ours) == [round(t + 0.01, 2) for t in shown]
