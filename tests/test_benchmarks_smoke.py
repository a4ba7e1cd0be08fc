"""Smoke test of the benchmark suite: it runs and writes its table (no timing assertions)."""

import json
import os

import pytest

benchmarks_main = pytest.importorskip("benchmarks.__main__")


def test_quick_suite_writes_markdown_and_json(tmp_path, monkeypatch, capsys):
    # the suite sets thread-limit variables for its own process: keep them out of the test session
    monkeypatch.setattr(os, "environ", dict(os.environ))
    rc = benchmarks_main.main([
        "--quick", "--models", "LIF", "--sizes", "200", "--steps", "50", "--repeats", "1",
        "--sections", "forward", "--peers", "none", "--stores", "float,bool",
        "--out", str(tmp_path), "--stem", "smoke",
    ])
    assert rc == 0
    out = capsys.readouterr().out
    assert "| LIF | 200 | 50 | float |" in out

    md = (tmp_path / "smoke.md").read_text()
    assert "1. Forward simulation throughput" in md and "| LIF | 200 | 50 | bool |" in md

    data = json.loads((tmp_path / "smoke.json").read_text())
    rows = data["tables"]["forward"]["rows"]
    assert {r["store"] for r in rows} == {"float", "bool"}
    for r in rows:
        assert r["model"] == "LIF" and r["N"] == 200 and r["T"] == 50
        assert r["lapicque"] > 0
    assert data["machine"]["jax"]


def test_steps_are_capped_at_large_n():
    from benchmarks.suite import MAX_ELEMS, steps_for

    assert steps_for(1000, 1000) == 1000
    assert steps_for(10 ** 6, 1000) * 10 ** 6 <= MAX_ELEMS


def test_cli_rejects_unknown_model():
    with pytest.raises(SystemExit):
        benchmarks_main.main(["--models", "NoSuchModel", "--sections", "forward"])
