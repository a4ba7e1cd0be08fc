"""The XLA FFI handler of :func:`lapicque._kernels.event.event_csr_matvec`, compiled by numba (imported lazily).

``handler`` is a numba ``cfunc`` with the C signature of an XLA FFI handler,
``XLA_FFI_Error* handler(XLA_FFI_CallFrame*)`` (returned here as an int64:
0 is success).  It reads the call frame with the layouts of
``xla/ffi/api/c_api.h`` (64-bit; every field below is 8 bytes or padded to 8):

* ``XLA_FFI_CallFrame``: struct_size, extension_start, api, ctx, stage,
  args{struct_size, ext, size, types, args}, rets{struct_size, ext, size, types, rets}
  -> the words used are 1, 2, 7, 9, 12, 14;
* ``XLA_FFI_Buffer``: struct_size, ext, dtype, data, rank, dims -> words 2..5;
* ``XLA_FFI_Extension_Base`` (``XLA_FFI_InternalExtension`` from API 0.5 on,
  same fields): struct_size, type, next; the metadata extension adds a
  pointer to ``XLA_FFI_Metadata`` (word 3), whose api_version major/minor are
  int32 slots 6 and 7 and traits slot 8;
* ``XLA_FFI_Api``: struct_size, ext, api_version{struct_size, ext, major,
  minor} (major/minor: int32 slots 8 and 9), internal_api,
  ``XLA_FFI_Error_Create`` (word 6), whose argument struct is
  {struct_size, ext, message, errc}.

These layouts are the same in FFI API 0.3 (jaxlib 0.10) and 0.5 (jaxlib
0.12); :mod:`lapicque._kernels.event` registers the handler only for the API
versions listed in its ``TESTED_FFI_API``.  Asked for its metadata, the
handler answers with the API version of the runtime that asks (read from
``XLA_FFI_Api``), so nothing of the installed jaxlib is frozen into the
compiled code.

Events: a spike array of bool, float32 or float64 is read in place; a row
``i`` is visited only where ``s_i != 0`` and adds ``s_i * w`` (a bool or a
value of exactly 1 adds ``w`` itself, without the product: the binary path).
The product is rounded to the weights' dtype first, as XLA's formulation does.

No Python runs when XLA calls it.  Everything is cached on disk by numba
(``cache=True``): the error messages are constants of the compiled code.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from llvmlite import ir
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["handler"]

_F_EXT, _F_API, _F_NARGS, _F_ARGS, _F_NRETS, _F_RETS = 1, 2, 7, 9, 12, 14
_B_DTYPE, _B_DATA, _B_RANK, _B_DIMS = 2, 3, 4, 5
_A_MAJOR, _A_MINOR = 8, 9  # int32 slots of XLA_FFI_Api.api_version
_PRED, _S32, _F32, _F64 = 1, 4, 11, 12  # XLA_FFI_DataType
_EXT_METADATA, _ERR_INVALID_ARGUMENT = 1, 3


def _cast_to(nbtype):
    @intrinsic
    def as_ptr(typingctx, addr):
        sig = types.CPointer(nbtype)(types.int64)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(sig.return_type))
        return sig, codegen
    return as_ptr


_p_i64, _p_i32, _p_u8, _p_u64 = (_cast_to(t) for t in (types.int64, types.int32, types.uint8, types.uint64))
_p_f32, _p_f64 = _cast_to(types.float32), _cast_to(types.float64)


@intrinsic
def _as_type_of(typingctx, ref, value):
    """``value`` converted (round to nearest) to the numeric type of ``ref``."""
    sig = ref(ref, value)

    def codegen(context, builder, signature, args):
        return context.cast(builder, args[1], signature.args[1], signature.return_type)
    return sig, codegen


def _error_maker(message: bytes):
    """An intrinsic ``int64 f(int64 api)`` returning ``XLA_FFI_Error_Create(&args)`` for a fixed message.

    The message is a constant of the compiled code and the argument struct
    ``{struct_size, extension_start, message, errc}`` lives on the stack, so
    the handler holds no address of this process and can be cached on disk.
    """
    @intrinsic
    def make_error(typingctx, api):
        sig = types.int64(types.int64)

        def codegen(context, builder, signature, args):
            i64 = ir.IntType(64)
            text = context.insert_const_bytes(builder.module, message + b"\0")
            slots = cgutils.alloca_once(builder, ir.ArrayType(i64, 4))
            values = (i64(32), i64(0), builder.ptrtoint(text, i64), i64(_ERR_INVALID_ARGUMENT))
            for k, v in enumerate(values):
                builder.store(v, builder.gep(slots, [i64(0), i64(k)]))
            table = builder.inttoptr(args[0], i64.as_pointer())
            create = builder.load(builder.gep(table, [i64(6)]))  # XLA_FFI_Api.XLA_FFI_Error_Create
            fn = builder.inttoptr(create, ir.FunctionType(i64, [i64]).as_pointer())
            return builder.call(fn, [builder.ptrtoint(slots, i64)])
        return sig, codegen
    return make_error


_error_signature = _error_maker(
    b"lapicque event_csr_matvec: expected 4 inputs (spikes: bool/float32/float64, indptr: int32, indices: int32, "
    b"weights: float32/float64) and 1 output of the weights' dtype.")
_error_shape = _error_maker(
    b"lapicque event_csr_matvec: the spike array size is not a multiple of len(indptr) - 1, or the weights "
    b"are neither one shared value nor one value per entry.")
_error_range = _error_maker(
    b"lapicque event_csr_matvec: a spiking row has indptr outside [0, len(indices)] or decreasing, or a "
    b"column index outside [0, n_out); nothing was written out of bounds.")


@numba.njit(cache=True)
def _word(addr, k):
    return _p_i64(addr)[k]


@numba.njit(cache=True)
def _buffer(frame, which, i):  # which: _F_ARGS or _F_RETS
    return _p_i64(_word(frame, which))[i]


@numba.njit(cache=True)
def _length(buf):
    dims, n = _word(buf, _B_DIMS), 1
    for d in range(_word(buf, _B_RANK)):
        n *= _p_i64(dims)[d]
    return n


@numba.njit(cache=True)
def _dtype(buf):
    return _p_i32(buf)[2 * _B_DTYPE]


@numba.njit(cache=True)
def _answer_metadata(frame):
    """At registration XLA asks for the API version and traits through a metadata extension.

    The answer is the version of the asking runtime (its ``XLA_FFI_Api``), 0.3 if no API table is given.
    """
    ext = _word(frame, _F_EXT)
    while ext != 0:
        if _p_i32(ext)[2] == _EXT_METADATA:
            meta = _p_i32(_word(ext, 3))
            api = _word(frame, _F_API)
            meta[6] = _p_i32(api)[_A_MAJOR] if api != 0 else 0
            meta[7] = _p_i32(api)[_A_MINOR] if api != 0 else 3
            meta[8] = 0
            return True
        ext = _word(ext, 2)
    return False


@numba.njit(cache=True)
def _value(base, i, kind):
    """Element ``i`` of an event array of XLA type ``kind``, as a float64 (a bool is 0 or 1)."""
    if kind == _PRED:
        return 1.0 if _p_u8(base)[i] != 0 else 0.0
    if kind == _F32:
        return np.float64(_p_f32(base)[i])
    return _p_f64(base)[i]


@numba.njit(cache=True)
def _next_event(base, n_pre, i, kind, size):
    """The first row at or after ``i`` with a non-zero value (``n_pre`` if none); skips a zero aligned 8-byte word
    at once."""
    per_word = 8 // size
    while i < n_pre:
        a = base + i * size
        if (a & 7) == 0 and i + per_word <= n_pre and _p_u64(a)[0] == 0:
            i += per_word
        elif _value(base, i, kind) != 0:
            return i
        else:
            i += 1
    return n_pre


@numba.njit(cache=True)
def _add_row(out, ob, ix, w, s, e, n_out, shared):
    """Add the entries ``s .. e-1`` to ``out[ob:ob + n_out]``; returns how many had a column outside [0, n_out).

    Branch-free range check (an out-of-range column is counted and redirected to column 0, so nothing is
    written out of bounds; the handler then reports an error and XLA discards the output).
    """
    bad = 0
    limit = np.uint32(n_out)
    if shared:
        w0 = w[0]
        for k in range(s, e):
            j = np.uint32(ix[k])
            ok = j < limit
            bad += not ok
            out[ob + (j if ok else 0)] += w0
    else:
        for k in range(s, e):
            j = np.uint32(ix[k])
            ok = j < limit
            bad += not ok
            out[ob + (j if ok else 0)] += w[k]
    return bad


@numba.njit(cache=True)
def _add_row_scaled(out, ob, ix, w, s, e, n_out, shared, value):
    """As :func:`_add_row`, each entry scaled by the row's event value (rounded to the weights' dtype first)."""
    c = _as_type_of(w[0], value)
    bad = 0
    limit = np.uint32(n_out)
    if shared:
        cw = c * w[0]
        for k in range(s, e):
            j = np.uint32(ix[k])
            ok = j < limit
            bad += not ok
            out[ob + (j if ok else 0)] += cw
    else:
        for k in range(s, e):
            j = np.uint32(ix[k])
            ok = j < limit
            bad += not ok
            out[ob + (j if ok else 0)] += c * w[k]
    return bad


@numba.njit(cache=True)
def _accumulate(spk, kind, size, ip, ix, w, out, batch, n_pre, n_out, nnz, shared):
    """Zero ``out``, then add the weights of every row with a non-zero event, times its value; returns the number
    of refused entries."""
    for j in range(batch * n_out):
        out[j] = 0
    bad = 0
    for b in range(batch):
        base, ob = spk + b * n_pre * size, b * n_out
        i = _next_event(base, n_pre, 0, kind, size)
        while i < n_pre:
            s, e = ip[i], ip[i + 1]
            v = _value(base, i, kind)
            if s < 0 or e > nnz or s > e:
                bad += 1
            elif v == 1.0:  # a spike: the binary path
                bad += _add_row(out, ob, ix, w, s, e, n_out, shared)
            else:
                bad += _add_row_scaled(out, ob, ix, w, s, e, n_out, shared, v)
            i = _next_event(base, n_pre, i + 1, kind, size)
    return bad


@numba.cfunc(types.int64(types.int64), cache=True)
def handler(frame):
    if _answer_metadata(frame):
        return 0
    if _word(frame, _F_NARGS) != 4 or _word(frame, _F_NRETS) != 1:
        return _error_signature(_word(frame, _F_API))
    b_spk, b_ip = _buffer(frame, _F_ARGS, 0), _buffer(frame, _F_ARGS, 1)
    b_ix, b_w, b_out = _buffer(frame, _F_ARGS, 2), _buffer(frame, _F_ARGS, 3), _buffer(frame, _F_RETS, 0)
    kind, spk_kind = _dtype(b_w), _dtype(b_spk)
    if ((spk_kind != _PRED and spk_kind != _F32 and spk_kind != _F64) or _dtype(b_ip) != _S32
            or _dtype(b_ix) != _S32 or kind != _dtype(b_out) or (kind != _F32 and kind != _F64)):
        return _error_signature(_word(frame, _F_API))
    n_pre, nnz, nw = _length(b_ip) - 1, _length(b_ix), _length(b_w)
    if n_pre < 1 or _length(b_spk) % n_pre != 0 or (nw != 1 and nw != nnz):
        return _error_shape(_word(frame, _F_API))
    batch = _length(b_spk) // n_pre
    if batch == 0 or _length(b_out) % batch != 0:
        return _error_shape(_word(frame, _F_API))
    n_out = _length(b_out) // batch
    spk, ip, ix = _word(b_spk, _B_DATA), _p_i32(_word(b_ip, _B_DATA)), _p_i32(_word(b_ix, _B_DATA))
    size = 1 if spk_kind == _PRED else (4 if spk_kind == _F32 else 8)
    if kind == _F32:
        bad = _accumulate(spk, spk_kind, size, ip, ix, _p_f32(_word(b_w, _B_DATA)), _p_f32(_word(b_out, _B_DATA)),
                          batch, n_pre, n_out, nnz, nw == 1)
    else:
        bad = _accumulate(spk, spk_kind, size, ip, ix, _p_f64(_word(b_w, _B_DATA)), _p_f64(_word(b_out, _B_DATA)),
                          batch, n_pre, n_out, nnz, nw == 1)
    return _error_range(_word(frame, _F_API)) if bad else 0
