"""`cnnkit train`: train a classifier (default: LeNet-5 on Fashion-MNIST), a segmenter, a detector or a diffusion
model, writing a run folder.

Options left out take the task's defaults (`RunConfig.for_task`; `--help` lists them after the options, read
from the tasks themselves): classification's, or e.g. for `--task segment` a U-Net on the Fashion-MNIST scenes
with Adam.
"""

from __future__ import annotations

import argparse
import json
import sys


class ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except for options whose default is 'not given' (None) or a flag's False."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False:
            return action.help or ""
        return super()._get_help_string(action)


DEFAULTS_HELP = "LeNet-5 on Fashion-MNIST, 10 epochs of SGD with momentum and a cosine schedule"


def task_defaults_text() -> str:
    """'Task defaults (…): segment: model unet, …; detect: …' from the tasks' own defaults, so it cannot go stale."""
    from cnnkit.training.tasks import TASKS

    parts = []
    for name, task in TASKS.items():
        if task.defaults:
            settings = ", ".join(f"{key.replace('_', '-')} {json.dumps(value) if isinstance(value, dict) else value}"
                                 for key, value in task.defaults.items() if key != "eval_batch_size")  # no option
            parts.append(f"{name}: {settings}")
    return ("Task defaults, for the options left out (classify takes the defaults shown above): "
            + "; ".join(parts) + ".")


def per_task(field: str) -> str:
    """'default 10; 28 for segment, 3 for generate': classify's default of a RunConfig field, then the tasks whose
    own default differs, read from the tasks like `task_defaults_text`."""
    from cnnkit.training.run import RunConfig
    from cnnkit.training.tasks import TASKS

    base = getattr(RunConfig(), field)
    by_value: dict = {}
    for name, task in TASKS.items():
        value = task.defaults.get(field, base)
        if value != base:
            by_value.setdefault(value, []).append(name)
    notes = [f"{value} for {' and '.join([', '.join(names[:-1]), names[-1]] if len(names) > 1 else names)}"
             for value, names in by_value.items()]
    return f"default {base}" + ("; " + ", ".join(notes) if notes else "")


def per_task_json(field: str, of_default_model: bool = True) -> str:
    """"for segment '{...}', for detect '{...}', with their default models": the tasks' own defaults of a JSON
    option (model_args, loss_args, data_args), read from the tasks, so that the help cannot go stale."""
    from cnnkit.training.tasks import TASKS

    names = [name for name, task in TASKS.items() if field in task.defaults]
    text = ", ".join(f"for {name} '{json.dumps(TASKS[name].defaults[field])}'" for name in names)
    if of_default_model:  # RunConfig.for_task drops these defaults when another model is named
        text += ", with their default models" if len(names) > 1 else " with its default model"
    return text


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model (default: " + DEFAULTS_HELP + ")",
                       description="Train an image classifier, or with --task segment a U-Net that labels every "
                                   "pixel, or with --task detect a detector of boxes. With no options: "
                                   + DEFAULTS_HELP + ". --task generate trains a denoising "
                                   "diffusion model (diffusion_unet) on the images; see cnnkit generate.",
                       epilog=task_defaults_text(), formatter_class=ShowDefaults)
    p.add_argument("--task", default="classify", choices=["classify", "segment", "detect", "generate", "diffusion"],
                   help="classify whole images, segment (a class per pixel, on the Fashion-MNIST scenes), detect "
                        "(boxes and classes of objects: --model yolo or propose_classify) or generate images "
                        "(denoising diffusion; 'diffusion' is another name for it)")
    p.add_argument("--model", default=None, help="zoo model name (see `cnnkit models`); default lenet5, "
                                                 "or the task's (below)")
    p.add_argument("--dataset", default=None,
                   help="fashion-mnist, mnist, kmnist, cifar10, or folder (with --data-dir) "
                        f"({per_task('dataset')})")
    p.add_argument("--data-dir", default=None,
                   help="where the dataset's files are (when not given: search, then download)")
    p.add_argument("--data-args", default=None,
                   help='extra dataset arguments as JSON, e.g. \'{"num_scenes": 2000}\' (default {}; '
                        f"{per_task_json('data_args')}; replaced as a whole when given)")
    p.add_argument("--clutter", action="store_true", help="--task segment or detect: scenes on textured backgrounds")
    p.add_argument("--epochs", type=int, default=None, help=f"passes over the training set ({per_task('epochs')})")
    p.add_argument("--batch-size", type=int, default=None,
                   help=f"images per training step ({per_task('batch_size')})")
    p.add_argument("--lr", type=float, default=None,
                   help=f"learning rate, the peak for onecycle ({per_task('lr')})")
    p.add_argument("--optimizer", default=None, choices=["sgd", "adam", "adamw", "rmsprop"],
                   help=f"optimiser ({per_task('optimizer')})")
    p.add_argument("--momentum", type=float, default=0.9, help="momentum (SGD uses Nesterov's when > 0)")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay")
    p.add_argument("--schedule", default=None, choices=["none", "cosine", "step", "onecycle"],
                   help=f"learning-rate schedule over the whole run, stepped every batch ({per_task('schedule')})")
    p.add_argument("--augment", default=None, choices=["none", "crop", "flip", "crop-flip", "crop-flip-erase"],
                   help="data augmentation: random 2-pixel shifts (crop) and/or horizontal flips; crop-flip-erase "
                        "(classify only) adds random erasing, a random rectangle of half the images set to the "
                        f"mean pixel after normalisation ({per_task('augment')}; a scene is mirrored with its mask "
                        "or boxes)")
    p.add_argument("--warmup-fraction", type=float, default=None,
                   help="onecycle schedule: share of the steps spent raising the learning rate to --lr "
                        f"({per_task('warmup_fraction')})")
    p.add_argument("--label-smoothing", type=float, default=0.0, help="cross-entropy label smoothing")
    p.add_argument("--mixup-alpha", type=float, default=0.0, metavar="ALPHA",
                   help="--task classify: MixUp, each training image blended with another by λ ~ Beta(α, α), "
                        "labels alike; 0: none")
    p.add_argument("--cutmix-alpha", type=float, default=0.0, metavar="ALPHA",
                   help="--task classify: CutMix, a box of another training image pasted in, labels weighted by "
                        "area; with --mixup-alpha too, each batch gets one of the two; 0: none")
    p.add_argument("--ema", type=float, default=None, metavar="DECAY",
                   help="keep an exponential moving average of the weights with this decay, e.g. 0.999 (updated "
                        "after every step, with a warm-up); the average is what is validated, kept as best and "
                        f"exported; 0: none ({per_task('ema')}). Not for --task generate, whose models keep their own")
    p.add_argument("--model-args", default=None,
                   help='extra model arguments as JSON, e.g. \'{"dropout": 0.3}\' (default {}; '
                        f"{per_task_json('model_args')})")
    p.add_argument("--loss-args", default=None,
                   help='--task segment: the loss\'s options as JSON: "class_weights" ("balanced": median-frequency '
                        'weights of the training masks, or one weight per class) and "dice" (weight of a soft Dice '
                        'loss added to the cross-entropy), e.g. \'{"class_weights": "balanced", "dice": 0.5}\' '
                        f"(default {{}}; {per_task_json('loss_args', of_default_model=False)})")
    p.add_argument("--val-split", type=int, default=None, metavar="N",
                   help="classify and generate: hold out the last N training images for validation, whose score "
                        "picks the best checkpoint (default: classify 5000, a tenth of a training set under 50,000 "
                        "images; generate 1000); 0 trains on every image and keeps the last epoch")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling, augmentation, dropout")
    p.add_argument("--out", default=None, help="run folder (when not given: runs/MODEL-DATASET)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--quiet", action="store_true",
                   help="no progress: neither the bar (on a terminal) nor the plain progress lines printed at "
                        "least every 10 s when the output is a file or a pipe")
    p.add_argument("--report", action="store_true", help="write RUN_DIR/report.html at the end (see `cnnkit report`)")
    p.add_argument("--nprocs", type=int, default=None,
                   help="train data-parallel with N processes on this machine (runs this command under mpirun; "
                        "needs pip install -e '.[mpi]'); --batch-size is the global batch, split over them")
    p.add_argument("--distributed", action="store_true",
                   help="be one rank of an MPI job: mpirun -np N cnnkit train --distributed ...; rank 0 prints and "
                        "writes the run folder, which (like the data) must be at the same path on every host")
    p.add_argument("--sync-batchnorm", action="store_true",
                   help="with --nprocs/--distributed: batch-norm statistics of the global batch (SyncBatchNorm) "
                        "instead of each process's share")
    p.set_defaults(run=run)


def _json_option(name: str, text: str) -> dict:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:  # RecursionError: arrays nested thousands deep
        raise ValueError(f"--{name} is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"--{name} must be a JSON object, got {text}")
    return value


TASK_ALIASES = {"diffusion": "generate"}  # diffusion's other name; runs record "generate"
TASK_DEPENDENT = ("model", "dataset", "epochs", "batch_size", "lr", "optimizer", "augment", "schedule",
                  "warmup_fraction", "ema")


def config_from_args(args: argparse.Namespace):  # noqa: ANN201 - a RunConfig, imported late (start-up time)
    """The run configuration that the parsed options ask for: the task's defaults, overridden by what was given."""
    from cnnkit.training.run import RunConfig, default_out

    args.task = TASK_ALIASES.get(args.task, args.task)
    given = {name: getattr(args, name) for name in TASK_DEPENDENT if getattr(args, name) is not None}
    for name in ("model_args", "data_args", "loss_args"):  # left out: the task's defaults (e.g. segment's)
        text = getattr(args, name)
        if text is not None:
            given[name] = _json_option(name.replace("_", "-"), text)
    config = RunConfig.for_task(args.task, data_dir=args.data_dir, momentum=args.momentum,
                                weight_decay=args.weight_decay, label_smoothing=args.label_smoothing,
                                mixup_alpha=args.mixup_alpha, cutmix_alpha=args.cutmix_alpha,
                                seed=args.seed, out="", val_split=args.val_split, **given)
    if args.clutter:  # added to the given --data-args, or to the task's defaults
        config.data_args = {**config.data_args, "clutter": True}
    config.out = args.out or default_out(config.model, config.dataset)
    return config


def run(args: argparse.Namespace, parallel=None) -> int:
    from cnnkit.training.run import train

    config = config_from_args(args)
    if parallel is None and (args.nprocs is not None or args.distributed):  # relaunch, or train as one rank
        from cnnkit.distributed.launch import run_parallel

        return run_parallel(args, config, lambda rank: run(args, rank))
    progress = "none" if args.quiet else "bar" if sys.stderr.isatty() else "lines"  # a log file gets plain lines
    result = train(config, resume=args.resume, progress=progress, parallel=parallel,
                   log=lambda line: print(line, flush=True))  # flushed: a log file shows each epoch as it ends
    if parallel is not None and not parallel.is_main:
        return 0
    if result.final_score == result.final_score:  # not NaN: a held-out split was scored
        print(f"final {result.eval_split} {result.score_name} {result.final_score:.4f} "
              f"(best {result.best_score:.4f}); run folder: {result.run_dir}")
    else:
        print(f"trained without a validation split; best.safetensors is the last epoch's; run folder: "
              f"{result.run_dir}")
    if args.report:
        from cnnkit.report import write_report

        print(f"report written: {write_report(result.run_dir, data_dir=args.data_dir)}")
    return 0
