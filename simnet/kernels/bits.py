"""Bit casts between float64 and 64-bit integers for numba kernels.

Numba has no scalar ``view``; these intrinsics emit a plain LLVM ``bitcast`` (no
memory round trip), so loops that use them still vectorise.
"""

from __future__ import annotations

from numba import types
from numba.extending import intrinsic


@intrinsic
def float_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 or uint64 ``bits``."""
    if bits not in (types.int64, types.uint64):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(bits), codegen


@intrinsic
def bits_of_float(typingctx, value):
    """The IEEE-754 bit pattern of the float64 ``value``, as a uint64."""
    if value != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.uint64))

    return types.uint64(value), codegen
