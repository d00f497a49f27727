"""A wheel (`pip install .`, not editable) carries the prompt templates: prompts/*.txt ship as qa/templates/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

TEMPLATES = sorted((ROOT / "prompts").glob("*.txt"))
# Not copied into the build tree: environments, caches, indexes and earlier build output.
SKIP_TOP = {".venv", ".git", ".qa", "build", "dist", ".pytest_cache", ".hypothesis", ".gradio"}


def _ignore(folder: str, names: list[str]) -> set[str]:
    skip = {n for n in names if n == "__pycache__" or n.endswith((".egg-info", ".gguf"))}
    if Path(folder) == ROOT:
        skip |= SKIP_TOP & set(names)
    return skip


def test_prompts_found_from_the_checkout():
    """Run from this checkout (editable install or none), the templates are the repo's prompts/."""
    from qa.prompts import template_files

    assert [f.name for f in template_files()] == [p.name for p in TEMPLATES]
    assert all(f.read_bytes() == p.read_bytes() for f, p in zip(template_files(), TEMPLATES))


# Runs in the unpacked wheel, far from the repo: imports qa from there and reads every template.
CHECK = """
import json, sys
from pathlib import Path
unpacked, expected = Path(sys.argv[1]).resolve(), json.loads(sys.argv[2])
import qa
from qa import prompts
assert Path(qa.__file__).resolve().is_relative_to(unpacked), qa.__file__
files = prompts.template_files()
assert sorted(f.name for f in files) == sorted(f"{name}.txt" for name in expected), [f.name for f in files]
for f in files:
    assert Path(str(f)).resolve().is_relative_to(unpacked / "qa" / "templates"), str(f)
for name, text in expected.items():
    assert prompts.template(name).template == text.strip("\\n"), name
    prompts.render(name, n=1, title="T", outlet="", date="", text="x", question="q")
print("ok", len(expected))
"""


@pytest.mark.full
def test_wheel_ships_the_prompts(tmp_path):
    assert TEMPLATES, f"no templates in {ROOT / 'prompts'}"
    # Build from a copy so no build/ or *.egg-info lands in the checkout.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=_ignore)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", "-w", str(wheels), str(source)],
        capture_output=True, text=True, timeout=180)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheels.glob("newsqa-*.whl")

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = [p.name for p in TEMPLATES if f"qa/templates/{p.name}" not in names]
        assert not missing, f"{wheel.name} lacks qa/templates/{missing}; it holds {sorted(names)}"
        for p in TEMPLATES:
            assert archive.read(f"qa/templates/{p.name}") == p.read_bytes(), p.name
        unpacked = tmp_path / "unpacked"
        archive.extractall(unpacked)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("QA_")}
    env["PYTHONPATH"] = str(unpacked)
    expected = {p.name.removesuffix(".txt"): p.read_text(encoding="utf-8") for p in TEMPLATES}
    run = subprocess.run([sys.executable, "-c", CHECK, str(unpacked), json.dumps(expected)],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.split() == ["ok", str(len(TEMPLATES))]
