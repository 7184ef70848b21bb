"""The package's structure: layers that import only downwards, the benchmark and the
report know no method by name, no import cycle, private scikit-learn APIs in one module,
one results schema, modules of a readable size."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import dimred
from dimred import schema

PACKAGE = Path(dimred.__file__).parent
RESULTS_DOC = PACKAGE.parent / "docs" / "benchmark.md"


def _sources(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(PACKAGE.parent)): path.read_text()
            for path in sorted(folder.rglob("*.py"))}


def test_no_built_in_method_name_in_the_benchmark_or_the_report():
    names = re.compile(r"\b(" + "|".join(dimred.ESTIMATORS) + r")\b")
    found = [f"{path}:{text[:match.start()].count(chr(10)) + 1}: {match.group()}"
             for folder in ("benchmark", "report")
             for path, text in _sources(PACKAGE / folder).items()
             for match in names.finditer(text)]
    assert not found, found
    # The check itself can fail: the estimators' own modules do name them.
    assert names.search((PACKAGE / "linear" / "_pod.py").read_text())


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """The dimred modules ``module`` (at ``path``) imports, anywhere in its body:
    ``from package import submodule`` is an import of the submodule, ``from module import
    name`` of the module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules
                          else base)
    return found & modules - {module}


def _import_graph() -> dict[str, set[str]]:
    paths = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return {name: _imports(path, name, set(paths)) for name, path in paths.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_no_import_cycle_in_the_package():
    graph = _import_graph()
    assert "dimred.benchmark._cell" in graph["dimred.benchmark._runner"]
    assert not _cycles(graph), _cycles(graph)
    # The executors are handed their work: neither imports the runner.
    for executor in ("dimred.benchmark._in_process", "dimred.benchmark._distributed"):
        assert "dimred.benchmark._runner" not in graph[executor]
    # The detector finds a cycle when there is one.
    graph["dimred.schema"] = {"dimred.benchmark._runner"}
    assert _cycles(graph)


#: The layers, lowest first: a module may import its own package, or a lower layer.
#: Each entry is a top-level module or package of dimred; the package's face
#: (``dimred/__init__.py``, which imports its estimators lazily by name) is no layer.
LAYERS = (
    {"schema", "_sklearn_compat", "_legacy"},
    {"references", "_plugins", "arrays"},
    {"contract"},
    {"linear", "neural", "datasets", "tasks"},
    {"figures"},
    {"report"},
    {"benchmark"},
    {"cli", "testing"},
)


def _part(module: str) -> str | None:
    """The top-level module or package of dimred that ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _layering_violations(graph: dict[str, set[str]]) -> list[str]:
    rank = {part: level for level, parts in enumerate(LAYERS) for part in parts}
    found = []
    for module, imported in sorted(graph.items()):
        source = _part(module)
        for target in sorted(imported):
            destination = _part(target)
            if source is None or destination is None or source == destination:
                continue
            if rank[destination] >= rank[source]:  # upwards, or a sibling of its layer
                found.append(f"{module} imports {target}")
    return found


def test_every_module_belongs_to_a_layer():
    parts = {_part(module) for module in _import_graph()} - {None}
    assert parts == set().union(*LAYERS), parts ^ set().union(*LAYERS)


def test_layers_import_only_downwards():
    graph = _import_graph()
    assert not _layering_violations(graph), _layering_violations(graph)
    # The methods know nothing of the benchmark or the report, which hold them.
    for module, imported in graph.items():
        if _part(module) in ("linear", "neural", "contract"):
            assert not {_part(target) for target in imported} & {"benchmark", "report"}
    # The check can fail: a planted upward import and a planted sibling import.
    graph["dimred.linear._pod"] = {*graph["dimred.linear._pod"], "dimred.benchmark._runner"}
    graph["dimred.neural._ae"] = {*graph["dimred.neural._ae"], "dimred.linear._ppca"}
    assert _layering_violations(graph) == [
        "dimred.linear._pod imports dimred.benchmark._runner",
        "dimred.neural._ae imports dimred.linear._ppca"]


def test_modules_stay_readable():
    long = {path: text.count("\n") for path, text in _sources(PACKAGE).items()
            if text.count("\n") > 400}
    assert not long, long


def test_private_scikit_learn_apis_are_imported_in_one_module():
    private = re.compile(r"from sklearn[\w.]*\._\w+ import|from sklearn[\w.]* import _\w+")
    users = [path for path, text in _sources(PACKAGE).items() if private.search(text)]
    assert users == ["dimred/_sklearn_compat.py"]


def test_the_documented_tables_are_the_schema():
    text = RESULTS_DOC.read_text()
    for names in (schema.Metric, schema.TaskMetric, schema.Param):
        assert schema.markdown_table(names) in text, f"docs/benchmark.md: {names.__name__}"


def test_every_name_is_spelled_once():
    everything = [name.value for names in (schema.Metric, schema.TaskMetric, schema.Param,
                                            schema.Tag) for name in names]
    assert len(everything) == len(set(everything))
    assert all(name.unit is not None and name.meaning is not None
               for names in (schema.Metric, schema.TaskMetric, schema.Param) for name in names)


#: Calls that compare arrays exactly.
_EXACT_COMPARISONS = {"assert_array_equal", "assert_equal", "array_equal"}


def _exact_comparisons_with_stored_values(source: str) -> list[int]:
    """Lines of ``source`` (a test module) that compare a value stored in
    ``tests/fixtures/`` exactly: an operand of ``==`` / ``!=`` or an argument of
    :data:`_EXACT_COMPARISONS` that is a module-level name loaded from there (or an item
    of one). Such values were computed on another processor, whose float kernels may
    round otherwise; they need a tolerance."""
    tree = ast.parse(source)
    stored: set[str] = set()
    for node in tree.body:  # module level, in order: LEGACY = ... / "fixtures"; X = load(LEGACY)
        if isinstance(node, ast.Assign):
            mentions = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            strings = {n.value for n in ast.walk(node.value)
                       if isinstance(n, ast.Constant) and isinstance(n.value, str)}
            if mentions & stored or "fixtures" in strings:
                stored |= {target.id for target in node.targets if isinstance(target, ast.Name)}

    def is_stored(operand: ast.expr) -> bool:
        while isinstance(operand, ast.Subscript | ast.Attribute):
            operand = operand.value
        return isinstance(operand, ast.Name) and operand.id in stored

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name in _EXACT_COMPARISONS and any(map(is_stored, node.args)):
                found.append(node.lineno)
        elif isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq)
                                                   for op in node.ops):
            if any(map(is_stored, [node.left, *node.comparators])):
                found.append(node.lineno)
    return found


def test_no_test_compares_a_stored_value_exactly():
    tests = Path(__file__).parent
    found = {path.name: lines for path in sorted(tests.rglob("test_*.py"))
             if (lines := _exact_comparisons_with_stored_values(path.read_text()))}
    assert not found, found
    # The check can fail: the legacy test as it was, red on another processor.
    planted = ('LEGACY = Path(__file__).parent / "fixtures" / "legacy"\n'
               'EXPECTED = np.load(LEGACY / "expected.npz")\n'
               'def test_it(model):\n'
               '    np.testing.assert_array_equal(model.transform(X), EXPECTED["ae"])\n'
               '    assert (EXPECTED.codes == 0).all()\n')
    assert _exact_comparisons_with_stored_values(planted) == [4, 5]
