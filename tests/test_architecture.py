"""The dependency rule and the single owners: consult never imports moderation; one module reads the
environment; one module may import bleach."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in (ROOT / folder).rglob("*.py")]


def test_consult_never_imports_moderation_or_main():
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files("consult")
        if any(name == "moderation" or name.startswith("moderation.") or name == "main" for name in imports_of(p))
    ]
    assert offenders == []


def test_moderation_never_imports_main():
    assert [p for p in python_files("moderation") if "main" in imports_of(p)] == []


def test_only_settings_reads_the_environment():
    readers = []
    for path in python_files("consult", "moderation") + [ROOT / "main.py"]:
        source = path.read_text(encoding="utf-8")
        if "os.environ" in source or "getenv" in source:
            readers.append(str(path.relative_to(ROOT)))
    assert readers == ["consult/settings.py"]


def test_only_the_sanitizer_imports_bleach():
    users = [str(p.relative_to(ROOT)) for p in python_files("consult", "moderation") if any(n.split(".")[0] == "bleach" for n in imports_of(p))]
    assert set(users) <= {"consult/text/sanitize.py"}
