"""Keep one section per benchmark script in ``benchmarks/RESULTS.md``.

Each script owns the text between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``;
re-running a script replaces its own section and leaves the others alone. The file is
written atomically.
"""

from __future__ import annotations

import re
from pathlib import Path

from simnet.io import atomic_write_text


def replace_section(path: Path, name: str, text: str) -> None:
    """Put ``text`` in the section ``name`` of the Markdown file ``path``."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: block, old, count=1)
    else:
        new = (old.rstrip() + "\n\n" if old.strip() else "") + block
    atomic_write_text(path, new)
