"""The kernels compiled for other CPUs agree with numpy too.

The explicit-vector code in ``simnet/kernels`` takes other paths on CPUs without
AVX-512 (the array form of the cross-entropy gradient, four-row blocks) and without
masked vector loads (x86 before AVX, and ARM NEON: plain loops). CI machines have
AVX-512, so these paths would never run there; here the vector, gradient and kernel
tests run again in a fresh process whose numba compiles for an AVX2 CPU (Haswell)
and for baseline x86-64 (SSE2), each with its own cache.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

_AVX2 = (
    "+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+f16c,+fma,+fsgsbase,+lzcnt,+movbe,"
    "+popcnt,+sse,+sse2,+sse3,+sse4.1,+sse4.2,+ssse3,+xsave"
)
# target: (NUMBA_CPU_NAME, NUMBA_CPU_FEATURES, has 512-bit registers, has masked loads)
TARGETS = {
    "avx2": ("haswell", _AVX2, False, True),
    "baseline-x86-64": ("x86-64", "", False, False),
}
TESTS = Path(__file__).parent
_PROBE = (
    "from numba import njit\n"
    "from simnet.kernels.vector import has_masked_vectors, has_wide_registers\n"
    "print(njit(lambda: (has_wide_registers(), has_masked_vectors()))())\n"
)


@pytest.mark.slow
@pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 targets"
)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_kernel_tests_pass_when_compiled_for(target, tmp_path):
    cpu, features, wide, masked = TARGETS[target]
    env = dict(
        os.environ,
        NUMBA_CPU_NAME=cpu,
        NUMBA_CPU_FEATURES=features,
        NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"),
    )
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == str((wide, masked))  # the paths under test
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(TESTS / "test_vector.py"),
            str(TESTS / "test_sde_gradient.py"),
            str(TESTS / "test_kernels.py"),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=TESTS.parent,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
