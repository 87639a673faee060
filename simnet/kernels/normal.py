"""A counter-based, vectorisable, parallel generator of exact N(0, 1) draws.

Numba's (and numpy's) ``Generator.standard_normal`` is a serial stream: each draw
depends on every draw before it, so it can neither be split across threads nor
vectorised. Here every draw has an address instead: normal number ``c`` of a stream
is a pure function ``z(stream, c)``, computed by one branch-free loop that LLVM
vectorises (AVX2 / AVX-512). The SDE kernel derives one stream per step from a key
drawn from the run's numpy Generator and addresses the draws of that step by
position (particle ``i``, coordinate ``q`` -> ``c = i p + q``), so its results
depend neither on how the work is split between threads nor on how the steps are
split into calls.

The method is exact in distribution, not an approximation:

1. **Uniform words** (SplitMix64: Steele, Lea & Flood, *Fast splittable
   pseudorandom number generators*, OOPSLA 2014; the generator of Java's
   ``SplittableRandom``). A stream is a pair ``(seed, gamma)`` with ``gamma`` odd;
   its word ``j`` is ``w(j) = mix64(seed + (j + 1) gamma mod 2^64)``, with ``mix64``
   Stafford's "Mix13" finaliser, i.e. output ``j`` (from 0) of SplitMix64 started
   at ``seed`` with increment ``gamma``. :func:`stream_from_key` turns a 63-bit key
   into ``seed = mix64(key)`` and ``gamma = mix_gamma(key + GOLDEN)``, the recipe of
   ``SplittableRandom.split`` (MurmurHash3's ``fmix64``, forced odd, with at least 24
   bit transitions). Streams of different keys therefore walk different Weyl
   sequences: they are not shifted copies of one sequence, so no two steps or runs
   ever share a run of draws (a 64-bit word may repeat by chance, as it would in a
   truly random stream).
2. **Box-Muller pairs** (Box & Muller, *Ann. Math. Statist.* 29, 1958). Normal ``c``
   belongs to pair ``m = c // 2``, made from the words ``a = w(2m)`` and
   ``b = w(2m + 1)``: the radius ``R = sqrt(-2 ln u)`` with ``u = float(a | 1) / 2^64``
   in (0, 1] (resolution 2^-64 near 0, so the radial tail is exact out to
   ``R = 9.4``; ``P(|Z| > 9.4) < 1e-20``), and the angle
   ``theta = (pi / 2) (quadrant + f) - pi / 4``, uniform on the circle, with the
   quadrant the top 2 bits of ``b`` and ``f`` its next 53 bits over 2^53. Then
   ``z(2m) = R cos(theta)`` and ``z(2m + 1) = R sin(theta)``: if the two uniforms
   are independent U(0, 1), the two normals are independent N(0, 1), exactly (up
   to the 2^-53 resolution of the uniforms).
3. **Vectorisable elementary functions.** ``cos`` and ``sin`` of
   ``phi = theta - quadrant pi / 2`` in ``[-pi/4, pi/4)`` by the minimax
   polynomials of fdlibm's ``__kernel_cos`` / ``__kernel_sin`` (no range reduction:
   the quadrant is a rotation by a multiple of pi/2, a swap and sign flips), and
   ``ln u`` as fdlibm's ``__ieee754_log`` (reduction to ``[sqrt(2)/2, sqrt(2))``
   through the bits of u, then ``2 atanh`` by its minimax polynomial). Each is
   accurate to about 1 ulp; the loop has integer and float arithmetic, register bit
   casts, one division and one square root per pair, and no branch.

``tests/reference.py`` holds the plain-numpy twin (uint64 arithmetic, ``np.log``,
``np.cos``, ``np.sin``); the two agree to a few ulp.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .bits import bits_of_float, float_from_bits

GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: SplitMix64's gamma
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)  # MurmurHash3 fmix64 (SplittableRandom)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_ALTERNATING = np.uint64(0xAAAAAAAAAAAAAAAA)
_S33 = np.uint64(33)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S62 = np.uint64(62)
_S52 = np.uint64(52)
_S11 = np.uint64(11)
_S2 = np.uint64(2)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)
_TWO_M64 = 2.0**-64
_TWO_M53 = 2.0**-53
_HALF_PI = np.pi / 2.0
_QUARTER_PI = np.pi / 4.0
KEY_HIGH = 9223372036854775807  # keys are rng.integers(0, KEY_HIGH)

# fdlibm __ieee754_log (k ln2_hi + ...) and its bit masks.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_MANT = np.uint64(0x000FFFFFFFFFFFFF)
_EXP_BIT = np.uint64(0x0010000000000000)
_ONE_BITS = np.uint64(0x3FF0000000000000)
_SQRT2_SHIFT = np.uint64(0x00095F6400000000)  # mantissa + this carries iff m > sqrt2
_EXP_MASK = np.uint64(0x7FF)

# fdlibm __kernel_sin / __kernel_cos on [-pi/4, pi/4].
_SIN1 = -1.66666666666666324348e-01
_SIN2 = 8.33333333332248946124e-03
_SIN3 = -1.98412698298579493134e-04
_SIN4 = 2.75573137070700676789e-06
_SIN5 = -2.50507602534068634195e-08
_SIN6 = 1.58969099521155010221e-10
_COS1 = 4.16666666666666019037e-02
_COS2 = -1.38888888888741095749e-03
_COS3 = 2.48015872894767294178e-05
_COS4 = -2.75573143513906633035e-07
_COS5 = 2.08757232129817482790e-09
_COS6 = -1.13596475577881948265e-11


@njit(cache=True)
def mix64(z):
    """SplitMix64's output function (Stafford's Mix13) of the uint64 ``z``."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(cache=True)
def mix_gamma(z):
    """An odd increment with at least 24 bit transitions from the uint64 ``z``
    (``SplittableRandom.mixGamma``: MurmurHash3's ``fmix64``, then ``| 1``)."""
    z = (z ^ (z >> _S33)) * _FMIX1
    z = (z ^ (z >> _S33)) * _FMIX2
    z = (z ^ (z >> _S33)) | _ONE
    v = z ^ (z >> _ONE)
    n = 0
    while v != _ZERO:
        v &= v - _ONE
        n += 1
    return z ^ _ALTERNATING if n < 24 else z


@njit(cache=True)
def draw_key(rng):
    """A fresh key from the numpy Generator ``rng``: ``rng.integers(0, KEY_HIGH)``,
    the same draw as in plain numpy."""
    return rng.integers(0, KEY_HIGH)


@njit(cache=True)
def stream_from_key(key):
    """The stream ``(seed, gamma)`` (two uint64) of a key in [0, 2^63)."""
    k = np.uint64(key)
    return mix64(k), mix_gamma(k + GOLDEN)


@njit(cache=True)
def new_scratch():
    """Scratch space for :func:`normal_block` (allocate once, reuse)."""
    return np.empty(2)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _pairs(seed, gamma, m0, n_pairs, out):
    """Pairs ``m0 .. m0 + n_pairs - 1`` into ``out[2 j]`` (``R cos``) and
    ``out[2 j + 1]`` (``R sin``) for pair ``m0 + j``: one branch-free SIMD loop."""
    sd = np.uint64(seed)
    gm = np.uint64(gamma)
    for j in range(n_pairs):
        m = np.uint64(m0 + j)
        a = mix64(sd + (m + m + _ONE) * gm)
        b = mix64(sd + (m + m + _S2) * gm)
        # Angle: quadrant from the top 2 bits of b, phi in [-pi/4, pi/4) from the
        # next 53; fdlibm's kernel polynomials, then a rotation by quadrant * pi/2.
        quad = b >> _S62
        f = np.float64((b << _S2) >> _S11) * _TWO_M53
        x = f * _HALF_PI - _QUARTER_PI
        z = x * x
        r = _SIN2 + z * (_SIN3 + z * (_SIN4 + z * (_SIN5 + z * _SIN6)))
        s = x + (z * x) * (_SIN1 + z * r)
        r = z * (
            _COS1 + z * (_COS2 + z * (_COS3 + z * (_COS4 + z * (_COS5 + z * _COS6))))
        )
        c = 1.0 - (0.5 * z - z * r)
        swap = (quad & _ONE) != 0
        first = s if swap else c
        second = c if swap else s
        cos_t = -first if ((quad + _ONE) & _S2) != 0 else first
        sin_t = -second if quad >= _S2 else second
        # Radius: ln u as fdlibm's __ieee754_log, u = 2^e (1 + f) with 1 + f in
        # [sqrt(2)/2, sqrt(2)), exponent and mantissa read from the bits of u.
        bits = bits_of_float(np.float64(a | _ONE) * _TWO_M64)
        mant = bits & _MANT
        carry = (mant + _SQRT2_SHIFT) & _EXP_BIT
        dk = np.float64(np.int64((bits >> _S52) & _EXP_MASK) - 1023) + np.float64(
            carry >> _S52
        )
        f = float_from_bits(mant | (carry ^ _ONE_BITS)) - 1.0
        hfsq = 0.5 * f * f
        s = f / (2.0 + f)
        z = s * s
        w = z * z
        t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
        t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
        log_u = dk * _LN2_HI - ((hfsq - (s * (hfsq + (t2 + t1)) + dk * _LN2_LO)) - f)
        rad = np.sqrt(-2.0 * log_u)
        out[2 * j] = cos_t * rad
        out[2 * j + 1] = sin_t * rad


@njit(cache=True)
def normal_block(seed, gamma, c0, out, scratch):
    """Fill ``out`` with the normals ``z(c0 + j)`` of the stream ``(seed, gamma)``.

    Parameters
    ----------
    seed, gamma : int
        The stream, from :func:`stream_from_key` (used as uint64).
    c0 : int
        Counter of ``out[0]`` (>= 0). Normal ``c`` is ``R cos(theta)`` of pair
        ``c // 2`` if ``c`` is even, ``R sin(theta)`` if odd.
    out : ndarray of float64
        1-D contiguous destination, any length.
    scratch : ndarray
        From :func:`new_scratch`.

    Notes
    -----
    Exact N(0, 1) draws, independent across counters and streams: Box-Muller on
    SplitMix64 words, see the module docstring. The value for a given ``(stream,
    c)`` does not depend on ``c0`` or on the length of ``out``: blocked and threaded
    use gives the same numbers as one call.
    """
    n = out.shape[0]
    done = 0
    if n > 0 and c0 & 1:
        _pairs(seed, gamma, c0 >> 1, 1, scratch)
        out[0] = scratch[1]
        done = 1
    if n - done >= 2:
        n_pairs = (n - done) >> 1
        _pairs(seed, gamma, (c0 + done) >> 1, n_pairs, out[done : done + 2 * n_pairs])
        done += 2 * n_pairs
    if done < n:
        _pairs(seed, gamma, (c0 + done) >> 1, 1, scratch)
        out[done] = scratch[0]
