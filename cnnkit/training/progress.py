"""Plain progress lines for training whose output is not a terminal (a log file, a pipe, a batch job).

A terminal gets tqdm's bar; anywhere else a bar is invisible until the epoch ends, so the trainer prints one
line after the first step and then at least every `every` seconds:

    epoch 1/10  step 120/469  1530 img/s  loss 0.6234  ETA 4m10s

The ETA is the run's: the steps left in this epoch and in the epochs after it, at this epoch's rate so far
(evaluation passes are not counted). The rate is measured from the end of the first step, whose line shows the
loss alone: a run's first step also loads or compiles the kernels, and timed with it the first ETA read hours
for a run of minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def format_duration(seconds: float) -> str:
    """'45s', '4m10s', '2h03m': short enough for a progress line."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class ProgressLines:
    """Prints a progress line after the first step and whenever `every` seconds have passed since the last one."""

    def __init__(self, description: str, steps: int, steps_after: int = 0, every: float = 10.0,
                 write: Callable[[str], None] | None = None, clock: Callable[[], float] = time.perf_counter) -> None:
        self.description, self.steps, self.steps_after, self.every = description, steps, steps_after, every
        self.write = write or (lambda line: print(line, flush=True))
        self.clock = clock
        self.start = self.last = clock()
        self.first = (0, 0)  # (step, images) at the end of the first step, where the rate's clock starts

    def update(self, step: int, images: int, loss: float) -> None:
        """After `step` of `steps`, with `images` seen this epoch and their mean `loss`."""
        now = self.clock()
        line = f"{self.description}  step {step}/{self.steps}"
        if step == 1:
            self.start = self.last = now
            self.first = (step, images)
            self.write(f"{line}  loss {loss:.4f}")
            return
        if now - self.last < self.every:
            return
        self.last = now
        elapsed, steps = max(now - self.start, 1e-9), step - self.first[0]
        left = (self.steps - step + self.steps_after) * elapsed / steps
        self.write(f"{line}  {(images - self.first[1]) / elapsed:.0f} img/s  loss {loss:.4f}  "
                   f"ETA {format_duration(left)}")
