"""The architecture, checked: the layers' import contracts (pyproject.toml, by import-linter), no
import cycle anywhere (top-level imports and those inside functions alike), imports inside
functions only for the heavy optional libraries and each with its reason, and no condition outside
the pocket package and the registry that asks whether a pair is the pocket pair."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "spectrocanvas"
HEAVY = ("diffusers", "transformers", "av", "accelerate", "gradio")
"""Libraries that take seconds (or FFmpeg's shared libraries, or are optional: accelerate, for multi-process
launches only; gradio, for the web page only, and 1.5-3 s to import) to import: only these may be imported
inside a function, where they are needed."""
LATE = {
    "spectrocanvas.ui.work": "the web page answers before torch and the tools load (they load behind it)",
    "spectrocanvas.cli.commands": "`spectrocanvas ui` starts without torch; every other command loads it",
    "spectrocanvas.cli.ui": "the page's entry, parsed apart from the torch-using commands",
}
"""Modules of the package that may be imported inside a function, and why: each keeps torch out of
the web page's start (the page must answer within seconds)."""
POCKET_HOME = (SOURCE / "pairs" / "pocket", SOURCE / "pairs" / "registry.py")


def _modules() -> list[tuple[str, Path, ast.Module]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path, ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return found


def test_the_import_contracts_hold(capsys):
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0, \
        capsys.readouterr().out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module → modules it imports), or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_among_all_modules():
    """Every import statement counts, inside functions and under TYPE_CHECKING too."""
    built = grimp.build_graph("spectrocanvas", cache_dir=None)
    graph = {module: set(built.find_modules_directly_imported_by(module)) for module in built.modules}
    assert _cycle(graph) is None, " → ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return [alias.name for alias in node.names]


def test_imports_inside_functions_are_heavy_libraries_with_a_reason():
    lines_of = {}
    problems = []
    for name, path, tree in _modules():
        lines_of[path] = path.read_text(encoding="utf-8").splitlines()
        for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(function):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                roots = {module.split(".")[0] for module in _imported(node) if module not in LATE}
                if not roots <= set(HEAVY):
                    problems.append(f"{where} imports {', '.join(sorted(roots))} inside a function")
                    continue
                lines = lines_of[path]
                said = "#" in lines[node.lineno - 1] or lines[node.lineno - 2].strip().startswith("#")
                if not said:
                    problems.append(f"{where} imports {', '.join(sorted(roots))} without a comment saying why")
    assert not problems, "\n".join(problems)


def _names_pocket(node: ast.AST) -> bool:
    return any((isinstance(n, ast.Constant) and isinstance(n.value, str) and "pocket" in n.value.lower())
               or (isinstance(n, ast.Name) and "pocket" in n.id.lower())
               or (isinstance(n, ast.Attribute) and "pocket" in n.attr.lower())
               for n in ast.walk(node))


def _conditions(tree: ast.AST):
    """Every expression that decides something: if/while/assert tests, conditional expressions,
    comprehension filters, comparisons and match subjects/patterns."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)):
            yield node.test
        elif isinstance(node, ast.comprehension):
            yield from node.ifs
        elif isinstance(node, ast.Compare):
            yield node
        elif isinstance(node, ast.Match):
            yield node.subject
            yield from (case.pattern for case in node.cases)


def test_no_condition_outside_the_pocket_package_asks_for_the_pocket_pair():
    found = []
    for name, path, tree in _modules():
        if any(path == home or home in path.parents for home in POCKET_HOME):
            continue
        found += [f"{path.relative_to(ROOT)}:{c.lineno}: {ast.unparse(c)}" for c in _conditions(tree)
                  if _names_pocket(c)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("source, caught", [
    ("if runtime.preset == 'pocket':\n    pass\n", True),
    ("x = 1 if name != 'pocket' else 2\n", True),
    ("DEMO_PAIR = 'pocket'\n", False),
    ("print('the pocket pair')\n", False),
])
def test_the_condition_check_catches_pocket_conditions_only(source, caught):
    assert any(_names_pocket(c) for c in _conditions(ast.parse(source))) == caught
