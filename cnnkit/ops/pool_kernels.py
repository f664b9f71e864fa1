"""Compiled loops of max pooling: the forward keeps each window's argmax, the backward scatters through it.

Output (i, j) of a plane reads the input cells (i·sH − pH + a·dH, j·sW − pW + b·dW) that lie inside the
plane, for taps a < kH, b < kW. The forward walks the taps in row-major order and keeps, per output, the
value and the flat position r·W + q of the FIRST maximum, with PyTorch's CPU rule: a tap replaces the
maximum when it is greater or NaN (so a NaN wins and the last NaN holds), starting from the lowest value
with the window's first cell as position (so an all −inf window routes to its first real cell).
One output row at a time, tap by tap: each tap is a strided slice of one input row compared with the row
of running maxima, a loop the compiler vectorises.

The backward is the adjoint: dx = 0, then dx[argmax(o)] += g(o) for every output o (windows may overlap).
Both loops take one (image, channel) plane per `prange` iteration, so no two threads write one cell.
"""

from __future__ import annotations

import numpy as np

from cnnkit.ops.compiled import compiled, prange


@compiled
def max_forward(x, kh, kw, sh, sw, ph, pw, dh, dw, lowest, out, arg):  # noqa: ANN001, ANN201, PLR0913
    """out = window maxima of x (N, C, H, W); arg = flat position in the plane of each window's first maximum."""
    n, c, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for p in prange(n * c):
        src, dst, pos = x[p // c, p % c], out[p // c, p % c], arg[p // c, p % c]
        for i in range(oh):
            r0 = i * sh - ph
            a0 = 0 if r0 >= 0 else (-r0 + dh - 1) // dh  # first tap row inside the plane
            best, where = dst[i], pos[i]
            for j in range(ow):
                q0 = j * sw - pw
                b0 = 0 if q0 >= 0 else (-q0 + dw - 1) // dw
                best[j] = lowest
                where[j] = (r0 + a0 * dh) * w + q0 + b0 * dw
            for a in range(a0, kh):
                r = r0 + a * dh
                if r >= h:
                    break
                row = src[r]
                for b in range(kw):
                    offset = b * dw - pw
                    # outputs [j_lo, j_hi) read inside the row: 0 ≤ j·sw + offset < w
                    j_lo = max(0, -(offset // sw))
                    j_hi = min(ow, (w - 1 - offset) // sw + 1)
                    if j_hi <= j_lo:
                        continue
                    first = j_lo * sw + offset
                    taps = row[first:(j_hi - 1) * sw + offset + 1:sw]
                    top, at = best[j_lo:j_hi], where[j_lo:j_hi]
                    start = r * w + first
                    for j in range(j_hi - j_lo):
                        v, old = taps[j], top[j]
                        take = (v > old) | (v != v)  # greater, or NaN
                        # selects and unconditional stores, not a branch: the loop then vectorises
                        top[j] = v if take else old
                        at[j] = start + j * sw if take else at[j]


@compiled
def max_backward(g, arg, dx):  # noqa: ANN001, ANN201
    """dx (N, C, H·W) = Σ over outputs o of g (N, C, OH·OW) at o, added at arg[o]; zero elsewhere."""
    n, c, m = g.shape
    for p in prange(n * c):
        gp, pos, dst = g[p // c, p % c], arg[p // c, p % c], dx[p // c, p % c]
        dst[:] = 0
        for o in range(m):
            dst[pos[o]] += gp[o]


@compiled
def max2x2_forward(x, out, arg):  # noqa: ANN001, ANN201
    """`max_forward` for a 2×2 window, stride 2, no padding or dilation (floor mode), its taps unrolled, in the same
    row-major order and rule.

    Two passes per output row: the maxima, then where each came from. One loop that stores both the maximum and
    its position is not vectorised (128×32×28×28, one thread: 12.6 ms); the maxima alone are, and the positions
    then follow from comparisons with them: the first tap equal to the maximum, or for a NaN maximum the last NaN
    tap (the rule lets every NaN replace the maximum). Both passes: 3.8 ms."""
    n, c, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    right, down, diagonal, first = np.int32(1), np.int32(w), np.int32(w + 1), np.int32(0)
    for p in prange(n * c):
        src, dst, pos = x[p // c, p % c], out[p // c, p % c], arg[p // c, p % c]
        for i in range(oh):
            top, bottom, best, where = src[2 * i], src[2 * i + 1], dst[i], pos[i]
            for j in range(ow):
                m = top[2 * j]  # the first tap starts the maximum (NaN or not)
                v = top[2 * j + 1]
                m = v if (v > m) | (v != v) else m  # selects, not branches: the loop then vectorises
                v = bottom[2 * j]
                m = v if (v > m) | (v != v) else m
                v = bottom[2 * j + 1]
                best[j] = v if (v > m) | (v != v) else m
            base = np.int32(2 * i * w)
            for j in range(ow):
                m = best[j]
                at_first = diagonal  # the first tap equal to m, read backwards
                at_first = down if bottom[2 * j] == m else at_first
                at_first = right if top[2 * j + 1] == m else at_first
                at_first = first if top[2 * j] == m else at_first
                at_last = first  # the last NaN tap
                at_last = right if top[2 * j + 1] != top[2 * j + 1] else at_last
                at_last = down if bottom[2 * j] != bottom[2 * j] else at_last
                at_last = diagonal if bottom[2 * j + 1] != bottom[2 * j + 1] else at_last
                where[j] = base + np.int32(2 * j) + (at_last if m != m else at_first)


@compiled
def avg2x2_forward(x, divisor, out):  # noqa: ANN001, ANN201
    """out = (x₀₀ + x₀₁ + x₁₀ + x₁₁)/divisor over each 2×2 window, stride 2, no padding (floor mode), summed in
    row-major order as PyTorch's CPU loop."""
    n, c, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for p in prange(n * c):
        src, dst = x[p // c, p % c], out[p // c, p % c]
        for i in range(oh):
            top, bottom, row = src[2 * i], src[2 * i + 1], dst[i]
            for j in range(ow):
                row[j] = (top[2 * j] + top[2 * j + 1] + bottom[2 * j] + bottom[2 * j + 1]) / divisor


@compiled
def avg2x2_backward(g, divisor, dx):  # noqa: ANN001, ANN201
    """The adjoint of `avg2x2_forward`: each cell of a window gets g/divisor; cells no window reads get 0."""
    n, c, oh, ow = g.shape
    h, w = dx.shape[2], dx.shape[3]
    for p in prange(n * c):
        src, dst = g[p // c, p % c], dx[p // c, p % c]
        for i in range(oh):
            row, top, bottom = src[i], dst[2 * i], dst[2 * i + 1]
            for j in range(ow):
                v = row[j] / divisor
                top[2 * j] = v
                top[2 * j + 1] = v
                bottom[2 * j] = v
                bottom[2 * j + 1] = v
            if w > 2 * ow:  # an odd width: the last column is in no window
                top[w - 1] = 0
                bottom[w - 1] = 0
        if h > 2 * oh:
            dst[h - 1] = 0
