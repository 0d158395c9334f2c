"""The packages import each other as docs/architecture.md draws them: arrows point one way,
neither edge imports the other, and no module imports itself back through others."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Each package, and the packages of ours it may import.
ALLOWED = {
    "contracts": set(),
    "matchers": {"contracts"},
    "clients": {"contracts"},
    "domain": {"contracts", "matchers"},
    "ingest": {"contracts", "matchers", "clients", "domain"},
    "consumers": {"contracts", "matchers", "clients", "domain"},
}

#: The gateway's two halves: neither imports the other (both may use ``ingest``'s own
#: top-level modules: errors, auth, metrics, correlation).
HALVES = ("ingest.webhooks", "ingest.api")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[str]:
    """The modules ``path`` imports when it runs (imports only for type checking left out)."""
    tree = ast.parse(path.read_text(), str(path))
    checking_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            checking_only.update(id(child) for child in ast.walk(node))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    for node in ast.walk(tree):
        if id(node) in checking_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level and package:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                yield f"{base}.{node.module}" if node.module else base
            elif node.module:
                yield node.module
                # ``from domain import analytics`` imports the module domain.analytics.
                yield from (f"{node.module}.{alias.name}" for alias in node.names)


def graph() -> dict[str, set[str]]:
    """Every module of our packages, and the modules of ours it imports."""
    modules = {
        module_name(path): path
        for package in ALLOWED
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    return {
        name: {imported for imported in imports(path) if imported in modules and imported != name}
        for name, path in modules.items()
    }


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_what_lies_below_them(package: str) -> None:
    """contracts imports nothing of ours, matchers and clients only contracts, the domain no
    edge, and neither edge (ingest, consumers) the other."""
    wrong = sorted(
        f"{module} imports {imported}"
        for module, targets in graph().items()
        if module.split(".")[0] == package
        for imported in targets
        if imported.split(".")[0] not in ALLOWED[package] | {package}
    )
    assert wrong == []


def test_the_gateways_halves_do_not_import_each_other() -> None:
    """ingest.webhooks and ingest.api share only ingest's top-level modules."""
    wrong = sorted(
        f"{module} imports {imported}"
        for module, targets in graph().items()
        for half in HALVES
        if module.startswith(half)
        for imported in targets
        for other in HALVES
        if other != half and imported.startswith(other)
    )
    assert wrong == []


def test_no_module_imports_itself_back() -> None:
    """The module graph has no cycle (a package ``__init__`` importing its own modules is
    not one)."""
    edges = graph()
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str], done: set[str]) -> None:
        for target in sorted(edges[module]):
            if module.startswith(f"{target}."):
                continue  # a module importing its own package's __init__
            if target in path:
                cycles.append([*path[path.index(target) :], target])
            elif target not in done:
                visit(target, [*path, target], done)
        done.add(module)

    done: set[str] = set()
    for module in sorted(edges):
        if module not in done:
            visit(module, [module], done)
    assert cycles == []


def test_the_graph_is_read() -> None:
    """A control: the graph sees the imports the tests above judge."""
    edges = graph()
    assert "domain.store.database" in edges["domain.bookings"]
    assert "contracts" in edges["consumers.bookings"]
    assert "domain.analytics" in edges["domain.customers"]
