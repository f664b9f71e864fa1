"""`cnnkit.optim`: optimisers (SGD, Adam, AdamW, RMSprop) and learning-rate schedulers, with PyTorch's API."""

from cnnkit.optim import lr_scheduler
from cnnkit.optim.adam import Adam, AdamW
from cnnkit.optim.optimizer import Optimizer
from cnnkit.optim.rmsprop import RMSprop
from cnnkit.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
