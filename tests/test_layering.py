"""The package's structure, checked from its source: every module imports only modules below it in
one declared order (the README's), there is no import cycle between modules nor between packages
(as an ``import_cycles`` check finds them), and the library never imports the command line, Typer
or Rich, never prints, and never reads a developer checkout's ``../shared``.

Imports are read with ``ast`` from every ``.py`` file, including imports inside functions: a lazy
import hides a cycle from Python, not from this test.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sentimentogram_cli"
NAME = "sentimentogram_cli"

# Bottom to top: each entry (a top-level module or package) may import only entries before it.
# The README's package listing states the same order (test_readme_states_this_order).
LAYERS = [
    "constants", "errors", "atomic", "colour", "document", "ranges", "devices", "heap", "assets", "media", "spill", "ahead",
    "analysis_cache", "transcription", "emotion", "speakers", "prosody", "captions", "analysis_options",
    "analyser_models", "analyser",
    "typography", "style_file", "fonts", "emphasis_style", "preferences", "style", "output",
    "jobs", "batch", "distributed", "training",
    "__init__", "cli", "__main__",
]
LIBRARY_FORBIDDEN = ("typer", "rich", "click")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@lru_cache(maxsize=1)
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The module a dotted name lives in (``pkg.mod.attr`` -> ``pkg.mod``)."""
    while name not in modules() and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str) -> tuple[set[str], set[str]]:
    """(package modules, other top-level names) that ``module`` imports, anywhere in its body."""
    path = modules()[module]
    is_package = path.name == "__init__.py"
    inside, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (inside.add(_resolve(alias.name)) if alias.name.split(".")[0] == NAME
                 else outside.add(alias.name.split(".")[0]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - (node.level - 1) - (0 if is_package else 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            if prefix.split(".")[0] != NAME:
                outside.add(prefix.split(".")[0])
                continue
            for alias in node.names:  # "from . import x" names a module; "from .m import x" a name in m
                candidate = f"{prefix}.{alias.name}"
                inside.add(candidate if candidate in modules() else _resolve(prefix))
    inside.discard(module)
    return inside, outside


def entry(module: str) -> str:
    """The top-level module or package a module belongs to (the facade is ``__init__``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def graph() -> dict[str, set[str]]:
    return {m: imports_of(m)[0] for m in modules()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), or of one node that
    imports itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_is_placed_in_the_order():
    unplaced = sorted({entry(m) for m in modules()} - set(LAYERS))
    assert not unplaced, f"add these to LAYERS (and the README's package listing): {unplaced}"


def test_every_module_imports_only_modules_below_it():
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = []
    for module, targets in graph().items():
        for target in targets:
            own, theirs = entry(module), entry(target)
            if own != theirs and rank.get(theirs, len(LAYERS)) >= rank.get(own, -1):
                upward.append(f"{module} -> {target}")
    assert not upward, "imports upward in the layer order:\n" + "\n".join(sorted(upward))


def test_no_import_cycle_between_modules():
    assert cycles(graph()) == []


def test_no_import_cycle_between_packages():
    """Modules collapsed to their top-level module or package: output/ -> style.py ->
    preferences/ -> output/ would be a cycle here even with every module graph acyclic."""
    collapsed: dict[str, set[str]] = {}
    for module, targets in graph().items():
        collapsed.setdefault(entry(module), set()).update(entry(t) for t in targets if entry(t) != entry(module))
    assert cycles(collapsed) == []


def test_the_checks_see_a_cycle_and_a_lazy_import(tmp_path):
    """The cycle finder finds a cycle hidden behind a function-level import."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    lazy = ast.parse("def f():\n    from .output.page import render_page\n")
    assert any(isinstance(n, ast.ImportFrom) and n.module == "output.page" for n in ast.walk(lazy))


def test_the_library_never_imports_the_command_line_typer_or_rich_and_never_prints():
    offenders = []
    for module, path in modules().items():
        if entry(module) in ("cli", "__main__"):
            continue
        inside, outside = imports_of(module)
        offenders += [f"{module} imports {name}" for name in sorted(outside & set(LIBRARY_FORBIDDEN))]
        offenders += [f"{module} imports {t}" for t in sorted(inside) if entry(t) == "cli"]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{module}:{n.lineno} calls print()" for n in ast.walk(tree)
                      if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print"]
    assert not offenders, "\n".join(offenders)


def test_the_package_never_reads_a_developer_checkout():
    hits = [f"{m}" for m, p in modules().items() if "../shared" in p.read_text(encoding="utf-8")]
    assert not hits, f"../shared named in {hits}: take the data folder as an argument"


def test_readme_states_this_order():
    """The README's package listing names the same entries in the same order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("The package reads in the order", 1)[1].split("```", 2)[1]
    listed = []
    for line in block.splitlines()[1:]:
        names = re.match(r"  (\S+(?: \S+)*?)(?:\s{2,}|$)", line)
        if not names:
            continue
        tokens = names.group(1).split()
        if all(t.endswith((".py", "/")) for t in tokens):
            listed += [t.removesuffix(".py").removesuffix("/") for t in tokens]
    assert listed == LAYERS
