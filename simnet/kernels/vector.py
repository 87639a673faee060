"""Small dense loops the kernels share: matrix-vector products, sums, maxima, exp.

Most of it is written with explicit 8-lane vectors (``<8 x double>`` in LLVM IR,
built with ``numba.extending.intrinsic``): multiply-adds (fused where the CPU has
FMA), masked loads and stores for the ragged ends and fixed trees for the horizontal
sums and maxima. LLVM lowers the vectors to whatever the CPU has (one AVX-512
register, two AVX registers, four SSE registers), and every summation order is
spelled out in the code, so the bits do not depend on the caller, on the inlining or
on the address of the arrays. No flag here assumes finite inputs: a NaN or infinity
propagates to a sum as it would in a plain loop. Against a plain left-to-right sum
the results differ by a few ulps (the property tests compare with numpy to 1e-12
relative).

The loops behind ``matvec`` and ``matvec_t`` take raw byte addresses, and the
kernels' inner loops call them that way (through
:func:`~simnet.kernels.common.ce_grad_at`): a call that passes arrays to a compiled
function costs an atomic reference-count increment and decrement per array, which a
step of the small SGD kernels cannot afford. ``update_row_dot`` and ``all_finite``
are inlined into their callers. ``total`` is the exception to the explicit order: it
allows reassociation, so LLVM sums in vector lanes in a fixed order per build.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic, models, register_model

_REASSOC = {"reassoc", "contract"}

# exp on [-708, 0]: range reduction by k ln2 (Cody-Waite split of ln2), then Cephes'
# exp.c rational form exp(r) = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)) on |r| <= ln2/2.
# Shared by the scalar exp_nonpositive_one (common.py) and exp_nonpositive8 (here).
LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
EXP_FLOOR = -708.0  # exp(-708) is still a normal float64
EXP_P = (
    1.26177193074810590878e-4,
    3.02994407707441961300e-2,
    9.99999999999999999910e-1,
)
EXP_Q = (
    3.00198505138664455042e-6,
    2.52448340349684104192e-3,
    2.27265548208155028766e-1,
    2.00000000000000000009e0,
)


@njit(cache=True, fastmath=_REASSOC)
def total(a):
    """``sum_q a[q]`` of a 1-D array (reassociation allowed here only: LLVM sums in
    vector lanes, a fixed order per build)."""
    acc = 0.0
    for q in range(a.shape[0]):
        acc += a[q]
    return acc


@njit(cache=True)
def maximum(a):
    """The largest entry of a non-empty 1-D array (NaN entries are skipped unless
    they come first).

    Four running maxima over the entries ``q = r (mod 4)``, then the largest of the
    four: the comparisons form four short chains instead of one long one, and the
    result is the same as a plain scan (the maximum does not depend on the order).
    """
    n = a.shape[0]
    m0 = a[0]
    m1 = m0
    m2 = m0
    m3 = m0
    n4 = n - n % 4
    for q in range(0, n4, 4):
        v0 = a[q]
        v1 = a[q + 1]
        v2 = a[q + 2]
        v3 = a[q + 3]
        m0 = v0 if v0 > m0 else m0
        m1 = v1 if v1 > m1 else m1
        m2 = v2 if v2 > m2 else m2
        m3 = v3 if v3 > m3 else m3
    for q in range(n4, n):
        v0 = a[q]
        m0 = v0 if v0 > m0 else m0
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    return m2 if m2 > m0 else m0


# --- 8-lane vectors ---------------------------------------------------------------
#
# ``f64x8`` is a numba type whose values are LLVM ``<8 x double>`` vectors. The kernels
# below address memory by raw byte addresses (``intp``), not by arrays, so that they
# carry no reference counting: the public functions take the addresses of their
# arrays once and pass plain integers on.

_F64 = ir.DoubleType()
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_V8 = ir.VectorType(_F64, 8)
_MASK8 = ir.VectorType(ir.IntType(1), 8)


class _F64x8(types.Type):
    def __init__(self):
        super().__init__(name="f64x8")


f64x8 = _F64x8()


@register_model(_F64x8)
class _F64x8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _V8)


def _splat(builder, x, vty):
    u = builder.insert_element(ir.Constant(vty, ir.Undefined), x, ir.Constant(_I32, 0))
    return builder.shuffle_vector(u, u, ir.Constant(ir.VectorType(_I32, 8), [0] * 8))


def _shuffle(builder, x, y, lanes):
    return builder.shuffle_vector(x, y, ir.Constant(ir.VectorType(_I32, 8), lanes))


def _vector_pointer(builder, address):
    return builder.inttoptr(address, _V8.as_pointer())


def _lane_mask(builder, col, n):
    """Lanes ``l`` with ``0 <= col + l < n``."""
    vty = ir.VectorType(_I64, 8)
    index = builder.add(_splat(builder, col, vty), ir.Constant(vty, list(range(8))))
    return builder.icmp_unsigned("<", index, _splat(builder, n, vty))


def _intrinsic_function(builder, name, ret, args):
    """Declare an LLVM intrinsic. The masked loads and stores use the form with an
    explicit alignment argument, which LLVM up to 21 requires and LLVM 22 (llvmlite
    0.50) upgrades when it parses the module; none of these is CPU-specific."""
    fnty = ir.FunctionType(ret, args)
    return cgutils.get_or_insert_function(builder.module, fnty, name)


@intrinsic
def address(typingctx, a):
    """The address of the first element of the array ``a``."""

    def codegen(context, builder, sig, args):
        arr = context.make_array(sig.args[0])(context, builder, args[0])
        return builder.ptrtoint(arr.data, _I64)

    return types.intp(a), codegen


@intrinsic
def vload(typingctx, p):
    """The 8 doubles at byte address ``p`` (no alignment needed)."""

    def codegen(context, builder, sig, args):
        return builder.load(_vector_pointer(builder, args[0]), align=8)

    return f64x8(types.intp), codegen


@intrinsic
def vload_masked(typingctx, p, col, n, fill):
    """The 8 doubles at ``p`` whose lanes ``l`` have ``0 <= col + l < n``, ``fill``
    in the other lanes (which are not read)."""

    def codegen(context, builder, sig, args):
        p, col, n, fill = args
        fn = _intrinsic_function(
            builder,
            "llvm.masked.load.v8f64.p0",
            _V8,
            [_V8.as_pointer(), _I32, _MASK8, _V8],
        )
        mask = _lane_mask(builder, col, n)
        passthru = _splat(builder, fill, _V8)
        ptr = _vector_pointer(builder, p)
        return builder.call(fn, [ptr, ir.Constant(_I32, 8), mask, passthru])

    return f64x8(types.intp, types.intp, types.intp, types.float64), codegen


@intrinsic
def vstore(typingctx, p, v):
    """Store the 8 lanes of ``v`` at byte address ``p``."""

    def codegen(context, builder, sig, args):
        builder.store(args[1], _vector_pointer(builder, args[0]), align=8)
        return context.get_dummy_value()

    return types.none(types.intp, f64x8), codegen


@intrinsic
def vstore_masked(typingctx, p, col, n, v):
    """Store the lanes ``l`` of ``v`` with ``0 <= col + l < n`` at ``p``."""

    def codegen(context, builder, sig, args):
        p, col, n, v = args
        fn = _intrinsic_function(
            builder,
            "llvm.masked.store.v8f64.p0",
            ir.VoidType(),
            [_V8, _V8.as_pointer(), _I32, _MASK8],
        )
        mask = _lane_mask(builder, col, n)
        builder.call(fn, [v, _vector_pointer(builder, p), ir.Constant(_I32, 8), mask])
        return context.get_dummy_value()

    return types.none(types.intp, types.intp, types.intp, f64x8), codegen


@intrinsic
def vbroadcast(typingctx, p):
    """The double at byte address ``p`` in all 8 lanes."""

    def codegen(context, builder, sig, args):
        x = builder.load(builder.inttoptr(args[0], _F64.as_pointer()), align=8)
        return _splat(builder, x, _V8)

    return f64x8(types.intp), codegen


@intrinsic
def store_double(typingctx, p, x):
    """Store the double ``x`` at byte address ``p``."""

    def codegen(context, builder, sig, args):
        builder.store(args[1], builder.inttoptr(args[0], _F64.as_pointer()), align=8)
        return context.get_dummy_value()

    return types.none(types.intp, types.float64), codegen


@intrinsic
def splat8(typingctx, x):
    """The double ``x`` in all 8 lanes."""

    def codegen(context, builder, sig, args):
        return _splat(builder, args[0], _V8)

    return f64x8(types.float64), codegen


@intrinsic
def zero8(typingctx):
    """8 lanes of +0.0."""

    def codegen(context, builder, sig, args):
        return ir.Constant(_V8, None)

    return f64x8(), codegen


@intrinsic
def fma8(typingctx, x, y, z):
    """``x * y + z`` lane by lane (``llvm.fmuladd``): one fused multiply-add, rounded
    once, on CPUs with FMA instructions (every x86-64 since 2013), a multiply and an
    add elsewhere. The choice is made per target, not per call site."""

    def codegen(context, builder, sig, args):
        fn = _intrinsic_function(builder, "llvm.fmuladd.v8f64", _V8, [_V8, _V8, _V8])
        return builder.call(fn, args)

    return f64x8(f64x8, f64x8, f64x8), codegen


def _lanewise(op: str, name: str, doc: str):
    """An intrinsic ``name(x, y)`` applying the IR instruction ``op`` lane by lane."""

    def template(typingctx, x, y):
        def codegen(context, builder, sig, args):
            return getattr(builder, op)(args[0], args[1])

        return f64x8(f64x8, f64x8), codegen

    template.__name__ = template.__qualname__ = name
    template.__doc__ = doc
    return intrinsic(template)


add8 = _lanewise("fadd", "add8", "``x + y`` lane by lane.")
sub8 = _lanewise("fsub", "sub8", "``x - y`` lane by lane.")
mul8 = _lanewise("fmul", "mul8", "``x * y`` lane by lane.")
div8 = _lanewise("fdiv", "div8", "``x / y`` lane by lane.")


@intrinsic
def max8(typingctx, x, y):
    """``x if x > y else y`` lane by lane (a NaN lane of ``x`` keeps ``y``)."""

    def codegen(context, builder, sig, args):
        above = builder.fcmp_ordered(">", args[0], args[1])
        return builder.select(above, args[0], args[1])

    return f64x8(f64x8, f64x8), codegen


@intrinsic
def hmax8(typingctx, v):
    """The largest lane of ``v`` (NaN lanes skipped unless all are NaN), by the tree
    of :func:`hsum8`."""

    def codegen(context, builder, sig, args):
        def vmax(x, y):
            return builder.select(builder.fcmp_ordered(">", x, y), x, y)

        x = args[0]
        t = vmax(x, _shuffle(builder, x, x, [4, 5, 6, 7, 0, 1, 2, 3]))
        u = vmax(t, _shuffle(builder, t, t, [2, 3, 0, 1, 6, 7, 4, 5]))
        lane0 = builder.extract_element(u, ir.Constant(_I32, 0))
        lane1 = builder.extract_element(u, ir.Constant(_I32, 1))
        return vmax(lane0, lane1)

    return types.float64(f64x8), codegen


@intrinsic
def zero_outside8(typingctx, v, col, n):
    """``v`` in the lanes ``l`` with ``0 <= col + l < n``, +0.0 in the others."""

    def codegen(context, builder, sig, args):
        v, col, n = args
        return builder.select(_lane_mask(builder, col, n), v, ir.Constant(_V8, None))

    return f64x8(f64x8, types.intp, types.intp), codegen


@intrinsic
def load_double(typingctx, p):
    """The double at byte address ``p``."""

    def codegen(context, builder, sig, args):
        return builder.load(builder.inttoptr(args[0], _F64.as_pointer()), align=8)

    return types.float64(types.intp), codegen


@intrinsic
def exp_nonpositive8(typingctx, v):
    """``exp`` of each lane of ``v`` (lanes <= 0: softmax terms), by the method of
    :func:`~simnet.kernels.common.exp_nonpositive_one` on a whole vector: reduction
    ``x = k ln2 + r`` (two-part ln2), Cephes' rational form on ``|r| <= ln2/2``,
    times ``2^k`` made from its bits; multiply-adds fused where the CPU has FMA.
    Lanes below -708 are raised to -708; NaN lanes stay NaN."""

    def codegen(context, builder, sig, args):
        def const(x):
            return ir.Constant(_V8, [x] * 8)

        fma = _intrinsic_function(builder, "llvm.fmuladd.v8f64", _V8, [_V8, _V8, _V8])
        rint = _intrinsic_function(builder, "llvm.rint.v8f64", _V8, [_V8])
        x = args[0]
        low = builder.fcmp_ordered("<", x, const(EXP_FLOOR))
        x = builder.select(low, const(EXP_FLOOR), x)
        k = builder.call(rint, [builder.fmul(x, const(LOG2E))])
        r = builder.call(fma, [k, const(-LN2_HI), x])
        r = builder.call(fma, [k, const(-LN2_LO), r])
        rr = builder.fmul(r, r)
        px = builder.call(fma, [const(EXP_P[0]), rr, const(EXP_P[1])])
        px = builder.fmul(r, builder.call(fma, [px, rr, const(EXP_P[2])]))
        q = builder.call(fma, [const(EXP_Q[0]), rr, const(EXP_Q[1])])
        q = builder.call(fma, [q, rr, const(EXP_Q[2])])
        q = builder.call(fma, [q, rr, const(EXP_Q[3])])
        ratio = builder.fdiv(px, builder.fsub(q, px))
        mant = builder.call(fma, [const(2.0), ratio, const(1.0)])
        # 2^k from the bits of k + 1023 + 1.5 * 2^52, whose low mantissa bits hold the
        # integer k + 1023: shifted up by 52 they are the exponent field of 2^k (no
        # float-to-integer conversion, which CPUs before AVX-512 do one lane at a time)
        vty = ir.VectorType(_I64, 8)
        biased = builder.bitcast(builder.fadd(k, const(1023.0 + 1.5 * 2.0**52)), vty)
        bits = builder.shl(biased, ir.Constant(vty, [52] * 8))
        return builder.fmul(mant, builder.bitcast(bits, _V8))

    return f64x8(f64x8), codegen


@intrinsic
def sqrt8(typingctx, v):
    """The square root of each lane."""

    def codegen(context, builder, sig, args):
        fn = _intrinsic_function(builder, "llvm.sqrt.v8f64", _V8, [_V8])
        return builder.call(fn, [args[0]])

    return f64x8(f64x8), codegen


@intrinsic
def indicator8(typingctx, v, x):
    """1.0 in the lanes where ``v == x``, 0.0 elsewhere."""

    def codegen(context, builder, sig, args):
        equal = builder.fcmp_ordered("==", args[0], _splat(builder, args[1], _V8))
        one = ir.Constant(_V8, [1.0] * 8)
        return builder.select(equal, one, ir.Constant(_V8, None))

    return f64x8(f64x8, types.float64), codegen


@intrinsic
def lane(typingctx, v, k):
    """Lane ``k`` (0 to 7) of ``v``."""

    def codegen(context, builder, sig, args):
        index = builder.trunc(args[1], _I32)
        return builder.extract_element(args[0], index)

    return types.float64(f64x8, types.intp), codegen


@intrinsic
def vload_int_masked(typingctx, p, col, n, fill):
    """The 8 int64 at byte address ``p`` whose lanes ``l`` have ``0 <= col + l < n``,
    converted to doubles; ``fill`` in the other lanes (which are not read)."""

    def codegen(context, builder, sig, args):
        p, col, n, fill = args
        ity = ir.VectorType(_I64, 8)
        fn = _intrinsic_function(
            builder,
            "llvm.masked.load.v8i64.p0",
            ity,
            [ity.as_pointer(), _I32, _MASK8, ity],
        )
        mask = _lane_mask(builder, col, n)
        ptr = builder.inttoptr(p, ity.as_pointer())
        full = builder.and_(
            builder.icmp_signed("==", col, ir.Constant(_I64, 0)),
            builder.icmp_signed(">=", n, ir.Constant(_I64, 8)),
        )
        # a plain load when every lane is wanted (no masked load to emulate)
        with builder.if_else(full) as (then, otherwise):
            with then:
                plain = builder.sitofp(builder.load(ptr, align=8), _V8)
                block_plain = builder.block
            with otherwise:
                got = builder.call(
                    fn, [ptr, ir.Constant(_I32, 8), mask, ir.Constant(ity, None)]
                )
                masked = builder.select(
                    mask, builder.sitofp(got, _V8), _splat(builder, fill, _V8)
                )
                block_masked = builder.block
        out = builder.phi(_V8)
        out.add_incoming(plain, block_plain)
        out.add_incoming(masked, block_masked)
        return out

    return f64x8(types.intp, types.intp, types.intp, types.float64), codegen


@intrinsic
def transpose8(typingctx, src, stride, rows, cols, dst):
    """Write the transpose of an up-to-8 x 8 block: row ``r < rows`` of the block is
    the ``cols`` (at most 8) doubles at byte address ``src + r * stride``; column
    ``c < cols`` of the block (eight doubles, zero for the rows past ``rows``) goes to
    ``dst + 64 c``. Three rounds of lane shuffles, no scalar moves."""

    def codegen(context, builder, sig, args):
        src, stride, rows, cols, dst = args
        load = _intrinsic_function(
            builder,
            "llvm.masked.load.v8f64.p0",
            _V8,
            [_V8.as_pointer(), _I32, _MASK8, _V8],
        )
        store = _intrinsic_function(
            builder,
            "llvm.masked.store.v8f64.p0",
            ir.VoidType(),
            [_V8, _V8.as_pointer(), _I32, _MASK8],
        )
        zero_i = ir.Constant(_I64, 0)
        col_mask = _lane_mask(builder, zero_i, cols)
        none = ir.Constant(_MASK8, [0] * 8)
        eight = ir.Constant(_I64, 8)
        full = builder.and_(
            builder.icmp_signed(">=", rows, eight),
            builder.icmp_signed(">=", cols, eight),
        )
        addresses = [
            builder.add(src, builder.mul(stride, ir.Constant(_I64, r)))
            for r in range(8)
        ]
        # plain loads for a full block (masked loads that miss the cache are slow)
        with builder.if_else(full) as (then, otherwise):
            with then:
                block = builder.block
                plain = [
                    builder.load(_vector_pointer(builder, a), align=8)
                    for a in addresses
                ]
            with otherwise:
                block_masked = builder.block
                masked = []
                for r in range(8):
                    here = builder.icmp_signed(">", rows, ir.Constant(_I64, r))
                    mask = builder.select(here, col_mask, none)
                    ptr = _vector_pointer(builder, addresses[r])
                    masked.append(
                        builder.call(
                            load,
                            [ptr, ir.Constant(_I32, 8), mask, ir.Constant(_V8, None)],
                        )
                    )
        v = []
        for r in range(8):
            phi = builder.phi(_V8)
            phi.add_incoming(plain[r], block)
            phi.add_incoming(masked[r], block_masked)
            v.append(phi)
        lo1, hi1 = [0, 8, 2, 10, 4, 12, 6, 14], [1, 9, 3, 11, 5, 13, 7, 15]
        t = []
        for i in range(0, 8, 2):
            t += [_shuffle(builder, v[i], v[i + 1], lo1)]
            t += [_shuffle(builder, v[i], v[i + 1], hi1)]
        lo2, hi2 = [0, 1, 8, 9, 4, 5, 12, 13], [2, 3, 10, 11, 6, 7, 14, 15]
        u = [None] * 8
        for base in (0, 4):
            u[base + 0] = _shuffle(builder, t[base + 0], t[base + 2], lo2)
            u[base + 2] = _shuffle(builder, t[base + 0], t[base + 2], hi2)
            u[base + 1] = _shuffle(builder, t[base + 1], t[base + 3], lo2)
            u[base + 3] = _shuffle(builder, t[base + 1], t[base + 3], hi2)
        lo3, hi3 = [0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]
        w = [None] * 8
        for c in range(4):
            w[c] = _shuffle(builder, u[c], u[c + 4], lo3)
            w[c + 4] = _shuffle(builder, u[c], u[c + 4], hi3)
        all_lanes = ir.Constant(_MASK8, [1] * 8)
        for c in range(8):
            here = builder.icmp_signed(">", cols, ir.Constant(_I64, c))
            mask = builder.select(here, all_lanes, none)
            address = builder.add(dst, ir.Constant(_I64, 64 * c))
            builder.call(
                store,
                [w[c], _vector_pointer(builder, address), ir.Constant(_I32, 8), mask],
            )
        return context.get_dummy_value()

    return types.none(
        types.intp, types.intp, types.intp, types.intp, types.intp
    ), codegen


@intrinsic
def has_wide_registers(typingctx):
    """Whether the compile target has 32 registers of 512 bits (AVX-512), enough to
    keep four 8-lane sums and their four partial sums without spilling."""

    def codegen(context, builder, sig, args):
        features = context.codegen().magic_tuple()[2].split(",")
        return ir.Constant(ir.IntType(1), int("+avx512f" in features))

    return types.boolean(), codegen


@intrinsic
def has_masked_vectors(typingctx):
    """Whether the compile target has hardware masked vector loads and stores (x86
    AVX and later). Elsewhere (SSE-only x86, ARM NEON) LLVM splits them into scalar
    code, and the plain loops are faster."""

    def codegen(context, builder, sig, args):
        features = context.codegen().magic_tuple()[2].split(",")
        return ir.Constant(ir.IntType(1), int("+avx" in features))

    return types.boolean(), codegen


@intrinsic
def hsum8(typingctx, v):
    """The lanes of ``v`` summed as ``((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 +
    v7))``: pairs four lanes apart, then two apart, then neighbours. Rotating the
    lanes of ``v`` does not change the result (addition commutes)."""

    def codegen(context, builder, sig, args):
        x = args[0]
        t = builder.fadd(x, _shuffle(builder, x, x, [4, 5, 6, 7, 0, 1, 2, 3]))
        u = builder.fadd(t, _shuffle(builder, t, t, [2, 3, 0, 1, 6, 7, 4, 5]))
        lane0 = builder.extract_element(u, ir.Constant(_I32, 0))
        lane1 = builder.extract_element(u, ir.Constant(_I32, 1))
        return builder.fadd(lane0, lane1)

    return types.float64(f64x8), codegen


@intrinsic
def hsum8x8(typingctx, v0, v1, v2, v3, v4, v5, v6, v7):
    """The vector whose lane ``k`` is ``hsum8(vk)``, in the same order, by a transposing
    tree of shuffles (three rounds of adds instead of eight horizontal sums)."""

    def codegen(context, builder, sig, args):
        # The tree leaves the sum of input i in lane bitreverse(i): feed it reversed.
        w = [args[k] for k in (0, 4, 2, 6, 1, 5, 3, 7)]
        rounds = (
            ([0, 1, 2, 3, 8, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]),  # lanes 4 apart
            ([0, 1, 8, 9, 4, 5, 12, 13], [2, 3, 10, 11, 6, 7, 14, 15]),  # 2 apart
            ([0, 8, 2, 10, 4, 12, 6, 14], [1, 9, 3, 11, 5, 13, 7, 15]),  # neighbours
        )
        for lo, hi in rounds:
            w = [
                builder.fadd(
                    _shuffle(builder, w[i], w[i + 1], lo),
                    _shuffle(builder, w[i], w[i + 1], hi),
                )
                for i in range(0, len(w), 2)
            ]
        return w[0]

    return f64x8(*([f64x8] * 8)), codegen


# --- matrix-vector products ---------------------------------------------------------

# Rows at least this long (and a multiple of 8 doubles, 64-byte lines) are read in
# 64-byte-aligned pieces; shorter rows are read from their first element on.
_ALIGNED_MIN_COLUMNS = 40


@njit(cache=True, inline="always")
def line_offset(pa, lda, n):
    """``s`` such that reading rows of ``n`` doubles at address ``pa`` + multiples of
    ``lda`` from column ``-s`` in steps of 8 makes every load 64-byte aligned, or 0 if
    that fails for some row (or does not pay)."""
    if n % 8 != 0 or n < _ALIGNED_MIN_COLUMNS or pa % 8 != 0 or lda % 64 != 0:
        return 0
    return (pa // 8) % 8


@njit(cache=True, inline="always")
def _largest(a):
    """The largest entry of the 1-D ``a``, skipping NaN entries (``-inf`` if none)."""
    top = -np.inf
    for q in range(a.shape[0]):
        v = a[q]
        top = v if v > top else top
    return top


@njit(cache=True)
def matvec_rows_at(pa, lda, pb, pout, m, n, s):
    """``out = a @ b`` on raw addresses (``lda``: bytes between rows of ``a``); the
    columns are read in 8-wide pieces starting at column ``-s``. Returns the largest
    entry of ``out`` (NaN entries skipped; ``-inf`` if none), taken in registers as
    the entries are made."""
    if m < 8:
        top = -np.inf
        for j in range(m):
            pr = pa + j * lda
            acc = zero8()
            col = -s
            if s > 0 or n < 8:
                av = vload_masked(pr + 8 * col, col, n, 0.0)
                acc = fma8(av, vload_masked(pb + 8 * col, col, n, -0.0), acc)
                col += 8
            while col + 8 <= n:
                acc = fma8(vload(pr + 8 * col), vload(pb + 8 * col), acc)
                col += 8
            if col < n:
                av = vload_masked(pr + 8 * col, col, n, 0.0)
                acc = fma8(av, vload_masked(pb + 8 * col, col, n, -0.0), acc)
            v = hsum8(acc)
            store_double(pout + 8 * j, v)
            top = v if v > top else top
        return top
    top8 = splat8(-np.inf)
    j = 0
    while True:
        j = min(j, m - 8)  # the last block may overlap the previous one
        pj = pa + j * lda
        s0 = zero8()
        s1 = zero8()
        s2 = zero8()
        s3 = zero8()
        s4 = zero8()
        s5 = zero8()
        s6 = zero8()
        s7 = zero8()
        col = -s
        if s > 0 or n < 8:
            bq = vload_masked(pb + 8 * col, col, n, -0.0)
            p = pj + 8 * col
            s0 = fma8(vload_masked(p, col, n, 0.0), bq, s0)
            s1 = fma8(vload_masked(p + lda, col, n, 0.0), bq, s1)
            s2 = fma8(vload_masked(p + 2 * lda, col, n, 0.0), bq, s2)
            s3 = fma8(vload_masked(p + 3 * lda, col, n, 0.0), bq, s3)
            s4 = fma8(vload_masked(p + 4 * lda, col, n, 0.0), bq, s4)
            s5 = fma8(vload_masked(p + 5 * lda, col, n, 0.0), bq, s5)
            s6 = fma8(vload_masked(p + 6 * lda, col, n, 0.0), bq, s6)
            s7 = fma8(vload_masked(p + 7 * lda, col, n, 0.0), bq, s7)
            col += 8
        while col + 8 <= n:
            bq = vload(pb + 8 * col)
            p = pj + 8 * col
            s0 = fma8(vload(p), bq, s0)
            s1 = fma8(vload(p + lda), bq, s1)
            s2 = fma8(vload(p + 2 * lda), bq, s2)
            s3 = fma8(vload(p + 3 * lda), bq, s3)
            s4 = fma8(vload(p + 4 * lda), bq, s4)
            s5 = fma8(vload(p + 5 * lda), bq, s5)
            s6 = fma8(vload(p + 6 * lda), bq, s6)
            s7 = fma8(vload(p + 7 * lda), bq, s7)
            col += 8
        if col < n:
            bq = vload_masked(pb + 8 * col, col, n, -0.0)
            p = pj + 8 * col
            s0 = fma8(vload_masked(p, col, n, 0.0), bq, s0)
            s1 = fma8(vload_masked(p + lda, col, n, 0.0), bq, s1)
            s2 = fma8(vload_masked(p + 2 * lda, col, n, 0.0), bq, s2)
            s3 = fma8(vload_masked(p + 3 * lda, col, n, 0.0), bq, s3)
            s4 = fma8(vload_masked(p + 4 * lda, col, n, 0.0), bq, s4)
            s5 = fma8(vload_masked(p + 5 * lda, col, n, 0.0), bq, s5)
            s6 = fma8(vload_masked(p + 6 * lda, col, n, 0.0), bq, s6)
            s7 = fma8(vload_masked(p + 7 * lda, col, n, 0.0), bq, s7)
        sums = hsum8x8(s0, s1, s2, s3, s4, s5, s6, s7)
        vstore(pout + 8 * j, sums)
        top8 = max8(sums, top8)
        if j == m - 8:
            return hmax8(top8)
        j += 8


@njit(cache=True, fastmath=_REASSOC)
def matvec(a, b, out):
    """``out = a @ b`` for a C-contiguous 2-D ``a`` of shape (m, n) and ``b`` (n,).

    Summation order, fixed by the code: each ``out[j]`` is the sum of eight lane sums,
    lane ``c`` accumulating ``a[j, q] * b[q]`` for the columns ``q = c (mod 8)`` in
    increasing order with fused multiply-adds from +0.0; the lanes are then added as
    ``((c0 + c4) + (c2 + c6)) + ((c1 + c5) + (c3 + c7))`` (:func:`hsum8`).

    Rows are taken eight at a time (the last block may overlap the one before), so
    every 8-wide load of ``b`` serves eight rows, and the eight sums are reduced
    together (:func:`hsum8x8`). Rows that fill whole 64-byte lines are read in
    aligned pieces: the lane holding class ``c`` is then rotated, which the lane tree
    does not see, so the bits do not depend on the address of ``a``. Columns outside
    ``[0, n)`` are masked and add ``0 * -0 = -0``, which leaves every sum unchanged.
    Arrays with gaps between elements take a plain scalar loop, and CPUs without
    AVX-512 four-row blocks of LLVM-vectorised dot products (eight would spill).

    Returns the largest entry of ``out`` (NaN entries skipped; ``-inf`` if there is
    none), taken in registers as the sums are made: a softmax needs it next.
    """
    m, n = a.shape
    if a.strides[1] != 8 or b.strides[0] != 8 or out.strides[0] != 8:
        for j in range(m):  # arrays with gaps: a plain loop, not the order above
            acc = 0.0
            for q in range(n):
                acc += a[j, q] * b[q]
            out[j] = acc
        return _largest(out)
    if not (has_wide_registers() and has_masked_vectors()):
        # CPUs with fewer or narrower vector registers, where eight-row blocks spill:
        # four rows at a time, dot products vectorised by LLVM (reassociation allowed
        # in this function only; the explicit-vector path has no such flag)
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
        return _largest(out)
    pa = address(a)
    lda = a.strides[0]
    return matvec_rows_at(
        pa, lda, address(b), address(out), m, n, line_offset(pa, lda, n)
    )


@njit(cache=True)
def matvec_t_cols_at(pa, lda, pb, pout, m, n, s):
    """``out = a.T @ b`` on raw addresses, columns read in 8-wide pieces from ``-s``
    in blocks of 32 columns (40 when exactly five pieces are left, as for rows of 64
    that start mid-line; only 16 if the CPU has no 512-bit registers), then 16 and 8,
    each summed over all rows in registers (see :func:`matvec_t` for the order, which
    the blocking does not change)."""
    wide = has_wide_registers()
    col = -s
    while wide and col + 24 < n:
        if col + 32 < n <= col + 40:  # five pieces left: one pass, not 4 + 1
            s0 = zero8()
            s1 = zero8()
            s2 = zero8()
            s3 = zero8()
            s4 = zero8()
            top = m
            while top > 0:
                bot = max(top - 8, 0)
                j = top - 1
                p = pa + j * lda + 8 * col
                bj = vbroadcast(pb + 8 * j)
                t0 = mul8(vload_masked(p, col, n, 0.0), bj)
                t1 = mul8(vload_masked(p + 64, col + 8, n, 0.0), bj)
                t2 = mul8(vload_masked(p + 128, col + 16, n, 0.0), bj)
                t3 = mul8(vload_masked(p + 192, col + 24, n, 0.0), bj)
                t4 = mul8(vload_masked(p + 256, col + 32, n, 0.0), bj)
                for j in range(top - 2, bot - 1, -1):
                    p = pa + j * lda + 8 * col
                    bj = vbroadcast(pb + 8 * j)
                    t0 = fma8(vload_masked(p, col, n, 0.0), bj, t0)
                    t1 = fma8(vload_masked(p + 64, col + 8, n, 0.0), bj, t1)
                    t2 = fma8(vload_masked(p + 128, col + 16, n, 0.0), bj, t2)
                    t3 = fma8(vload_masked(p + 192, col + 24, n, 0.0), bj, t3)
                    t4 = fma8(vload_masked(p + 256, col + 32, n, 0.0), bj, t4)
                s0 = add8(s0, t0)
                s1 = add8(s1, t1)
                s2 = add8(s2, t2)
                s3 = add8(s3, t3)
                s4 = add8(s4, t4)
                top = bot
            q = pout + 8 * col
            vstore_masked(q, col, n, s0)
            vstore_masked(q + 64, col + 8, n, s1)
            vstore_masked(q + 128, col + 16, n, s2)
            vstore_masked(q + 192, col + 24, n, s3)
            vstore_masked(q + 256, col + 32, n, s4)
            col += 40
        else:
            s0 = zero8()
            s1 = zero8()
            s2 = zero8()
            s3 = zero8()
            top = m
            while top > 0:
                bot = max(top - 8, 0)
                j = top - 1
                p = pa + j * lda + 8 * col
                bj = vbroadcast(pb + 8 * j)
                t0 = mul8(vload_masked(p, col, n, 0.0), bj)
                t1 = mul8(vload_masked(p + 64, col + 8, n, 0.0), bj)
                t2 = mul8(vload_masked(p + 128, col + 16, n, 0.0), bj)
                t3 = mul8(vload_masked(p + 192, col + 24, n, 0.0), bj)
                for j in range(top - 2, bot - 1, -1):
                    p = pa + j * lda + 8 * col
                    bj = vbroadcast(pb + 8 * j)
                    t0 = fma8(vload_masked(p, col, n, 0.0), bj, t0)
                    t1 = fma8(vload_masked(p + 64, col + 8, n, 0.0), bj, t1)
                    t2 = fma8(vload_masked(p + 128, col + 16, n, 0.0), bj, t2)
                    t3 = fma8(vload_masked(p + 192, col + 24, n, 0.0), bj, t3)
                s0 = add8(s0, t0)
                s1 = add8(s1, t1)
                s2 = add8(s2, t2)
                s3 = add8(s3, t3)
                top = bot
            q = pout + 8 * col
            vstore_masked(q, col, n, s0)
            vstore_masked(q + 64, col + 8, n, s1)
            vstore_masked(q + 128, col + 16, n, s2)
            vstore_masked(q + 192, col + 24, n, s3)
            col += 32
    while col + 8 < n:
        s0 = zero8()
        s1 = zero8()
        top = m
        while top > 0:
            bot = max(top - 8, 0)
            j = top - 1
            p = pa + j * lda + 8 * col
            bj = vbroadcast(pb + 8 * j)
            t0 = mul8(vload_masked(p, col, n, 0.0), bj)
            t1 = mul8(vload_masked(p + 64, col + 8, n, 0.0), bj)
            for j in range(top - 2, bot - 1, -1):
                p = pa + j * lda + 8 * col
                bj = vbroadcast(pb + 8 * j)
                t0 = fma8(vload_masked(p, col, n, 0.0), bj, t0)
                t1 = fma8(vload_masked(p + 64, col + 8, n, 0.0), bj, t1)
            s0 = add8(s0, t0)
            s1 = add8(s1, t1)
            top = bot
        q = pout + 8 * col
        vstore_masked(q, col, n, s0)
        vstore_masked(q + 64, col + 8, n, s1)
        col += 16
    if col < n:
        s0 = zero8()
        top = m
        while top > 0:
            bot = max(top - 8, 0)
            j = top - 1
            p = pa + j * lda + 8 * col
            t0 = mul8(vload_masked(p, col, n, 0.0), vbroadcast(pb + 8 * j))
            for j in range(top - 2, bot - 1, -1):
                p = pa + j * lda + 8 * col
                t0 = fma8(vload_masked(p, col, n, 0.0), vbroadcast(pb + 8 * j), t0)
            s0 = add8(s0, t0)
            top = bot
        vstore_masked(pout + 8 * col, col, n, s0)


@njit(cache=True)
def matvec_t(a, b, out):
    """``out = a.T @ b`` for a C-contiguous 2-D ``a`` of shape (m, n) and ``b`` (m,).

    Summation order, fixed by the code: the rows are cut into groups of eight from
    the top (``[m - 8, m)``, ``[m - 16, m - 8)``, ..., the lowest group may be
    shorter); within a group ``t = a[j, q] * b[j]`` for its highest row ``j``, then
    ``t = fma(a[j, q], b[j], t)`` for the rows below it, downwards; and
    ``out[q] = ((0 + t_top) + t_next) + ...``, group after group from the top.

    Reads ``a`` row by row, like :func:`matvec`, so a caller needs no transposed copy,
    and from the last row up, so that right after :func:`matvec` (which ends there)
    the first rows it reads are still in cache. Columns are handled in blocks of up
    to 40, each kept in registers over all rows (:func:`matvec_t_cols_at`); the chains
    within groups of eight rows are independent, so they overlap. Rows that fill
    whole 64-byte lines are read in aligned pieces; each column's sum is the same
    whichever lane or block it lands in, so the bits do not depend on the address of
    ``a`` (nor on the CPU's register width, up to the fused multiply-adds of
    :func:`fma8`). Arrays with gaps between elements take a plain scalar loop, and
    CPUs without masked vector loads plain loops over eight rows at a time.
    """
    m, n = a.shape
    if not has_masked_vectors():
        # no hardware masked loads (SSE-only x86, ARM): out += b[j] a[j], eight rows
        # at a time summed as pairs, then pairs of pairs, vectorised along the rows
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
        return
    if a.strides[1] != 8 or b.strides[0] != 8 or out.strides[0] != 8:
        for q in range(n):  # arrays with gaps: a plain loop, not the order above
            out[q] = 0.0
        for j in range(m - 1, -1, -1):
            for q in range(n):
                out[q] += a[j, q] * b[j]
        return
    pa = address(a)
    lda = a.strides[0]
    matvec_t_cols_at(pa, lda, address(b), address(out), m, n, line_offset(pa, lda, n))


@njit(cache=True, inline="always")
def update_row_dot(a, i, b, j, keep, step):
    """``a[i] <- keep * a[i] - step * b[j]`` in one pass over the rows (2-D arrays
    with the same number of columns); return ``<old a[i], b[j]>``.

    The update of each entry is ``fma(b, -step, keep * a)``; the dot product is
    summed in eight lanes (columns ``q = c (mod 8)`` upwards) reduced as in
    :func:`hsum8`. Inlined into the caller (no call, no reference counting). Rows
    with gaps, or CPUs without masked vector loads, take a plain loop (summed left
    to right).
    """
    n = a.shape[1]
    if not has_masked_vectors() or a.strides[1] != 8 or b.strides[1] != 8:
        dot = 0.0
        for q in range(n):
            old = a[i, q]
            dot += old * b[j, q]
            a[i, q] = keep * old - step * b[j, q]
        return dot
    pa = address(a) + i * a.strides[0]
    pb = address(b) + j * b.strides[0]
    keep8 = splat8(keep)
    minus_step8 = splat8(-step)
    acc = zero8()
    col = 0
    while col + 8 <= n:
        old = vload(pa + 8 * col)
        g = vload(pb + 8 * col)
        acc = fma8(old, g, acc)
        vstore(pa + 8 * col, fma8(g, minus_step8, mul8(keep8, old)))
        col += 8
    if col < n:
        old = vload_masked(pa + 8 * col, col, n, 0.0)
        g = vload_masked(pb + 8 * col, col, n, 0.0)
        acc = fma8(old, g, acc)
        vstore_masked(pa + 8 * col, col, n, fma8(g, minus_step8, mul8(keep8, old)))
    return hsum8(acc)


@njit(cache=True, inline="always")
def all_finite(a):
    """True if every entry of the 1-D array ``a`` is finite.

    ``a[q] * 0.0`` is 0 for finite entries and NaN for NaN or infinite ones; their sum
    (eight lanes, no branch per entry) is 0 exactly when all are finite. Inlined into
    the caller; arrays with gaps, or CPUs without masked vector loads, take a plain
    loop.
    """
    n = a.shape[0]
    if not has_masked_vectors() or a.strides[0] != 8:
        probe = 0.0
        for q in range(n):
            probe += a[q] * 0.0
        return probe == 0.0
    pa = address(a)
    zero = zero8()
    acc = zero8()
    col = 0
    while col + 8 <= n:
        acc = fma8(vload(pa + 8 * col), zero, acc)
        col += 8
    if col < n:
        acc = fma8(vload_masked(pa + 8 * col, col, n, 0.0), zero, acc)
    return hsum8(acc) == 0.0
