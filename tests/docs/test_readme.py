"""The README's code runs as printed, and shows what it prints.

Every ```python block of the README stands alone: a block without ``>>>`` prompts runs as a script in a fresh
Python process (copying it into a file works) and must print exactly the lines its ``# -> text`` comments
show; a block with prompts is a doctest in a namespace of its own.  The rules and the helpers are those of
the docs pages (test_docs.py).  The README also keeps the two commands, ``make demo`` and ``make test``.
"""

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # test_docs: the pages' rules and helpers
import test_docs as pages  # noqa: E402

README = pages.README
BLOCKS = [body for kind, body in pages.FENCE.findall(README.read_text()) if kind == "python"]
IDS = [f"block{k}" for k in range(len(BLOCKS))]


@pytest.mark.parametrize("code", BLOCKS, ids=IDS)
def test_readme_block_runs_alone_and_prints_what_it_shows(code, tmp_path, isolated_environ):
    if ">>>" in code:
        pages.run_doctests([code], "README")
    else:
        pages.run_script(code, "README.md", tmp_path)


def test_readme_shows_output_to_compare():
    """The quick examples show what they print (a README whose blocks show nothing checks nothing)."""
    shown = [code for code in BLOCKS if ">>>" in code or pages.shown_output(code)]
    assert len(shown) >= 4, "the neuron-group and network examples show their output with `# ->`"


def test_readme_keeps_the_two_commands():
    bash = "".join(body for kind, body in pages.FENCE.findall(README.read_text()) if kind == "bash")
    makefile = (pages.REPO / "Makefile").read_text()
    for target in ("demo", "test"):
        assert re.search(rf"^make {target}\b", bash, re.M), f"`make {target}` is not in the README"
        assert re.search(rf"^{target}:", makefile, re.M), f"the Makefile has no `{target}` target"
