"""The embedded server's process: runs a server module, and ends the moment its parent is gone.

`python -m imr_llm.embedded_child FD MODULE [ARGS …]` runs `MODULE` as `python -m MODULE ARGS`
would (for the embedded model, `llama_cpp.server`). `FD` is the read end of a pipe whose only
write end the parent holds. A daemon thread blocks reading it: the parent never writes, so the
read returns only at end-of-file, which the kernel delivers when the parent's end is closed —
because the parent stopped the server, exited, or died in any way at all (SIGTERM, SIGKILL, a
crash). The thread then ends the process with `os._exit`, at once, even in the middle of a
completion: llama-cpp-python's ctypes calls release the GIL, and uvicorn's graceful SIGTERM
handling, which waits for the request in flight, is not involved.

Why a pipe rather than Linux's `PR_SET_PDEATHSIG`: that signal fires when the *thread* that
started the child exits, and the server is started lazily from whichever worker thread first
needs it; it is also Linux-only. The pipe behaves the same on Linux and macOS. (A process forked
from the parent without exec inherits the write end and keeps the server alive until it exits
too.)
"""

from __future__ import annotations

import os
import runpy
import sys
import threading

PARENT_GONE = 0
"""Exit status when the parent went away: a normal end, not a crash."""


def _exit_when_parent_gone(fd: int) -> None:
    while os.read(fd, 4096):  # the parent never writes: only end-of-file returns empty
        pass
    os._exit(PARENT_GONE)


def main(argv: list[str]) -> None:
    fd, module, *args = argv
    threading.Thread(target=_exit_when_parent_gone, args=(int(fd),), name="parent-watch", daemon=True).start()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
