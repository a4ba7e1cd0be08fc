"""The pages in docs/*.md run, print what they say, and are all reachable from the README.

How a page's code is checked (the README's blocks too, see test_readme.py, which uses the helpers here):

* a ```python block without ``>>>`` prompts is a script: it runs alone in a fresh Python process (copying it
  into a file works; time limit SCRIPT_TIMEOUT, and the blocks that take more than 30 s are marked slow),
  and each ``# -> text`` comment shows one line it prints: what it prints must be exactly the lines shown, in
  order, compared as doctest compares (ELLIPSIS and NORMALIZE_WHITESPACE, as in the package doctests); a
  block that prints nothing shows nothing;
* a fragment that is not a complete script says so: the line ``<!-- not-a-script -->`` right before its
  fence (a blank line between is allowed) and it is only shown, like a ```py block;
* a ```python block with ``>>>`` prompts is a doctest; the doctest blocks of a docs page run in page order in
  one namespace, as in a doctest file (only migrating_from_brainpy_state.md still has them: the other pages
  and the README are scripts);
* blocks fenced ```py are legacy or reference code (brainpy) that the page only shows; ```bash and ```text are
  shown only; ```toml must parse;
* every docs page is linked from the README; every relative link of the README and of a page leads to a file
  (and to a heading, for ``#anchor``), and every ``lapicque/``, ``tests/``, ``examples/``, ``benchmarks/`` or
  ``docs/`` path a page names in backticks exists.

Where brainpy is installed, the claims the pages make about it are checked too (the legacy run in a
subprocess, since it switches JAX to float64):

* migrating_from_brainpy_state.md: the first example with ``import brainpy.state as bst``
  prints the same spike counts as with ``import lapicque as bst``; the reference's Gif and
  GifRef(tau_ref=0) differ while lapicque's Gif equals the reference's GifRef(tau_ref=0);
  the reference's LIFRef period slips where lapicque's does not.
* migrating_from_brainpy_adexif.md: the legacy ``brainpy.neurons.AdExIF`` run prints the
  spike times the page shows, which are lapicque's plus the legacy spike at t = 0.
"""

import doctest
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
#: languages a page may fence: run (python), parsed (toml), shown only (py, text, bash)
KNOWN = {"python", "py", "text", "bash", "toml", ""}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
#: ``# -> text``: a line the code above it prints
SHOWN = re.compile(r"#\s?->\s?(.*?)\s*$", re.M)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
REPO_PATH = re.compile(r"`((?:lapicque|tests|examples|benchmarks|docs)/[\w./-]*)`")
#: paths a page may name that a run writes (git-ignored), so a fresh checkout lacks them
GENERATED = ("benchmarks/results",)
#: the most seconds a script block may run (a loaded 2-core machine runs the slowest in ~40 s)
SCRIPT_TIMEOUT = PAGE_TIMEOUT = 300
#: the line before a fence that marks a fragment (shown, not run)
NOT_A_SCRIPT = "<!-- not-a-script -->"
#: script blocks that take more than 30 s on a loaded 2-core machine (measured): marked slow
SLOW_SCRIPTS = set()


# --------------------------------------------------------------------------------------
# reading a page
# --------------------------------------------------------------------------------------
def fences(text):
    """(language, body, marked a fragment) of every fenced block of ``text``, in order."""
    out = []
    for m in FENCE.finditer(text):
        before = text[:m.start()].rstrip().rsplit("\n", 1)[-1].strip()
        out.append((m.group(1), m.group(2), before == NOT_A_SCRIPT))
    return out


def _blocks(path, lang):
    return [body for kind, body, fragment in fences(path.read_text()) if kind == lang and not fragment]


def script_blocks(path):
    """The ```python blocks of ``path`` without prompts and not marked fragments, as (test id, code)."""
    return [(f"{path.name}-block{k}", body) for k, body in enumerate(_blocks(path, "python")) if ">>>" not in body]


def script_env():
    """The environment of a script block: this checkout on the path, a headless matplotlib."""
    return dict(os.environ, MPLBACKEND="Agg",
                PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


def shown_output(code):
    """The output a script block shows with its ``# ->`` comments, one line each."""
    return "".join(line + "\n" for line in SHOWN.findall(code))


def run_script(code, where, tmp_path):
    """Run ``code`` as a script in a fresh process in ``tmp_path``; its output must be what it shows."""
    script = tmp_path / "block.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=script_env(), capture_output=True,
                          text=True, timeout=SCRIPT_TIMEOUT)
    assert proc.returncode == 0, f"{where} fails as a script:\n{proc.stderr[-3000:]}"
    check_output(shown_output(code), proc.stdout, where)


def check_output(want, got, where):
    """``got`` must be ``want``, compared as doctest compares."""
    checker = doctest.OutputChecker()
    if not checker.check_output(want, got, FLAGS):
        example = doctest.Example("<the block>", want)
        raise AssertionError(f"{where} prints what it does not show (`# ->` comments):\n"
                             + checker.output_difference(example, got, FLAGS))


def run_doctests(blocks, name):
    """Run the ``>>>`` blocks in order in one namespace; each printed output must match the page."""
    globs = {"__name__": f"docs.{name}"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for k, block in enumerate(blocks):
        test = parser.get_doctest(block, globs, f"{name}[{k}]", name, 0)
        test.globs = globs  # DocTest copies its globals; the page's blocks share one namespace
        runner.run(test, clear_globs=False)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (see above)"
    assert result.attempted > 0
    return globs


def _doctest_blocks(path):
    return [body for body in _blocks(path, "python") if ">>>" in body]


def anchors(text):
    """The ``#anchors`` of a page's headings, as GitHub writes them (code blocks left out)."""
    seen, out = {}, set()
    for title in re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", FENCE.sub("", text), re.M):
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)            # a link's text
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(path, text=None):
    """Relative links of a page that lead nowhere, and repository paths it names that do not exist."""
    text = path.read_text() if text is None else text
    prose = FENCE.sub("", text)
    broken = []
    for target in LINK.findall(prose):
        if re.match(r"[a-z]+:", target):          # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        if not file:                              # a heading of this page
            if anchor not in anchors(text):
                broken.append(target)
            continue
        dest = (path.parent / file).resolve()
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text()):
            broken.append(target)
    for name in REPO_PATH.findall(prose):
        if "*" not in name and not name.startswith(GENERATED) and not (REPO / name).exists():
            broken.append(name)
    return broken


def orphans(readme_text, pages):
    """Pages of docs/ that the README does not link to."""
    linked = {target.partition("#")[0] for target in LINK.findall(readme_text)}
    return [p.name for p in pages if f"docs/{p.name}" not in linked]


# --------------------------------------------------------------------------------------
# the pages
# --------------------------------------------------------------------------------------
SCRIPTS = [(path, where, code) for path in DOCS for where, code in script_blocks(path)]
DOCTEST_PAGES = [path for path in DOCS if _doctest_blocks(path)]


def _params(scripts):
    return [pytest.param(path, where, code, id=where, marks=[pytest.mark.slow] if where in SLOW_SCRIPTS else [])
            for path, where, code in scripts]


@pytest.mark.parametrize("path, where, code", _params(SCRIPTS))
def test_page_script_runs_and_prints_what_it_shows(path, where, code, tmp_path):
    run_script(code, where, tmp_path)


@pytest.mark.parametrize("path", DOCTEST_PAGES, ids=[p.name for p in DOCTEST_PAGES])
def test_page_doctests_print_what_the_page_says(path, isolated_environ):
    run_doctests(_doctest_blocks(path), path.stem)


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_page_fences_are_known_and_toml_parses(path):
    kinds = {kind for kind, _, _ in fences(path.read_text())}
    assert kinds <= KNOWN, f"{path.name}: unknown fence languages {kinds - KNOWN}"
    toml_blocks = _blocks(path, "toml")
    if toml_blocks:
        tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
        for body in toml_blocks:
            tomllib.loads(body)


def test_the_readme_links_every_page():
    assert DOCS
    assert orphans(README.read_text(), DOCS) == []


@pytest.mark.parametrize("path", [README, *DOCS], ids=["README.md", *[p.name for p in DOCS]])
def test_links_and_named_files_exist(path):
    assert broken_links(path) == []


# --------------------------------------------------------------------------------------
# the checks above can fail
# --------------------------------------------------------------------------------------
def test_the_parser_finds_failures(isolated_environ):
    """A page whose printed output is wrong fails."""
    with pytest.raises(AssertionError, match="1 of 2 examples failed"):
        run_doctests([">>> x = 2\n>>> x + 1\n4\n"], "broken")


@pytest.mark.parametrize("code, error", [
    ("print(6 * 7)   # -> 42\n", None),
    ("print([1, 2,\n       3])\n# -> [1, 2,\n# ->  3]\n", None),                      # wrapped, whitespace normalized
    ("print(6 * 7)   # -> 43\n", "prints what it does not show"),                      # a wrong number
    ("print(6 * 7)\n", "prints what it does not show"),                                # printed, not shown
    ("x = 6 * 7      # -> 42\n", "prints what it does not show"),                      # shown, not printed
    ("print(1)  # -> 1\nprint(2)  # -> 3\n", "prints what it does not show"),         # the second line wrong
    ("raise SystemExit(3)\n", "fails as a script"),
    ("print(undefined_name)  # -> 1\n", "fails as a script"),                          # needs another block
], ids=["right", "wrapped", "wrong-number", "not-shown", "not-printed", "second-line", "exit", "not-standalone"])
def test_script_check_finds_failures(code, error, tmp_path):
    if error is None:
        run_script(code, "good", tmp_path)
    else:
        with pytest.raises(AssertionError, match=error):
            run_script(code, "broken", tmp_path)


def test_a_fragment_marked_not_a_script_is_not_run(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"```python\nprint(1)  # -> 1\n```\n\n{NOT_A_SCRIPT}\n\n```python\nundefined_name\n```\n"
                    "```python\n>>> 1\n1\n```\n")
    assert [code for _, code in script_blocks(page)] == ["print(1)  # -> 1\n"]
    assert [fragment for _, _, fragment in fences(page.read_text())] == [False, True, False]


def test_link_checks_find_orphans_and_broken_links():
    assert orphans("[x](docs/a.md) [y](docs/b.md#part)", [Path("a.md"), Path("b.md"), Path("c.md")]) == ["c.md"]
    page = REPO / "docs" / "page.md"
    text = ("# Title\n## A `code` section\n[ok](#title) [ok](#a-code-section) [ok](../README.md#lapicque)\n"
            "[bad](#nowhere) [bad](missing.md) [bad](../README.md#nowhere) [web](https://example.org)\n"
            "`tests/docs/test_docs.py` `lapicque/_no_such_file.py` `tests/README.md`\n"
            "```python\n# not a heading\n[not](a-link.md)\n```\n")
    assert broken_links(page, text) == ["#nowhere", "missing.md", "../README.md#nowhere", "lapicque/_no_such_file.py"]


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
    ours = re.search(r"res\.spike_times\[0\].*\n# -> (\[.*\])\n", _blocks(page, "python")[0]).group(1)
    assert shown[0] == 0.0 and json.loads(ours) == [round(t + 0.01, 2) for t in shown]
