"""Every file lapicque writes is replaced atomically: a failed overwrite leaves the previous file intact.

Regression (issue 25, item 6): ``SimulationResult.save``, its CSV export and
``NetworkResult.save`` wrote in place, so a full disk, an exception or Ctrl-C
in the middle of an overwrite destroyed the previous file.  The fault is
injected below the writers, at the level of the open file (a disk that fills
up after a few hundred bytes), so the same test holds whatever writer a file
format uses.
"""

import builtins
import errno
import io
import os
import stat

import brainstate
import numpy as np
import pytest
import saiunit as u

import lapicque as lq
from lapicque._core.atomic import atomic_path, atomic_write

#: bytes a "full disk" accepts before it fails: enough for a partial write of every format below
DISK_LEFT = 200


class _FullDisk:
    """A file that accepts ``left`` bytes (or characters) and then fails as a full disk does."""

    def __init__(self, f, left):
        self._f, self._left = f, left

    def write(self, data):
        if len(data) > self._left:
            self._f.write(data[:self._left])
            self._left = 0
            raise OSError(errno.ENOSPC, "No space left on device (simulated)")
        self._left -= len(data)
        return self._f.write(data)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    """Every file opened for writing under ``tmp_path`` (or from a descriptor) fails after DISK_LEFT bytes."""
    real_open = io.open

    def fake_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        writing = any(c in mode for c in "wax+")
        ours = isinstance(file, int) or os.path.abspath(os.fspath(file)).startswith(str(tmp_path))
        return _FullDisk(f, DISK_LEFT) if writing and ours else f

    def arm():
        monkeypatch.setattr(io, "open", fake_open)
        monkeypatch.setattr(builtins, "open", fake_open)

    return arm


def _run(n=3, T=20.):
    return lq.simulate(lq.LIF(n), [1.5, 2., 3.][:n] * u.mA, T * u.ms, record=("V",), progress=False)


def _snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def test_failed_npz_overwrite_keeps_the_previous_result(tmp_path, full_disk):
    path = _run().save(tmp_path / "run.npz")
    before = _snapshot(tmp_path)
    longer = _run(T=40.)
    full_disk()
    with pytest.raises(OSError, match="No space left"):
        longer.save(path)
    assert _snapshot(tmp_path) == before  # the same file, byte for byte, and no temporary file beside it
    assert lq.SimulationResult.load(path).n_steps == 200


def test_failed_csv_overwrite_keeps_both_previous_files(tmp_path, full_disk):
    _run().save(tmp_path / "run.csv")
    before = _snapshot(tmp_path)
    assert sorted(before) == ["run.csv", "run.spikes.csv"]
    longer = _run(T=40.)
    full_disk()
    with pytest.raises(OSError, match="No space left"):
        longer.save(tmp_path / "run.csv")
    assert _snapshot(tmp_path) == before


def test_failed_network_and_checkpoint_overwrites_keep_the_previous_files(tmp_path, full_disk):
    class Two(brainstate.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = lq.LIF(2), lq.LIF(3)

        def update(self, x):
            self.a(x)
            self.b(x)

    net = Two()
    res = lq.simulate(net, 2. * u.mA, 10. * u.ms, record=("a.V",), progress=False)
    res.save(tmp_path / "net.npz")
    lq.save(tmp_path / "net.ckpt", net)
    before = _snapshot(tmp_path)
    full_disk()
    with pytest.raises(OSError, match="No space left"):
        res.save(tmp_path / "net.npz")
    with pytest.raises(OSError, match="No space left"):
        lq.save(tmp_path / "net.ckpt", net)
    assert _snapshot(tmp_path) == before


def test_interrupt_mid_write_keeps_the_previous_file(tmp_path, monkeypatch):
    """Ctrl-C (KeyboardInterrupt) in the middle of the NPZ writer: the previous file survives."""
    path = _run().save(tmp_path / "run.npz")
    before = _snapshot(tmp_path)
    real = np.savez_compressed

    def interrupted(file, **arrays):
        real(file, **arrays)  # the whole archive ... then a partial rewrite of its start
        if hasattr(file, "seek"):
            file.seek(0)
            file.write(b"PK\x03\x04 interrupted")
        else:
            with open(file, "r+b") as f:
                f.write(b"PK\x03\x04 interrupted")
        raise KeyboardInterrupt

    longer = _run(T=40.)
    monkeypatch.setattr(np, "savez_compressed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        longer.save(path)
    assert _snapshot(tmp_path) == before


def test_atomic_write_replaces_and_keeps_permissions(tmp_path):
    target = tmp_path / "x.bin"
    with atomic_write(target) as f:
        f.write(b"one")
    os.chmod(target, 0o640)
    with atomic_write(target) as f:
        f.write(b"two")
    assert target.read_bytes() == b"two" and stat.S_IMODE(os.stat(target).st_mode) == 0o640
    with pytest.raises(ZeroDivisionError):
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"three")
            1 / 0
    assert target.read_bytes() == b"two" and os.listdir(tmp_path) == ["x.bin"]
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"):
        with atomic_write(target, "a"):
            pass
