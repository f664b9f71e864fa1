"""`cnnkit.optim`: optimisers (SGD, Adam, AdamW, RMSprop, Adadelta, Adagrad, NAdam, RAdam) and learning-rate
schedulers, with PyTorch's API; `swa_utils.update_bn` recomputes batch-norm statistics for averaged weights."""

from cnnkit.optim import lr_scheduler, swa_utils
from cnnkit.optim.adadelta import Adadelta
from cnnkit.optim.adagrad import Adagrad
from cnnkit.optim.adam import Adam, AdamW
from cnnkit.optim.nadam import NAdam
from cnnkit.optim.optimizer import Optimizer
from cnnkit.optim.radam import RAdam
from cnnkit.optim.rmsprop import RMSprop
from cnnkit.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adadelta", "Adagrad", "NAdam", "RAdam", "lr_scheduler",
           "swa_utils"]
