"""The stop button: a training stops between two steps, never inside one.

In a notebook the stop button sends SIGINT, and a shell's `kill` sends SIGTERM
(the command line passes it on here). While fit runs, the first such signal
asks it to stop after the step in progress, so that the weights, the
optimizer and the random state it saves belong to the same step and a resumed
run continues exactly; a second one stops at once. One press also skips the
rest of the cell's training (a loop over models stops too), and the next
notebook cell trains again.
"""
import contextlib
import signal
import threading


class StopRequested(Exception):
    """Raised by fit between two steps after a stop was asked for."""


class _Stop:
    requested = False  # a stop ended a training in this cell: skip the cell's other trainings
    pending = False    # a stop was asked for while fit runs: stop after the current step
    fitting = False
    watching = False


_stop = _Stop()


def request_stop():
    """Ask a running fit to stop after its current step; a second request, or one while
    no fit runs, interrupts at once (KeyboardInterrupt)."""
    if _stop.fitting and not _stop.pending:
        _stop.pending = True
        return
    raise KeyboardInterrupt


def stop_pending():
    return _stop.pending


def stop_requested():
    return _stop.requested


def mark_stopped():
    _stop.requested = True


def clear_stop():
    """Forget an earlier stop request, so that fit trains again (done at each new notebook cell)."""
    _stop.requested = False


@contextlib.contextmanager
def stops_between_steps():
    """While fit runs: Ctrl-C (the stop button) asks for a stop after the current step."""
    _watch_cells()
    _stop.fitting, _stop.pending = True, False
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGINT)
        # A shell starts background jobs with SIGINT ignored (leave it so); None: not set from Python.
        if previous in (signal.SIG_IGN, None):
            previous = None
        else:
            signal.signal(signal.SIGINT, lambda signum, frame: request_stop())
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        _stop.fitting = _stop.pending = False


def _watch_cells():
    """In IPython, forget a stop request when the next cell starts: one press of
    the stop button stops the rest of its cell's training, not later cells'."""
    if _stop.watching:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.events.register("pre_run_cell", lambda *args: clear_stop())
        _stop.watching = True
