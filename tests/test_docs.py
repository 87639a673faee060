"""The user guide in ``docs/`` stays true.

* Every ```python block of every ``docs/*.md`` page runs as written: the blocks of a
  page run in order, in one namespace, in a scratch folder. A block preceded by the
  line ``<!-- docs-test: skip -->`` is shown but not run.
* ``docs/cli.md`` is exactly what ``python -m simnet.cli.docs`` prints, so the CLI
  reference never goes stale.
* Every relative link and image of the guide points to a file that exists.
* The gallery has a section per reproduction and its figures stay small; the citing
  page names the installed version; the front page repeats the README's two commands.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from simnet.cli.docs import cli_reference

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))

_BLOCK = re.compile(r"(<!-- docs-test: skip -->\n)?```python\n(.*?)```", flags=re.S)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _python_blocks(text: str) -> list[str]:
    """The ```python blocks of a page that run, in order."""
    return [code for skip, code in _BLOCK.findall(text) if not skip]


def test_every_guide_page_is_found():
    names = {page.name for page in PAGES}
    expected = {"index.md", "model.md", "api.md", "cli.md", "gallery.md", "citing.md"}
    assert expected <= names, f"missing guide pages: {sorted(expected - names)}"


@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if _python_blocks(p.read_text())],
    ids=lambda p: p.name,
)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    """Every ```python block of the page runs as written, in order."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for number, block in enumerate(_python_blocks(page.read_text()), start=1):
        code = compile(
            block, f"{page.relative_to(ROOT)} (python block {number})", "exec"
        )
        exec(code, namespace)


def test_cli_reference_is_generated_from_the_parser():
    committed = (DOCS / "cli.md").read_text()
    assert committed == cli_reference(), (
        "docs/cli.md is stale (the simnet parser changed); regenerate it with:\n"
        "    python -m simnet.cli.docs > docs/cli.md"
    )


def test_cli_reference_covers_every_subcommand():
    from simnet.cli.main import build_parser

    text = cli_reference()

    def progs(parser):
        yield parser.prog
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from progs(sub)

    for prog in progs(build_parser()):
        assert f"## `{prog}`" in text, prog


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    """Links and images to files of the repository point to existing files."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name}: broken link {target}"


def test_gallery_figures_are_small():
    figures = sorted((DOCS / "figures").glob("*.png"))
    sizes = {f.name: f.stat().st_size for f in figures}
    assert all(size < 250_000 for size in sizes.values()), sizes
    assert sum(sizes.values()) < 2_500_000


def test_citing_names_the_installed_version():
    import simnet

    text = (DOCS / "citing.md").read_text()
    versions = set(re.findall(r"version\s*=\s*\{([^}]*)\}", text))
    versions |= set(re.findall(r"(?:version|simnet) (\d+\.\d+\.\d+)", text))
    assert versions == {simnet.__version__}, (
        f"docs/citing.md cites simnet {sorted(versions)}; the package is "
        f"{simnet.__version__}: update the @misc{{simnet}} entry"
    )


def test_index_shows_the_readme_commands():
    """The guide's front page repeats the README's two commands verbatim."""

    def bash_blocks(text: str) -> list[str]:
        return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]

    readme = bash_blocks((ROOT / "README.md").read_text())[:2]
    assert bash_blocks((DOCS / "index.md").read_text())[:2] == readme, (
        "docs/index.md: copy the README's two commands (its first two bash blocks)"
    )


def test_gallery_has_a_section_per_reproduction():
    from simnet.reproduce import EXPERIMENTS

    text = (DOCS / "gallery.md").read_text()
    missing = [name for name in EXPERIMENTS if f"\n## {name}\n" not in text]
    assert not missing, (
        f"docs/gallery.md has no section for {missing}: run `simnet reproduce NAME "
        "--out DIR`, copy a figure to docs/figures/NAME_*.png and describe it"
    )
