"""The shape of ``bot/``, ``backend/`` and ``miniprogram_api/``: modules under 400 lines, and no import
cycle, not even at type-checking level.

Alembic's revision files are exempt from the size rule: the baseline is the schema written out once, and
splitting a revision that databases have already applied would break their upgrade path."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "backend", "miniprogram_api")
MAX_LINES = 400
EXEMPT = ("backend/migrations/versions/",)


def _modules(packages: tuple[str, ...] = PACKAGES, root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _known(target: str, modules: dict[str, Path]) -> str | None:
    """The module a dotted import lands in (``a.b.func`` → ``a.b``), or None when it is not ours."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def import_graph(packages: tuple[str, ...] = PACKAGES, root: Path = ROOT) -> dict[str, set[str]]:
    """Module → our modules it imports, ``if TYPE_CHECKING:`` blocks and function bodies included."""
    modules = _modules(packages, root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    module = ".".join([*base, module] if module else base)
                targets = [f"{module}.{alias.name}" for alias in node.names]
            graph[name] |= {t for t in (_known(t, modules) for t in targets) if t and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_even_at_type_checking_level() -> None:
    graph = import_graph()
    assert "bot.dialogue.context" in graph and graph["bot.processing"]  # the scan sees each package
    assert "backend.complaints.states" in graph["backend.complaints.service"]
    assert "backend.complaints.service" in graph["miniprogram_api.complaints"]
    assert cycles(graph) == []


def test_the_import_scan_sees_type_checking_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import typing\nif typing.TYPE_CHECKING:\n    from pkg.b import B\n")
    (pkg / "b.py").write_text("def f():\n    from .a import x\n")
    graph = import_graph(("pkg",), root=tmp_path)
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_over_400_lines() -> None:
    modules = {name: path for name, path in _modules().items()
               if not path.relative_to(ROOT).as_posix().startswith(EXEMPT)}
    assert "backend.complaints.service" in modules and "bot.processing" in modules
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules.items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_the_message_protocols_redis_keys_are_spelled_only_in_inbox_protocol() -> None:
    """One owner for the Redis message protocol: its key prefixes appear in ``bot/inbox_protocol.py``
    and nowhere else in the service (the web chat's lock included)."""
    from bot import inbox_protocol as proto

    prefixes = (proto.MESSAGE_PREFIX, proto.USER_LOCK_PREFIX, proto.STATE_PREFIX, proto.NONCE_PREFIX,
                proto.LATE_PREFIX, proto.CHAT_LOCK_PREFIX)
    owner = ROOT / "bot" / "inbox_protocol.py"
    spelled = {(path.relative_to(ROOT).as_posix(), prefix) for path in _modules().values() if path != owner
               for prefix in prefixes if prefix in path.read_text(encoding="utf-8")}
    assert spelled == set()
    assert all(prefix in owner.read_text(encoding="utf-8") for prefix in prefixes)
