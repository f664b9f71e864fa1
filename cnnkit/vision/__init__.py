"""`cnnkit.vision`: torchvision's names for what cnnkit has — `datasets`, `transforms`, `utils`, `models`, `ops`.

The porting rule: replace `torch` by `cnnkit` and `torchvision` by `cnnkit.vision` in the imports:
    from cnnkit.vision import datasets, transforms
    from cnnkit.vision.utils import save_image
"""

from cnnkit.vision import datasets, models, ops, transforms, utils

__all__ = ["datasets", "models", "ops", "transforms", "utils"]
