"""Winograd F(2×2, 3×3): a stride-1 3×3 convolution with 16 products per 2×2 output tile instead of 36.

For each 4×4 input tile d (overlapping by 2) and each 3×3 kernel g, the 2×2 output tile is

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A        Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
                                           G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
                                           Aᵀ = [1 1 1 0; 0 1 −1 −1]

(Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). Summed over the input channels, the
element-wise product becomes 16 matrix products, one per tile position (i, j) of the 4×4 transform:

    M[ij] = U[ij] · V[ij]    U (16, F, C) = G g Gᵀ per (f, c),   V (16, C, T) = Bᵀ d B per (c, tile)

so a convolution is an input transform (a compiled loop), 16 BLAS products with inner dimension C, and an output
transform (a compiled loop) that also adds the bias. The multiplications fall from 9·4 to 16 per tile and
channel pair: 2.25× fewer. The coefficients are 0, ±1 and ±½, so the transforms round no worse than the sums of
the direct convolution (the parity tests keep their tolerances).

Run per chunk of the batch on the threads of `cnnkit.ops.threads`, like `conv2d`'s other paths. Used by `conv2d`
for the forward pass, for the input gradient (a stride-1 correlation of dY with the turned kernel) and for the
weight gradient, whose tiles are summed over the batch in the transformed domain (`weight_grad_winograd`).
"""

from __future__ import annotations

import numpy as np

from cnnkit.ops.compiled import compiled, kernel_helper
from cnnkit.ops.im2col import Pair, Window, scratch
from cnnkit.ops.threads import chunk_images, split_batch

# Both channel counts at least this. Forward of a 3×3 layer, batch 128, 2 cores, ms with conv2d's whole-row im2col
# path → with Winograd: 1→32 at 28×28 2.6 → 13.3, 3→16 at 32×32 3.1 → 4.2, 8→8 at 32×32 4.6 → 3.7, 8→16 at 16×16
# 2.5 → 2.4, 16→16 at 32×32 9.8 → 7.7, 32→32 at 16×16 7.3 → 5.6, 64→64 at 8×8 6.8 → 4.2, 64→64 at 14×14
# 20.0 → 12.1, 128→128 at 7×7 18.6 → 13.2.
MIN_CHANNELS = 8


# Work (2·N·F·C·9·OH·OW) below which the im2col path stays: the transforms' fixed costs, and the compiled
# loops' first load in a process (about 0.6 s), outweigh the gain on a few images (a one-image prediction).
MIN_FLOPS = 20e6


def eligible(window: Window, kernel: Pair, groups: int, channels: int, filters: int, flops: float) -> bool:
    """Whether a conv2d pass of this shape runs as Winograd F(2×2, 3×3): a 3×3 kernel, stride 1, dilation 1,
    one group, at least MIN_CHANNELS input and output channels (below, the 16 products are too thin for BLAS
    to beat the im2col product), and at least MIN_FLOPS of work."""
    return (kernel == (3, 3) and window.stride == (1, 1) and window.dilation == (1, 1) and groups == 1
            and min(channels, filters) >= MIN_CHANNELS and flops >= MIN_FLOPS)


def transform_weight(w: np.ndarray) -> np.ndarray:
    """U = G g Gᵀ for every (f, c): (F, C, 3, 3) → (16, F, C), in the weight's dtype (computed in float64).

    Held as (F, 16, C) and returned as its (16, F, C) view: each U[ij] is an (F, C) matrix with rows 16·C apart,
    which BLAS takes as it is, and the loop writes each kernel's 16 values C apart instead of F·C apart (16 streams
    a multiple of 4 KiB apart share cache sets: 0.82 against 0.14 ms for a 128→128 layer).
    """
    u = np.empty((w.shape[0], 16, w.shape[1]), w.dtype)
    _weight_transform(np.ascontiguousarray(w), u)
    return u.transpose(1, 0, 2)


@kernel_helper
def _times_g(a, b, c):  # noqa: ANN001, ANN202
    """(a, b, c) times Gᵀ: a, ½(a + b + c), ½(a − b + c), c."""
    return a, 0.5 * (a + b + c), 0.5 * (a - b + c), c


@compiled(parallel=False)
def _weight_transform(w, u):  # noqa: ANN001, ANN202 - a compiled loop nest
    """u[f, 4i + j, c] = (G w[f, c] Gᵀ)[i, j] in float64, G's rows being (1, 0, 0), ½(1, 1, 1), ½(1, −1, 1), (0, 0, 1).
    A loop, not products: for a 128→128 layer a 3-operand einsum took 17 ms, two products of inner dimension 3 over
    all kernels 2.3 ms, this loop 0.14 ms."""
    f, c = w.shape[0], w.shape[1]
    for fo in range(f):
        for ch in range(c):
            g, out = w[fo, ch], u[fo, :, ch]
            # G g, one column at a time: its 4 rows are then rows[i] = (c0[i], c1[i], c2[i])
            c0 = _times_g(np.float64(g[0, 0]), np.float64(g[1, 0]), np.float64(g[2, 0]))
            c1 = _times_g(np.float64(g[0, 1]), np.float64(g[1, 1]), np.float64(g[2, 1]))
            c2 = _times_g(np.float64(g[0, 2]), np.float64(g[1, 2]), np.float64(g[2, 2]))
            for i in range(4):  # each row of G g, times Gᵀ
                out[4 * i], out[4 * i + 1], out[4 * i + 2], out[4 * i + 3] = _times_g(c0[i], c1[i], c2[i])


@compiled(parallel=False)
def _input_transform(x, v, th, tw, top, left):  # noqa: ANN001, ANN202 - a compiled loop nest
    """v[c, 4a + b, (n, ti, tj)] = (Bᵀ d B)[a, b] for the 4×4 tile d = xp[n, c, 2ti : 2ti + 4, 2tj : 2tj + 4], xp
    being x with `top` zero rows above and `left` zero columns before it, and zeros below and after to 2·th + 2 rows
    and 2·tw + 2 columns. Each plane is padded in a buffer of a few KiB that stays in cache, where a padded copy of
    the whole chunk was written to memory and read back. One thread, batch 128, forward (ms): 32→32 at 28×28
    25.1 → 24.7, 64→64 at 14×14 18.1 → 17.2, 128→128 at 7×7 19.4 → 17.7; the weight gradient likewise."""
    m, c, h, wid = x.shape
    plane = np.zeros((2 * th + 2, 2 * tw + 2), x.dtype)  # only the interior is written: the border stays zero
    for ch in range(c):  # channel outermost: each of its 16 rows of v is then written as one run
        w = v[ch]
        for n in range(m):
            plane[top : top + h, left : left + wid] = x[n, ch]
            for ti in range(th):
                r0, r1, r2, r3 = plane[2 * ti], plane[2 * ti + 1], plane[2 * ti + 2], plane[2 * ti + 3]
                base = (n * th + ti) * tw
                for tj in range(tw):
                    s = 2 * tj
                    t = base + tj
                    # rows of Bᵀ d: d0 − d2, d1 + d2, d2 − d1, d1 − d3, each over the tile's 4 columns
                    a0, a1, a2, a3 = r0[s] - r2[s], r0[s + 1] - r2[s + 1], r0[s + 2] - r2[s + 2], r0[s + 3] - r2[s + 3]
                    b0, b1, b2, b3 = r1[s] + r2[s], r1[s + 1] + r2[s + 1], r1[s + 2] + r2[s + 2], r1[s + 3] + r2[s + 3]
                    c0, c1, c2, c3 = r2[s] - r1[s], r2[s + 1] - r1[s + 1], r2[s + 2] - r1[s + 2], r2[s + 3] - r1[s + 3]
                    e0, e1, e2, e3 = r1[s] - r3[s], r1[s + 1] - r3[s + 1], r1[s + 2] - r3[s + 2], r1[s + 3] - r3[s + 3]
                    # then each row times B: r0 − r2, r1 + r2, r2 − r1, r1 − r3
                    w[0, t], w[1, t], w[2, t], w[3, t] = a0 - a2, a1 + a2, a2 - a1, a1 - a3
                    w[4, t], w[5, t], w[6, t], w[7, t] = b0 - b2, b1 + b2, b2 - b1, b1 - b3
                    w[8, t], w[9, t], w[10, t], w[11, t] = c0 - c2, c1 + c2, c2 - c1, c1 - c3
                    w[12, t], w[13, t], w[14, t], w[15, t] = e0 - e2, e1 + e2, e2 - e1, e1 - e3


@compiled(parallel=False)
def _output_transform(mm, bias, out, th, tw):  # noqa: ANN001, ANN202 - a compiled loop nest
    """out[n, f, 2ti + p, 2tj + q] = (Aᵀ M A)[p, q] + bias[f] for M = mm[f, :, (n, ti, tj)] as 4×4, inside out."""
    m, f, oh, ow = out.shape
    for fo in range(f):  # filter outermost: each of its 16 rows of mm is then read as one run
        z = mm[fo]
        for n in range(m):
            dst = out[n, fo]
            bf = bias[fo]
            for ti in range(th):
                base = (n * th + ti) * tw
                i = 2 * ti
                for tj in range(tw):
                    t = base + tj
                    # rows of Aᵀ M: m0 + m1 + m2 and m1 − m2 − m3, over the 4 columns
                    p0 = z[0, t] + z[4, t] + z[8, t]
                    p1 = z[1, t] + z[5, t] + z[9, t]
                    p2 = z[2, t] + z[6, t] + z[10, t]
                    p3 = z[3, t] + z[7, t] + z[11, t]
                    q0 = z[4, t] - z[8, t] - z[12, t]
                    q1 = z[5, t] - z[9, t] - z[13, t]
                    q2 = z[6, t] - z[10, t] - z[14, t]
                    q3 = z[7, t] - z[11, t] - z[15, t]
                    j = 2 * tj
                    dst[i, j] = p0 + p1 + p2 + bf
                    if j + 1 < ow:
                        dst[i, j + 1] = p1 - p2 - p3 + bf
                    if i + 1 < oh:
                        dst[i + 1, j] = q0 + q1 + q2 + bf
                        if j + 1 < ow:
                            dst[i + 1, j + 1] = q1 - q2 - q3 + bf


def _row_length(tiles: int) -> int:
    """Row length of V and M, held as (channel, 16, row): `tiles` rounded up to an odd number of 64-byte lines.

    The transforms read or write a channel's 16 rows at once; at a row length of a multiple of 4 KiB (or of
    2 KiB, ...) those 16 streams fall into the same few cache sets and evict each other. Measured on one core,
    batch 128: the input transform of a 16-channel layer at 32×32 took 23.5 ms with 16 planes 32 KiB apart and
    3.3 ms with odd line counts; of a 128-channel one at 7×7, 14.1 ms and 1.7 ms."""
    lines = -(-tiles // 16)
    return 16 * (lines + 1 - lines % 2)


def _tile_products(u: np.ndarray, v: np.ndarray, out: np.ndarray) -> np.ndarray:
    """M[ij] = U[ij] · V[ij]: 16 products (F, C) · (C, tiles), one broadcast BLAS call (into `out`)."""
    return np.matmul(u, v, out=out)


def _tiling(out_hw: Pair, padding: tuple[int, int, int, int]) -> tuple[int, int, tuple[int, int, int, int]]:
    """(tile rows, tile columns, padding of x): tiles cover 2·th + 2 rows and 2·tw + 2 columns of the padded input,
    so an odd output size gets one more zero row or column."""
    (oh, ow), (top, bottom, left, right) = out_hw, padding
    th, tw = -(-oh // 2), -(-ow // 2)
    return th, tw, (top, bottom + 2 * th - oh, left, right + 2 * tw - ow)


def _chunk(n: int, channels: int, tiles_per_image: int, itemsize: int) -> int:
    """Images per chunk: as many as fit the split's cache budget of transformed tiles (16 per tile and channel)."""
    return chunk_images(n, 16 * channels * tiles_per_image * itemsize)


def _flops(n: int, f: int, c: int, out_hw: Pair) -> float:
    """The work of the direct convolution this one replaces, 2·N·F·C·9·OH·OW (the split's grain size counts it)."""
    return 2.0 * n * f * c * 9 * out_hw[0] * out_hw[1]


def _transformed_input(x: np.ndarray, padding: tuple[int, int, int, int], th: int, tw: int) -> np.ndarray:
    """V of a chunk, (C, 16, tiles) with rows of `_row_length`: a pooled scratch array."""
    tiles = x.shape[0] * th * tw
    v = scratch((x.shape[1], 16, _row_length(tiles)), x.dtype)[:, :, :tiles]
    _input_transform(x, v, th, tw, padding[0], padding[2])
    return v


def conv2d_winograd(x: np.ndarray, u: np.ndarray, bias: np.ndarray | None, padding: tuple[int, int, int, int],
                    out_hw: Pair) -> np.ndarray:
    """A stride-1 3×3 convolution of x (N, C, H, W) with the transformed weight u (16, F, C), plus bias: (N, F, OH, OW).

    `padding` is (top, bottom, left, right) zeros around x; OH = H + top + bottom − 2, likewise OW.
    """
    n, c = x.shape[:2]
    f = u.shape[1]
    th, tw, extra = _tiling(out_hw, padding)
    out = np.empty((n, f) + tuple(out_hw), x.dtype)
    b = np.zeros(f, x.dtype) if bias is None else bias

    def work(lo: int, hi: int, _worker: int) -> None:
        v = _transformed_input(x[lo:hi], extra, th, tw)
        mm = scratch((f, 16, v.strides[1] // v.itemsize), x.dtype)[:, :, : v.shape[2]]
        _tile_products(u, v.transpose(1, 0, 2), mm.transpose(1, 0, 2))
        _output_transform(mm, b, out[lo:hi], th, tw)

    split_batch(work, n, _chunk(n, c, th * tw, x.dtype.itemsize), _flops(n, f, c, out_hw))
    return out


# ----------------------------------------------------------------- the weight gradient
# y = Aᵀ [U ⊙ V] A is linear in U = G g Gᵀ, so over all tiles  dU = Σ_tiles (A dY Aᵀ) ⊙ V  and  dg = Gᵀ dU G:
# 16 products (F, tiles) · (tiles, C) whose inner dimension is the chunk's tile count, 2.25× fewer
# multiplications than dY · colsᵀ, and no im2col.
@kernel_helper
def _times_at(r0, r1):  # noqa: ANN001, ANN202
    """(r0, r1) times Aᵀ: r0, r0 + r1, r0 − r1, −r1."""
    return r0, r0 + r1, r0 - r1, -r1


@compiled(parallel=False)
def _grad_transform(g, z, th, tw):  # noqa: ANN001, ANN202 - a compiled loop nest
    """z[f, 4a + b, (n, ti, tj)] = (A d Aᵀ)[a, b] for the 2×2 tile d = g[n, f, 2ti : 2ti + 2, 2tj : 2tj + 2] (zero
    past the output), A = [1 0; 1 1; 1 −1; 0 −1]."""
    m, f, oh, ow = g.shape
    for fo in range(f):
        out = z[fo]
        for n in range(m):
            plane = g[n, fo]
            for ti in range(th):
                i = 2 * ti
                base = (n * th + ti) * tw
                for tj in range(tw):
                    j = 2 * tj
                    t = base + tj
                    zero = plane[i, j] * 0  # in the plane's dtype
                    d00 = plane[i, j]
                    d01 = plane[i, j + 1] if j + 1 < ow else zero
                    d10 = plane[i + 1, j] if i + 1 < oh else zero
                    d11 = plane[i + 1, j + 1] if i + 1 < oh and j + 1 < ow else zero
                    # rows of A d: d0, d0 + d1, d0 − d1, −d1 (d0, d1 the tile's two rows), each times Aᵀ
                    out[0, t], out[1, t], out[2, t], out[3, t] = _times_at(d00, d01)
                    out[4, t], out[5, t], out[6, t], out[7, t] = _times_at(d00 + d10, d01 + d11)
                    out[8, t], out[9, t], out[10, t], out[11, t] = _times_at(d00 - d10, d01 - d11)
                    out[12, t], out[13, t], out[14, t], out[15, t] = _times_at(-d10, -d11)


@kernel_helper
def _times_gt(a, b, c, d):  # noqa: ANN001, ANN202
    """(a, b, c, d) times G: a + ½(b + c), ½(b − c), ½(b + c) + d."""
    return a + 0.5 * (b + c), 0.5 * (b - c), 0.5 * (b + c) + d


@compiled(parallel=False)
def _weight_grad_transform(du, dw):  # noqa: ANN001, ANN202 - a compiled loop nest
    """dw[f, c] = Gᵀ dU[f, c] G (3×3 from 4×4), dU given as du (16, F, C) in float64."""
    f, c = dw.shape[0], dw.shape[1]
    for fo in range(f):
        for ch in range(c):
            # each row of dU times G: 4 rows of 3, then each column of those times G again
            r0 = _times_gt(du[0, fo, ch], du[1, fo, ch], du[2, fo, ch], du[3, fo, ch])
            r1 = _times_gt(du[4, fo, ch], du[5, fo, ch], du[6, fo, ch], du[7, fo, ch])
            r2 = _times_gt(du[8, fo, ch], du[9, fo, ch], du[10, fo, ch], du[11, fo, ch])
            r3 = _times_gt(du[12, fo, ch], du[13, fo, ch], du[14, fo, ch], du[15, fo, ch])
            for col in range(3):
                dw[fo, ch, 0, col], dw[fo, ch, 1, col], dw[fo, ch, 2, col] = _times_gt(r0[col], r1[col], r2[col],
                                                                                         r3[col])


def weight_grad_winograd(x: np.ndarray, g: np.ndarray, padding: tuple[int, int, int, int]) -> np.ndarray:
    """dW (F, C, 3, 3) of a stride-1 3×3 convolution of x (N, C, H, W) with zero `padding`, given dY = g (N, F, OH, OW).

    Chunk by chunk, each chunk's dU in its own slot, the slots added in chunk order (in float64): the result does
    not depend on which thread took which chunk.
    """
    n, c = x.shape[:2]
    f = g.shape[1]
    th, tw, extra = _tiling(g.shape[2:], padding)
    chunk = _chunk(n, max(c, f), th * tw, x.dtype.itemsize)
    parts: list[np.ndarray | None] = [None] * (-(-n // chunk))

    def work(lo: int, hi: int, _worker: int) -> None:
        v = _transformed_input(x[lo:hi], extra, th, tw)
        z = scratch((f, 16, v.strides[1] // v.itemsize), x.dtype)[:, :, : v.shape[2]]
        _grad_transform(g[lo:hi], z, th, tw)
        parts[lo // chunk] = _tile_products(z.transpose(1, 0, 2), v.transpose(1, 2, 0),
                                            np.empty((16, f, c), x.dtype))

    split_batch(work, n, chunk, _flops(n, f, c, g.shape[2:]))
    du = np.zeros((16, f, c))
    for part in parts:  # in chunk order, whatever thread made each
        du += part
    dw = np.empty((f, c, 3, 3), x.dtype)
    _weight_grad_transform(du, dw)
    return dw
