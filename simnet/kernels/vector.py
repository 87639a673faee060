"""Small dense loops the kernels share: dot products, matrix-vector products, sums.

These reductions allow reassociation (``fastmath={"reassoc"}``) so that LLVM splits
each sum into vector lanes and runs it with SIMD instructions; the lane layout is fixed
by the compiled code, so a given machine still gives the same bits on every run. No
flag here assumes finite inputs: a NaN or infinity propagates to the result as it
would in a plain sum. Against a plain left-to-right sum the results differ by a few
ulps (the property tests compare the kernels with numpy to 1e-10 relative).
"""

from __future__ import annotations

from numba import njit

_REASSOC = {"reassoc", "contract"}


@njit(cache=True, fastmath=_REASSOC)
def dot(a, b):
    """``sum_q a[q] * b[q]`` for 1-D arrays of the same length."""
    acc = 0.0
    for q in range(a.shape[0]):
        acc += a[q] * b[q]
    return acc


@njit(cache=True, fastmath=_REASSOC)
def dot_rows(a, i, b, j):
    """``sum_q a[i, q] * b[j, q]``: the dot product of row i of ``a`` and row j of
    ``b`` (2-D arrays with the same number of columns), without making views."""
    acc = 0.0
    for q in range(a.shape[1]):
        acc += a[i, q] * b[j, q]
    return acc


@njit(cache=True, fastmath=_REASSOC)
def total(a):
    """``sum_q a[q]`` of a 1-D array."""
    acc = 0.0
    for q in range(a.shape[0]):
        acc += a[q]
    return acc


@njit(cache=True)
def maximum(a):
    """The largest entry of a non-empty 1-D array (NaN entries are skipped unless
    they come first)."""
    m = a[0]
    for q in range(1, a.shape[0]):
        if a[q] > m:
            m = a[q]
    return m


@njit(cache=True, fastmath=_REASSOC)
def all_finite(a):
    """True if every entry of the 1-D array ``a`` is finite.

    ``a[q] * 0.0`` is 0 for finite entries and NaN for NaN or infinite ones; their sum
    vectorises, with no branch per entry.
    """
    probe = 0.0
    for q in range(a.shape[0]):
        probe += a[q] * 0.0
    return probe == 0.0


@njit(cache=True, fastmath=_REASSOC)
def matvec(a, b, out):
    """``out = a @ b`` for a C-contiguous 2-D ``a`` of shape (m, n) and ``b`` (n,).

    Rows are taken four at a time, so every load of ``b`` serves four dot products.
    """
    m, n = a.shape
    m4 = m - m % 4
    for j in range(0, m4, 4):
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for q in range(n):
            bq = b[q]
            s0 += a[j, q] * bq
            s1 += a[j + 1, q] * bq
            s2 += a[j + 2, q] * bq
            s3 += a[j + 3, q] * bq
        out[j] = s0
        out[j + 1] = s1
        out[j + 2] = s2
        out[j + 3] = s3
    for j in range(m4, m):
        s0 = 0.0
        for q in range(n):
            s0 += a[j, q] * b[q]
        out[j] = s0


@njit(cache=True)
def matvec_t(a, b, out):
    """``out = a.T @ b`` for a C-contiguous 2-D ``a`` of shape (m, n) and ``b`` (m,).

    Reads ``a`` row by row, like :func:`matvec`, so a caller needs no transposed copy:
    ``out += b[j] a[j]`` for eight rows at a time, summed in a fixed order (pairs,
    then pairs of pairs), which vectorises along the rows without reassociation.
    """
    m, n = a.shape
    for q in range(n):
        out[q] = 0.0
    m8 = m - m % 8
    for j in range(0, m8, 8):
        b0 = b[j]
        b1 = b[j + 1]
        b2 = b[j + 2]
        b3 = b[j + 3]
        b4 = b[j + 4]
        b5 = b[j + 5]
        b6 = b[j + 6]
        b7 = b[j + 7]
        for q in range(n):
            out[q] += (
                (a[j, q] * b0 + a[j + 1, q] * b1)
                + (a[j + 2, q] * b2 + a[j + 3, q] * b3)
            ) + (
                (a[j + 4, q] * b4 + a[j + 5, q] * b5)
                + (a[j + 6, q] * b6 + a[j + 7, q] * b7)
            )
    for j in range(m8, m):
        bj = b[j]
        for q in range(n):
            out[q] += a[j, q] * bj
