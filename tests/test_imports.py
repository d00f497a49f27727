"""Who may import whom, read from the source with `ast` (nothing is imported, so it takes milliseconds).

The core (every qa module but the front ends) has no cycle and never imports a front end; a front
end takes the core only through its door, `qa.pipeline` (the names in its `__all__`), and through
`qa.config` for the settings: they are public too (qa.toml, QA_* variables, `qa config`), and
`qa.config` imports no other qa module, so a front end reads its settings without loading the
core: `qa --help` and `qa config` stay instant. Imports inside functions and under TYPE_CHECKING
count like the others.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRONT_ENDS = {"app", "qa.cli", "qa.evaluate", "qa.bench", "qa.__main__"}
DOOR = "qa.pipeline"
# What a front end may import besides the door and the other front ends: the package itself (it
# makes the process offline) and the settings.
ALSO_OPEN = {"qa", "qa.config"}


@dataclass(frozen=True)
class Import:
    source: str   # the importing module
    target: str   # the qa module (or app) imported
    names: tuple[str, ...]  # the names taken from it by `from target import …`
    line: int

    def __str__(self) -> str:
        taken = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.source}:{self.line} imports {self.target}{taken}"


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Module name → file, for qa/*.py and app.py."""
    files = {"app": root / "app.py"}
    for path in sorted((root / "qa").glob("*.py")):
        files["qa" if path.stem == "__init__" else f"qa.{path.stem}"] = path
    return files


def imports_of(name: str, tree: ast.AST, known: set[str]) -> list[Import]:
    """Every import of a known module anywhere in `tree`: top of the file, in functions, under TYPE_CHECKING."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, (), node.lineno) for alias in node.names if alias.name in known]
        elif isinstance(node, ast.ImportFrom):
            # A relative import can only be `from . import x` or `from .x import y` inside qa/.
            base = ".".join(filter(None, ["qa" if node.level else "", node.module or ""]))
            submodules = [alias.name for alias in node.names if f"{base}.{alias.name}" in known]
            found += [Import(name, f"{base}.{sub}", (), node.lineno) for sub in submodules]
            others = tuple(alias.name for alias in node.names if alias.name not in submodules)
            if others and base in known:
                found.append(Import(name, base, others, node.lineno))
    return found


def import_graph(root: Path = ROOT) -> dict[str, list[Import]]:
    files = module_files(root)
    return {name: imports_of(name, ast.parse(path.read_text(encoding="utf-8")), set(files))
            for name, path in files.items()}


def find_cycle(graph: dict[str, list[Import]]) -> list[str] | None:
    """One import cycle as [a, b, …, a], or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once every path from it is

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for edge in graph.get(module, []):
            if state.get(edge.target) == "open":
                return path[path.index(edge.target):] + [edge.target]
            if edge.target not in state and (cycle := visit(edge.target, path + [edge.target])):
                return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def door_names(root: Path = ROOT) -> set[str]:
    """The names in qa.pipeline's `__all__`."""
    tree = ast.parse((root / "qa" / "pipeline.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise AssertionError("qa/pipeline.py has no __all__")


def names_through_the_door(path: Path) -> list[tuple[int, str]]:
    """(line, name) of every `pipeline.name` where `pipeline` is a name bound to qa.pipeline by an import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "qa":
            aliases |= {alias.asname or alias.name for alias in node.names if alias.name == "pipeline"}
        elif isinstance(node, ast.Import):
            aliases |= {alias.asname for alias in node.names if alias.name == DOOR and alias.asname}
    return [(node.lineno, node.attr) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases]


def problems(root: Path = ROOT) -> list[str]:
    """Every broken rule, one line each."""
    graph = import_graph(root)
    found = []
    if cycle := find_cycle(graph):
        found.append("import cycle: " + " → ".join(cycle))
    door = door_names(root)
    for module, edges in graph.items():
        for edge in edges:
            if module not in FRONT_ENDS and edge.target in FRONT_ENDS:
                found.append(f"the core imports a front end: {edge}")
            elif module in FRONT_ENDS and edge.target not in FRONT_ENDS | ALSO_OPEN | {DOOR}:
                found.append(f"a front end goes past the door ({DOOR}): {edge}")
            elif module in FRONT_ENDS and edge.target == DOOR and set(edge.names) - door:
                found.append(f"not in {DOOR}.__all__: {', '.join(sorted(set(edge.names) - door))} ({edge})")
    files = module_files(root)
    for module in sorted(FRONT_ENDS & set(files)):
        found += [f"{module}:{line} uses pipeline.{name}, which is not in {DOOR}.__all__"
                  for line, name in names_through_the_door(files[module]) if name not in door]
    found += [f"qa.config must import no other qa module (front ends read settings without the core): {edge}"
              for edge in graph["qa.config"] if edge.target != "qa"]
    return found


def test_the_imports_keep_the_rules():
    assert FRONT_ENDS <= set(module_files()), "a front end was renamed: update FRONT_ENDS"
    found = problems()
    assert not found, "\n".join(found)


def test_the_door_opens_on_what_it_lists():
    """Every name in `__all__` is defined or imported at the top of qa/pipeline.py."""
    tree = ast.parse((ROOT / "qa" / "pipeline.py").read_text(encoding="utf-8"))
    defined = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Assign):
            defined |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    assert door_names() - defined == set()


# --- the checker catches what it is for, on small made-up projects -------------------------------

def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "qa").mkdir()
    base = {"app.py": "from qa import pipeline\n", "qa/__init__.py": "", "qa/config.py": "import qa\n",
            "qa/pipeline.py": "from qa.answer import Answer\n__all__ = ['Answer']\n",
            "qa/answer.py": "class Answer: ...\n", "qa/cli.py": "from qa.config import Settings\n"}
    for name, text in {**base, **files}.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("files,expected", [
    ({}, None),
    ({"qa/evaluate.py": "from qa import pipeline\n",
      "qa/pipeline.py": "def f():\n    from qa.evaluate import g\n__all__ = []\n"}, "import cycle: qa.pipeline → qa.evaluate → qa.pipeline"),
    ({"qa/answer.py": "from qa.timeline import with_days\n", "qa/timeline.py": "import qa.answer\n"},
     "import cycle: qa.answer → qa.timeline → qa.answer"),
    ({"qa/answer.py": "def f():\n    from qa.cli import run\n"}, "the core imports a front end: qa.answer:2 imports qa.cli"),
    ({"app.py": "from qa.answer import Answer\n"}, "a front end goes past the door (qa.pipeline): app:1 imports qa.answer"),
    ({"qa/cli.py": "if True:\n    from qa import answer\n"}, "a front end goes past the door (qa.pipeline): qa.cli:2 imports qa.answer"),
    ({"qa/bench.py": "from qa.pipeline import Answer, check\n"}, "not in qa.pipeline.__all__: check"),
    ({"app.py": "from qa import pipeline as p\np.Answer\np.secret\n"}, "app:3 uses pipeline.secret"),
    ({"qa/config.py": "from qa.types import Article\n", "qa/types.py": ""}, "qa.config must import no other qa module"),
])
def test_the_checker_bites(tmp_path, files, expected):
    found = problems(_project(tmp_path, files))
    assert (found == []) if expected is None else any(expected in line for line in found), found
