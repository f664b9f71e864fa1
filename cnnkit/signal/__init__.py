"""Classical signal processing on 2-D arrays (NumPy in, NumPy out): correlation and convolution, classic kernels.

`correlate2d` and `convolve2d` match `scipy.signal.correlate2d` / `convolve2d` with zero fill; see
`cnnkit.signal.correlate` for how the two differ and why `conv2d` in a network is a correlation.
`cnnkit.signal.kernels` holds the lecture's 3×3 kernels (Laplacian, sharpen, Gaussian blur, edges).
`cnnkit.signal.components` labels connected components (`label`, as `scipy.ndimage.label`; `label_stack` for a
stack of images) and gives their sizes and boxes.
"""

from cnnkit.signal import components, kernels
from cnnkit.signal.correlate import convolve2d, correlate2d

__all__ = ["components", "convolve2d", "correlate2d", "kernels"]
