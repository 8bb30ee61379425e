"""Output files and the output cache respect what is there and cannot lie."""

import os
import stat
import subprocess
import sys

import pytest

import derive
from conftest import run
from derive import cache
from derive.errors import DeriveError
from derive.io import write_atomic


def test_a_symlink_is_followed_and_the_mode_kept(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_a_hard_link_sees_the_new_content(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old")
    os.link(a, b)
    write_atomic(a, "new")
    assert b.read_text() == "new" and a.stat().st_ino == b.stat().st_ino


def test_a_new_file_honours_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "n.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "n.txt").stat().st_mode) == 0o640


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_a_device_is_written_not_replaced():
    write_atomic("/dev/null", "x")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_dash_is_standard_output():
    code, out, err = run("linear", "-o", "-")
    assert code == 0 and out.startswith("Linear regression")


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def interrupted(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(DeriveError, match="is a folder"):
        write_atomic(tmp_path, "x")


# ---------------------------------------------------------------------------------------------
# The cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DERIVE_NO_CACHE", raising=False)
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _fresh():
    return derive.derivation("linear").render("text", show_steps=False, color=False)


@pytest.mark.parametrize("spoil", ["plant", "truncate", "empty"])
def test_a_spoiled_entry_is_rebuilt_not_replayed(cache_dir, spoil):
    code, first, _ = run("linear")
    (entry,) = cache.entries(cache_dir)
    text = entry.read_text()
    spoiled = {"plant": text.replace("ŷ", "y"), "truncate": text[: len(text) // 2], "empty": ""}[spoil]
    entry.write_text(spoiled)
    code, again, _ = run("linear")
    assert code == 0 and again == first
    assert first.rstrip("\n") == _fresh().rstrip("\n")


def test_an_entry_for_another_key_is_not_replayed(cache_dir):
    run("linear")
    run("logistic")
    a, b = cache.entries(cache_dir)
    a.write_bytes(b.read_bytes())   # a whole entry, but of the other command
    _, out, _ = run("linear")
    assert out.startswith("Linear regression")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_the_cache_does_not_hang(cache_dir):
    run("linear")
    (entry,) = cache.entries(cache_dir)
    entry.unlink()
    os.mkfifo(entry)
    env = dict(os.environ, DERIVE_CACHE_DIR=str(cache_dir))
    done = subprocess.run([sys.executable, "-m", "derive", "linear"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("Linear regression")


def test_the_cache_stays_under_its_limit(cache_dir, monkeypatch):
    run("linear")
    size = cache.entries(cache_dir)[0].stat().st_size
    monkeypatch.setattr(cache, "LIMIT_BYTES", int(2.5 * size))
    for lang in ("en", "zh"):
        for fmt in ("text", "json"):
            run("linear", "--lang", lang, "--format", fmt)
    assert sum(p.stat().st_size for p in cache.entries(cache_dir)) <= cache.LIMIT_BYTES


def test_cache_clear_and_info(cache_dir):
    run("linear")
    code, out, _ = run("cache", "info")
    assert code == 0 and str(cache_dir) in out and "1 entries" in out
    built = cache_dir / "native" / "affine-0123.so"    # what numeric.native keeps there
    built.parent.mkdir()
    built.write_bytes(b"\0" * 10)
    code, _, err = run("cache", "clear")
    assert code == 0 and "removed 2 cache entries" in err
    assert cache.entries(cache_dir) == [] and not built.exists()


def test_the_cache_keeps_text_of_each_width_apart(cache_dir, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    narrow = run("mle-gaussian", "--show-steps").out
    monkeypatch.setenv("COLUMNS", "200")
    assert run("mle-gaussian", "--show-steps").out != narrow
    monkeypatch.setenv("COLUMNS", "60")
    assert run("mle-gaussian", "--show-steps").out == narrow
