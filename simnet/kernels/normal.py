"""A counter-based, vectorisable, parallel generator of exact N(0, 1) draws.

Numba's (and numpy's) ``Generator.standard_normal`` is a serial stream: each draw
depends on every draw before it, so it can neither be split across threads nor
vectorised. Here every draw has an address instead: normal number ``c`` of a stream
is a pure function ``z(stream, c)``, computed eight pairs at a time in explicit
8-lane vectors (:func:`box_muller8`; one AVX-512 register, two AVX2 ones). The SDE
kernel derives one stream per step from a key
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
   accurate to about 1 ulp; the code has integer and float arithmetic, register
   bit casts, one division and one square root per pair, and no branch.

:func:`normal_block` fills an array; the SDE kernel also calls :func:`box_muller8`
directly, so that the normals of a particle never leave the registers. Both give the
same bits for the same counter.

``tests/reference.py`` holds the plain-numpy twin (uint64 arithmetic, ``np.log``,
``np.cos``, ``np.sin``); the two agree to a few ulp.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import types
from numba.extending import intrinsic

from .vector import (
    _I64,
    _V8,
    _intrinsic_function,
    _shuffle,
    _splat,
    address,
    f64x8,
    vstore,
    vstore_masked,
)

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
_ONE = np.uint64(1)
_ZERO = np.uint64(0)
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


_ONE64 = ir.Constant(_I64, 1)


def _i64(x) -> int:
    """The uint64 constant ``x`` as the signed value of an LLVM i64."""
    x = int(x)
    return x - (1 << 64) if x >= 1 << 63 else x


@intrinsic
def box_muller8(typingctx, seed, gamma, m0):
    """The pairs ``m0 .. m0 + 7`` of the stream ``(seed, gamma)`` as two vectors:
    lane ``l`` of the first holds ``z(2 (m0 + l)) = R cos(theta)``, lane ``l`` of
    the second ``z(2 (m0 + l) + 1) = R sin(theta)``.

    The method of the module docstring written on eight lanes (64-bit integer
    lanes for the words, branch-free selects for the quadrant), multiply-adds fused
    where the CPU has FMA. The powers of two that scale the words to (0, 1] are
    folded into the constants and the exponent, which changes no bit.
    """
    if not all(isinstance(t, types.Integer) for t in (seed, gamma, m0)):
        return None
    sig = types.UniTuple(f64x8, 2)(seed, gamma, m0)

    def codegen(context, builder, signature, args):
        vi = ir.VectorType(_I64, 8)
        fma_fn = _intrinsic_function(
            builder, "llvm.fmuladd.v8f64", _V8, [_V8, _V8, _V8]
        )
        sqrt_fn = _intrinsic_function(builder, "llvm.sqrt.v8f64", _V8, [_V8])

        def ci(x):
            return ir.Constant(vi, [_i64(x)] * 8)

        def cf(x):
            return ir.Constant(_V8, [float(x)] * 8)

        def fma(x, y, z):
            return builder.call(fma_fn, [x, y, z])

        def horner(z, coefs):  # coefs[0] + z (coefs[1] + z (... + z coefs[-1]))
            acc = cf(coefs[-1])
            for c in reversed(coefs[:-1]):
                acc = fma(z, acc, cf(c))
            return acc

        def mix64_lanes(z):
            z = builder.mul(builder.xor(z, builder.lshr(z, ci(30))), ci(_MIX1))
            z = builder.mul(builder.xor(z, builder.lshr(z, ci(27))), ci(_MIX2))
            return builder.xor(z, builder.lshr(z, ci(31)))

        # Words 2 m + 1 and 2 m + 2 of the Weyl sequence, m = m0 + lane: one scalar
        # product for the first lane, lane offsets 2 l gamma that a loop hoists.
        seed_, gamma_, m0_ = (
            context.cast(builder, args[i], signature.args[i], types.uint64)
            for i in range(3)
        )
        first = builder.add(
            seed_, builder.mul(builder.add(builder.add(m0_, m0_), _ONE64), gamma_)
        )
        gm = _splat(builder, gamma_, vi)
        steps = builder.mul(gm, ir.Constant(vi, [2 * lane for lane in range(8)]))
        weyl = builder.add(_splat(builder, first, vi), steps)
        a = mix64_lanes(weyl)
        b = mix64_lanes(builder.add(weyl, gm))
        # Angle: quadrant from the top 2 bits of b, phi in [-pi/4, pi/4) from the next
        # 53; fdlibm's kernel polynomials, then a rotation by quadrant * pi/2.
        quad = builder.lshr(b, ci(62))
        f = builder.uitofp(builder.lshr(builder.shl(b, ci(2)), ci(11)), _V8)
        x = fma(f, cf(_TWO_M53 * _HALF_PI), cf(-_QUARTER_PI))
        z = builder.fmul(x, x)
        r = horner(z, [_SIN2, _SIN3, _SIN4, _SIN5, _SIN6])
        sin_x = fma(builder.fmul(z, x), fma(z, r, cf(_SIN1)), x)
        r = builder.fmul(z, horner(z, [_COS1, _COS2, _COS3, _COS4, _COS5, _COS6]))
        half_z = builder.fmul(cf(0.5), z)
        cos_x = builder.fsub(cf(1.0), builder.fsub(half_z, builder.fmul(z, r)))
        zero = ci(0)
        swap = builder.icmp_unsigned("!=", builder.and_(quad, ci(1)), zero)
        first = builder.select(swap, sin_x, cos_x)
        second = builder.select(swap, cos_x, sin_x)
        odd_half = builder.and_(builder.add(quad, ci(1)), ci(2))
        flip_cos = builder.icmp_unsigned("!=", odd_half, zero)
        cos_t = builder.select(flip_cos, builder.fneg(first), first)
        flip_sin = builder.icmp_unsigned(">=", quad, ci(2))
        sin_t = builder.select(flip_sin, builder.fneg(second), second)
        # Radius: ln u as fdlibm's __ieee754_log, u = (a | 1) / 2^64 = 2^e (1 + f)
        # with 1 + f in [sqrt(2)/2, sqrt(2)); the 2^-64 goes into the exponent.
        bits = builder.bitcast(builder.uitofp(builder.or_(a, ci(1)), _V8), vi)
        mant = builder.and_(bits, ci(_MANT))
        carry = builder.and_(builder.add(mant, ci(_SQRT2_SHIFT)), ci(_EXP_BIT))
        biased = builder.and_(builder.lshr(bits, ci(52)), ci(_EXP_MASK))
        k = builder.add(builder.sub(biased, ci(1023 + 64)), builder.lshr(carry, ci(52)))
        dk = builder.sitofp(k, _V8)
        one_plus_f = builder.or_(mant, builder.xor(carry, ci(_ONE_BITS)))
        f = builder.fsub(builder.bitcast(one_plus_f, _V8), cf(1.0))
        s = builder.fdiv(f, builder.fadd(cf(2.0), f))
        z = builder.fmul(s, s)
        w = builder.fmul(z, z)
        # -2 ln u directly: fdlibm's terms each times 2 (hfsq = f^2 / 2 becomes f^2,
        # the polynomials get doubled coefficients), exact scalings that change no bit
        # of the result and save two products.
        f2 = builder.fmul(f, f)
        t1 = builder.fmul(w, horner(w, [2.0 * c for c in (_LG2, _LG4, _LG6)]))
        t2 = builder.fmul(z, horner(w, [2.0 * c for c in (_LG1, _LG3, _LG5, _LG7)]))
        low = fma(
            s, builder.fadd(f2, builder.fadd(t2, t1)), builder.fmul(dk, cf(2 * _LN2_LO))
        )
        tail = builder.fsub(builder.fsub(f2, low), builder.fadd(f, f))
        rad = builder.call(sqrt_fn, [fma(dk, cf(-2.0 * _LN2_HI), tail)])
        pair = [builder.fmul(cos_t, rad), builder.fmul(sin_t, rad)]
        return context.make_tuple(builder, signature.return_type, pair)

    return sig, codegen


@intrinsic
def interleave8(typingctx, c, s):
    """The lanes ``c0 s0 c1 s1 c2 s2 c3 s3`` and ``c4 s4 ... c7 s7`` of two vectors:
    from :func:`box_muller8`, the normals ``2 m0 .. 2 m0 + 15`` in counter order."""
    if c != f64x8 or s != f64x8:
        return None
    sig = types.UniTuple(f64x8, 2)(c, s)

    def codegen(context, builder, signature, args):
        lo = _shuffle(builder, args[0], args[1], [0, 8, 1, 9, 2, 10, 3, 11])
        hi = _shuffle(builder, args[0], args[1], [4, 12, 5, 13, 6, 14, 7, 15])
        return context.make_tuple(builder, signature.return_type, [lo, hi])

    return sig, codegen


@njit(cache=True)
def _pairs(seed, gamma, m0, n_pairs, out):
    """Pairs ``m0 .. m0 + n_pairs - 1`` into ``out[2 j]`` (``R cos``) and
    ``out[2 j + 1]`` (``R sin``) for pair ``m0 + j``: eight pairs per
    :func:`box_muller8`, the last eight stored masked. ``out`` is contiguous."""
    po = address(out)
    n = 2 * n_pairs
    for g in range(0, n_pairs, 8):
        lo, hi = interleave8(*box_muller8(seed, gamma, m0 + g))
        at = po + 16 * g
        if 2 * g + 16 <= n:
            vstore(at, lo)
            vstore(at + 64, hi)
        else:
            vstore_masked(at, 2 * g, n, lo)
            vstore_masked(at + 64, 2 * g + 8, n, hi)


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
    if n > 1 and out.strides[0] != 8:  # written by address, eight lanes at a time
        raise ValueError("normal_block: out must be contiguous")
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
