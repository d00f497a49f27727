"""Prompt templates live in prompts/ as files; `${name}` placeholders are filled here.

The files stay in the project's top-level prompts/ folder; packaging maps that folder to the
`qa.templates` package (pyproject.toml), so a wheel carries them as qa/templates/*.txt; a checkout
(installed editable or not) reads prompts/ itself. QA_PROMPTS_DIR overrides the folder.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template


def _locate() -> tuple[Traversable, str]:
    """The templates folder, and where it came from (for error messages)."""
    if override := os.environ.get("QA_PROMPTS_DIR"):
        return Path(override), "QA_PROMPTS_DIR"
    try:
        return resources.files("qa.templates"), "the installed qa.templates package"
    except ModuleNotFoundError:
        # Running from the checkout, where qa/ sits beside prompts/: never installed, or installed
        # editable (setuptools' editable finder cannot import a package-dir namespace such as
        # qa.templates: pypa/setuptools#4248, #4943).
        return Path(__file__).resolve().parent.parent / "prompts", "the checkout (no qa.templates package found)"


PROMPTS_DIR, _SOURCE = _locate()


def template_files() -> list[Traversable]:
    """Every template file (`*.txt`), by name."""
    if not PROMPTS_DIR.is_dir():
        return []
    return sorted((entry for entry in PROMPTS_DIR.iterdir() if entry.name.endswith(".txt")),
                  key=lambda entry: entry.name)


@functools.cache
def template(name: str) -> Template:
    path = PROMPTS_DIR.joinpath(f"{name}.txt")
    try:
        return Template(path.read_text(encoding="utf-8").strip("\n"))
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(
            f"prompt template {path} is missing (templates from {_SOURCE}); "
            "reinstall newsqa (`pip install .` ships prompts/ as qa/templates) "
            "or set QA_PROMPTS_DIR to the project's prompts/ folder") from None


def render(name: str, **values: object) -> str:
    """Fill a template; values are inserted verbatim (article text may contain `$` or braces)."""
    return template(name).safe_substitute({key: str(value) for key, value in values.items()})
