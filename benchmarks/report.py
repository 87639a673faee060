"""Shared pieces of the benchmark scripts: the machine description, and one section per
script in ``benchmarks/RESULTS.md``.

Each script owns the text between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``;
re-running a script replaces its own section and leaves the others alone. The file is
written atomically.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import subprocess
from pathlib import Path

from simnet.io import atomic_write_text

REPO = Path(__file__).resolve().parent.parent


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


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def now() -> str:
    """The output of ``date`` (UTC), or the same from Python if it is missing."""
    try:
        out = subprocess.run(["date", "-u"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return _dt.datetime.now(_dt.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def git_head() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load_average() -> str:
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"
