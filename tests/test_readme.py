"""The README runs: every code block is executed, so that it cannot drift from the tool.

- A block after ``<!-- file: NAME -->`` is a file the next shell block uses; it is written to
  a fresh folder.
- A shell block runs there, line by line, through the shell (``derive`` is this checkout's).
  ``pip install … &&`` prefixes are left out (CI has installed the package), and the block
  that is the README's test command is this suite itself.
- A Python block runs in a fresh interpreter; a JSON block must parse and name the keys that
  ``--format json`` writes.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
TEST_COMMAND = "pip install '.[test]' && python -m pytest"
BLOCK = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)
TOOLS = {"dot": "graphviz", "xelatex": "TeX Live", "pdflatex": "TeX Live"}


def _blocks():
    return [(m.group("lang"), m.group("file"), m.group("body"), README[: m.start()].count("\n") + 1)
            for m in BLOCK.finditer(README)]


BLOCKS = _blocks()


def _env(tmp_path: Path):
    # as a user runs them: the cache on, in a folder of its own that starts empty (so a derivation
    # comes from the package's shipped store, which tests/test_stored_derivations.py proves equal
    # to a fresh build, or is built)
    env = dict(os.environ, DERIVE_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("DERIVE_NO_CACHE", None)
    # the console script of this interpreter's environment first
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _missing_tool(line: str):
    for tool, package in TOOLS.items():
        if re.search(rf"(^|[|&;]\s*){tool}\b", line) and shutil.which(tool) is None:
            if os.environ.get("DERIVE_REQUIRE_TEX") == "1":
                pytest.fail(f"{tool} ({package}) is required but missing")
            return tool
    return None


def test_the_readme_has_blocks_of_each_kind():
    langs = {lang for lang, *_ in BLOCKS}
    assert {"bash", "python", "json"} <= langs
    assert any(f for _, f, _, _ in BLOCKS)


@pytest.mark.parametrize("index", [i for i, b in enumerate(BLOCKS) if b[0] == "bash"],
                         ids=lambda i: f"line {BLOCKS[i][3]}")
def test_shell_block_runs(index, tmp_path):
    _, _, body, _ = BLOCKS[index]
    if body.strip() == TEST_COMMAND:
        return  # the README's test command is this very suite
    for _, name, text, _ in BLOCKS[:index]:
        if name:
            (tmp_path / name).write_text(text, encoding="utf-8")
    for line in body.strip().splitlines():
        line = re.sub(r"^pip install \S+ && ", "", line.split("  #")[0].strip())
        if _missing_tool(line):
            continue
        done = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=tmp_path, env=_env(tmp_path),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("index", [i for i, b in enumerate(BLOCKS) if b[0] == "python" and not b[1]],
                         ids=lambda i: f"line {BLOCKS[i][3]}")
def test_python_block_runs_in_a_fresh_interpreter(index, tmp_path):
    done = subprocess.run([sys.executable, "-c", BLOCKS[index][2]], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("index", [i for i, b in enumerate(BLOCKS) if b[0] == "json"],
                         ids=lambda i: f"line {BLOCKS[i][3]}")
def test_json_block_names_what_the_tool_writes(index):
    import derive

    shown = json.loads(BLOCKS[index][2])
    real = derive.derivation(shown["model"]).to_json()
    assert set(shown) <= set(real)
    assert set(shown["results"][0]) <= set(real["results"][0])
    assert set(shown["steps"][0]) <= set(real["steps"][0])
