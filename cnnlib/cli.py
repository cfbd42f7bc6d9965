"""The command line: train one of the course's recipes, as a notebook would.

    python -m cnnlib resnet20 --mode quick
    python -m cnnlib resnet20 --mode quick --resume      # after a stop or a crash: continue
    python -m cnnlib resnet56 --mode full --data torchvision --checkpoint runs/resnet56.pt
    torchrun --nproc_per_node=2 -m cnnlib baseline --mode quick   # data parallel (cnnlib.train.distributed)
"""
import argparse
import contextlib
import signal
import threading

from . import config, data, recipes, results, train
from .train import checkpoints, distributed, stopping

ENVIRONMENT_HELP = f"""environment variables:
  {config.MODE_VARIABLE}     quick or full, when --mode is not given (default: full with a CUDA GPU, else quick)
  {config.DATA_VARIABLE}     where CIFAR-10 is downloaded and cached (default: ~/.cache/cnnlib)
  {results.RESULTS_VARIABLE}  where runs are recorded (default: the results folder in that cache)
"""


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parser():
    p = argparse.ArgumentParser(prog="python -m cnnlib", description="Train one of the course's recipes and record it.",
                                epilog=ENVIRONMENT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recipe", choices=recipes.names(), metavar="RECIPE", help="one of: " + ", ".join(recipes.names()))
    p.add_argument("--mode", choices=config.MODES, default=None,
                   help=f"quick or full (default: ${config.MODE_VARIABLE}, else by hardware)")
    p.add_argument("--data", default=None,
                   help="auto, torchvision, embedded, or an ImageFolder path (default: embedded in quick mode, auto in full)")
    p.add_argument("--epochs", type=positive_int, default=None, help="train this many epochs instead of the recipe's")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--precision", choices=train.PRECISIONS, default=None,
                   help="override the recipe's precision (auto: bf16 on GPUs of compute capability 8.0+, fp16 below)")
    p.add_argument("--checkpoint", default=None,
                   help="save the run's state to this file after every epoch (default: beside its record, "
                        "in the results folder's checkpoints/)")
    p.add_argument("--checkpoint-minutes", type=float, default=10,
                   help="inside an epoch, also save the checkpoint every this many minutes (default 10)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint where a stopped or killed run left off "
                        "(a finished run is loaded, not trained again); without it the run starts over")
    p.add_argument("--no-record", action="store_true", help="do not record the run in the results folder")
    return p


@contextlib.contextmanager
def sigterm_stops_training():
    """`kill PID` stops a run as Ctrl-C does: after the current step, keeping and
    recording the finished epochs and saving the checkpoint to resume from. A run
    started in the background by a shell has SIGINT ignored, so SIGTERM is the
    signal that reaches it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        stopping.request_stop()

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv=None):
    args = parser().parse_args(argv)
    device = distributed.start()  # under torchrun: join the other processes; alone: None
    try:
        with sigterm_stops_training():
            return train_recipe(args, device)
    finally:
        distributed.stop()


def train_recipe(args, device=None):
    mode = config.get_mode(args.mode)
    if args.checkpoint:
        checkpoints.checkpoint_path(args.checkpoint)  # a path that cannot be written fails now, not after training
    cifar = data.load_cifar10(args.data, mode=mode, device=device, verbose=distributed.is_main())
    overrides = {}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.precision is not None:
        overrides["precision"] = args.precision
    run = recipes.run(args.recipe, cifar, seed=args.seed, mode=mode, record=not args.no_record,
                      notebook="command line", checkpoint=args.checkpoint or "auto", resume=args.resume,
                      checkpoint_minutes=args.checkpoint_minutes, **overrides)
    if distributed.is_main():
        print(run.history)
        if run.record is not None:
            where = config.shown(results.records_folder(mode, cifar.device))
            processes = f" ({distributed.size()} processes)" if distributed.size() > 1 else ""
            print(f"recorded as {run.name!r} in {where}{processes}")
        print(f"{run.name}: {run.history.summary()}")  # the same for a run and its resumed twin
    return 130 if run.history.interrupted else 1 if run.history.out_of_memory else 0
