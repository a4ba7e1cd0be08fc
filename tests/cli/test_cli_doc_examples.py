"""Every ``lapicque`` command shown in the README and in docs/*.md does what it is shown for (issue 24).

The ```bash blocks of the pages are otherwise only shown (tests/docs/test_docs.py); here each line that
starts with ``lapicque`` (with its ``\\`` continuations, without its ``#`` comment) runs in-process, in a
fresh folder holding the ```toml blocks of the same page under the name their first comment gives
(``# run.toml``), and must:

* exit with status 0, and print no ``lapicque: warning:`` line (a silent or spurious run);
* ``run``: fire (``spikes: N`` with N > 0) -- an example that prints 0 spikes shows nothing;
* ``fi``: fire at some current; ``list``/``presets``/``patterns`` (no pattern): list something;
* show what its comment claims after ``# ->`` (e.g. ``# -> spikes: 53``), when it has one.

``lapicque demo`` is the main job (``make demo``) and is not run here.
"""

import re
import shlex
from pathlib import Path

import pytest

from lapicque.cli import main

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)


def commands(text: str):
    """``(argv, claim)`` of every ``lapicque`` line of the ```bash blocks of a page (claim: after ``# ->``)."""
    out = []
    for kind, body in FENCE.findall(text):
        if kind != "bash":
            continue
        lines = body.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            while line.rstrip().endswith("\\") and i + 1 < len(lines):  # a continued command
                i += 1
                line = line.rstrip()[:-1] + " " + lines[i].strip()
            i += 1
            if not line.startswith("lapicque"):
                continue
            code, _, comment = line.partition("#")
            claim = comment.split("->", 1)[1].strip() if "->" in comment else None
            out.append((shlex.split(code)[1:], claim))
    return out


def toml_files(text: str):
    """``{name: text}`` of the ```toml blocks of a page whose first line is a comment naming the file."""
    files = {}
    for kind, body in FENCE.findall(text):
        first = body.splitlines()[0].strip() if body.strip() else ""
        if kind == "toml" and re.fullmatch(r"#\s*[\w.-]+\.toml", first):
            files[first.lstrip("#").strip()] = body
    return files


CASES = [pytest.param(page, argv, claim, id=f"{page.name}: lapicque {' '.join(argv)}")
         for page in PAGES for argv, claim in commands(page.read_text()) if argv[:1] != ["demo"]]


def check_example(argv, claim, out: str, err: str, status: int):
    """The assertions above, for one command's status and output."""
    shown = f"`lapicque {' '.join(argv)}`"
    assert status == 0, f"{shown} exits with {status}: {err.strip()}"
    assert "lapicque: warning:" not in err, f"{shown} warns: {err.strip()}"
    command = next((a for a in argv if not a.startswith("-")), None)
    if command == "run":
        spikes = re.search(r"^spikes: (\d+)", out, re.M)
        assert spikes and int(spikes.group(1)) > 0, f"{shown} shows no spikes:\n{out}"
    elif command == "fi":
        assert "fires from" in out, f"{shown} fires at no current:\n{out}"
    elif command in ("list", "presets") or (command == "patterns" and len(argv) == 1):
        assert out.count("\n") > 3, f"{shown} lists nothing:\n{out}"
    if claim:
        assert claim in out, f"{shown} does not show {claim!r}:\n{out}"


def test_the_pages_show_commands():
    """The collection finds the examples (the README's shell block above all)."""
    readme = [argv for argv, _ in commands((REPO / "README.md").read_text())]
    assert any(a[:1] == ["run"] for a in readme), readme
    assert any(a[:1] == ["list"] for a in readme), readme


def test_commands_parse_continuations_and_claims():
    text = "```bash\nlapicque run LIF --current 2mA \\\n    --duration 20ms   # -> spikes: 2\necho hi\n```\n"
    assert commands(text) == [(["run", "LIF", "--current", "2mA", "--duration", "20ms"], "spikes: 2")]


def test_a_silent_example_is_caught(tmp_path, monkeypatch, capsys):
    """The README's example before issue 24 printed 0 spikes: the check refuses it."""
    monkeypatch.chdir(tmp_path)
    argv = ["run", "LIF", "--current", "500pA", "--duration", "5ms", "--no-progress"]
    status = main(argv)
    cap = capsys.readouterr()
    with pytest.raises(AssertionError, match="warns|no spikes"):
        check_example(argv, None, cap.out, cap.err, status)


@pytest.mark.parametrize("page, argv, claim", CASES)
def test_doc_example(page, argv, claim, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name, body in toml_files(page.read_text()).items():
        (tmp_path / name).write_text(body)
    if argv[:1] in (["run"], ["fi"]) and "--progress" not in argv:
        argv = argv + ["--no-progress"]
    status = main(argv)
    cap = capsys.readouterr()
    check_example(argv, claim, cap.out, cap.err, status)
