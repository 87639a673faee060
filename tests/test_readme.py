"""The README's two commands stay true: CI runs the test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_command():
    blocks = _bash_blocks((ROOT / "README.md").read_text())
    install_and_demo, install_and_test = blocks[0], blocks[1]
    assert install_and_demo.endswith("simnet demo")
    assert "pytest" in install_and_test
    ci = (ROOT / ".ci" / "run").read_text()
    assert install_and_test in ci.splitlines()


def test_readme_python_examples_run(tmp_path, monkeypatch):
    """Every ```python block of the README runs as written (in a scratch folder)."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert (tmp_path / "run-1" / "metadata.json").is_file()
