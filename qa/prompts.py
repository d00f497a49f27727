"""Prompt templates live in prompts/ as files; `${name}` placeholders are filled here."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from string import Template

PROMPTS_DIR = Path(os.environ.get("QA_PROMPTS_DIR") or Path(__file__).resolve().parent.parent / "prompts")


@functools.cache
def template(name: str) -> Template:
    path = PROMPTS_DIR / f"{name}.txt"
    try:
        return Template(path.read_text(encoding="utf-8").strip("\n"))
    except FileNotFoundError:
        raise FileNotFoundError(f"prompt template {path} is missing (set QA_PROMPTS_DIR to the prompts/ folder)") from None


def render(name: str, **values: object) -> str:
    """Fill a template; values are inserted verbatim (article text may contain `$` or braces)."""
    return template(name).safe_substitute({key: str(value) for key, value in values.items()})
