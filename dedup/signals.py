"""SIGTERM ended as Ctrl-C is: for the main process of a program (the CLI, ``pipelines/nightly.py``).

Schedulers stop a job with SIGTERM (``timeout``, systemd, Kubernetes, CI runners), whose default action
ends a Python process on the spot: no ``finally`` runs, so the state's lock, a temporary output folder
and ``.partial`` files are left for the next run to find, and nothing says why the run ended.
:func:`sigterm_interrupts` makes SIGTERM raise :class:`Terminated`, a :class:`KeyboardInterrupt`, so
every cleanup path of Ctrl-C runs unchanged, and the program tells the two apart to report it.

The library never installs it (``import dedup`` and :func:`dedup.run` leave the host's signal handlers
alone): only a program's entry point does, around its run.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: A program's exit code when SIGTERM ended it, as a shell reports a command killed by signal 15.
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM (under :func:`sigterm_interrupts`): handled as Ctrl-C, reported apart."""


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread; the previous handler is
    restored on the way out. Outside the main thread (where Python runs no handler) it does nothing.

    Only the first SIGTERM raises: ``timeout`` sends its signal to the command and then to the whole
    process group, and a second one must not cut the cleanup the first started short. A process forked
    within the block inherits the handler: there (a worker of :mod:`dedup.align.parallel`) SIGTERM has its
    default action, so the worker ends at once and never runs its parent's cleanup.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()
    raised = False

    def terminate(signum: int, frame: object) -> None:
        nonlocal raised
        if os.getpid() != owner:   # a forked child: end as SIGTERM would have ended it without this handler
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        if not raised:
            raised = True
            raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)   # None: not Python's
