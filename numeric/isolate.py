"""Running a model file in its own process, with a time and a memory limit.

A model file is the user's own code: it may sleep, loop, start threads that never end, call
``os._exit`` or ``sys.exit``, raise ``KeyboardInterrupt`` from ``loss``, allocate without bound or
crash the interpreter. ``check_file`` runs ``check_model_file`` in a child process (the
``forkserver`` start method where the platform has it, else ``spawn``: never a plain ``fork`` of
a process that may hold threads) and turns whatever the child did into one of three outcomes:

* a ``Report`` (the check ran; its verdict is the report's own);
* ``FileProblem``, a ``DeriveError`` (exit 2): the file could not be loaded or run to the end,
  with one line saying what it did (raised, exited, hung past the time limit, ran out of memory,
  was killed by a signal, left a non-daemon thread running that may have changed what the loss
  reads while it was checked);
* ``IsolationBug``, a ``RuntimeError`` (exit 70 through the CLI's error policy): derive itself
  failed in the child.

The child sits in its own session, so a time limit ends it and every process it started. It
talks to the parent over a pipe: progress messages, then one result. The child's standard
output is joined to its standard error, so nothing the file prints can reach the report.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import threading
import time
from multiprocessing.connection import wait
from typing import Callable, Optional

from derive.errors import DeriveError

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_MEMORY", "FileProblem", "IsolationBug", "check_file", "parse_memory",
           "format_memory"]

DEFAULT_TIMEOUT = 60.0            # seconds for one file: loading it and the whole check
DEFAULT_MEMORY = 4 * 2 ** 30      # bytes of address space for the child (RLIMIT_AS)
_GRACE = 2.0                      # seconds a child that sent its result gets to exit by itself

# The modules every check needs, imported once by the fork server instead of once per file.
_PRELOAD = ["numeric.check", "numeric.modelfile"]


class FileProblem(DeriveError):
    """The model file could not be loaded or run to the end of the check (exit 2).

    Attributes
    ----------
    kind : str
        One of {"bad file", "timeout", "exited", "crashed", "out of memory", "stray thread"}.
    zh : str or None
        The message in Chinese (``check-grad --lang zh``).
    """

    def __init__(self, message: str, kind: str = "bad file", zh: Optional[str] = None):
        super().__init__(message)
        self.kind = kind
        self.zh = zh


class IsolationBug(RuntimeError):
    """derive itself failed while checking a file in the child process (a bug: exit 70)."""


# ------------------------------------------------------------------------------------------
# Sizes

_UNITS = {"": 1, "b": 1, "k": 2 ** 10, "kb": 2 ** 10, "kib": 2 ** 10, "m": 2 ** 20, "mb": 2 ** 20, "mib": 2 ** 20,
          "g": 2 ** 30, "gb": 2 ** 30, "gib": 2 ** 30, "t": 2 ** 40, "tb": 2 ** 40, "tib": 2 ** 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*")
_MIN_MEMORY = 256 * 2 ** 20       # below this the child cannot even import NumPy


def parse_memory(text: str) -> Optional[int]:
    """A memory limit from the command line: ``4G``, ``512M``, ``1.5GiB``, ``2000000000``; ``none``.

    Units are binary (``1G`` is 2³⁰ bytes). Returns the number of bytes, or None for no limit.

    Raises
    ------
    DeriveError
        Not a size, or below 256 MiB.

    Examples
    --------
    >>> parse_memory("4G") == 4 * 2 ** 30, parse_memory("none")
    (True, None)
    """
    if text.strip().lower() in ("none", "unlimited"):
        return None
    m = _SIZE.fullmatch(text)
    unit = m.group(2).lower() if m else None
    if unit not in _UNITS:
        raise DeriveError(f"--memory: {text!r} is not a size (examples: 4G, 512M, none)")
    size = int(float(m.group(1)) * _UNITS[unit])
    if size < _MIN_MEMORY:
        raise DeriveError(f"--memory: {text} is too small; the check needs at least {format_memory(_MIN_MEMORY)}")
    return size


def format_memory(size: Optional[int], lang: str = "en") -> str:
    """``4 GiB``, ``512 MiB``, or ``no limit`` (``无``: in Chinese)."""
    if size is None:
        return "无" if lang == "zh" else "no limit"
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


# ------------------------------------------------------------------------------------------
# The child


def _user_frame(exc: BaseException, path: str):
    """(line, function) of the innermost frame of ``exc``'s traceback in the model file, or None."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        try:
            if os.path.samefile(code.co_filename, path):
                found = (tb.tb_lineno, code.co_name)
        except OSError:
            pass
        tb = tb.tb_next
    return found


def _describe_raise(exc: BaseException, name: str, frame) -> tuple:
    """What the file raised, in English and in Chinese (the exception's own words quoted as they are)."""
    line, func = frame
    where = "at top level" if func == "<module>" else f"in {func}()"
    where_zh = "顶层代码" if func == "<module>" else f"{func}() 中"
    msg = " ".join(str(exc).split())
    what = type(exc).__name__ + (f"({msg})" if isinstance(exc, SystemExit) else f": {msg}" if msg else "")
    what_zh = f"`{type(exc).__name__}`" + (f"({msg})" if isinstance(exc, SystemExit) else f"：“{msg}”" if msg else "")
    return (f"{name}: line {line} ({where}) raised {what}; the check did not run to the end",
            f"{name}：第 {line} 行（{where_zh}）抛出 {what_zh}；梯度检验没有运行完")


def _child(conn, path: str, cwd: str, options: dict, memory: Optional[int]) -> None:
    """Run one check and send its outcome; never returns (``os._exit``, so the file's threads
    cannot keep the process alive)."""
    try:
        conn.send(("started", None))  # from here on, an exit without a result is the file's doing
    except BaseException:            # noqa: B036 -- the parent is gone (interrupted while starting us)
        os._exit(1)
    name = os.path.basename(str(path))
    try:
        os.setsid()                  # our own process group: a time limit ends all of it
        os.chdir(cwd)                # the file sees the folder derive was started in, as in-process
        if memory is not None:
            import resource

            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            resource.setrlimit(resource.RLIMIT_AS, (memory if hard == resource.RLIM_INFINITY else min(memory, hard), hard))
        os.dup2(2, 1)                # what the file prints goes to stderr, never into the report
        from numeric.check import check_model_file

        report = check_model_file(path, progress=lambda text: conn.send(("progress", text)), **options)
        stray = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
        if stray:
            # It may have changed what the loss reads while the check ran: the report cannot be trusted.
            outcome = ("stray thread", (f"{name}: started a thread that was still running when the check ended "
                       f"({', '.join(stray)}; not a daemon): the result cannot be trusted, and the thread was stopped",
                       f"{name}：启动的线程在梯度检验结束时仍在运行（{'、'.join(f'“{t}”' for t in stray)}；不是守护线程）："
                       "结果不可信，该线程已被停止"))
        else:
            outcome = ("report", report)
    except DeriveError as exc:
        outcome = ("bad file", (str(exc), getattr(exc, "zh", None)))
    except MemoryError:
        outcome = ("out of memory", (f"{name}: ran out of memory (limit {format_memory(memory)}; --memory to change it)",
                                     f"{name}：内存不足（上限 {format_memory(memory, 'zh')}；用 --memory 修改）"))
    except BaseException as exc:     # noqa: B036 -- in this child every BaseException is the file's or a bug
        frame = _user_frame(exc, path)
        if frame is not None or not isinstance(exc, Exception):
            outcome = ("bad file", _describe_raise(exc, name, frame) if frame else
                       (f"{name}: raised {type(exc).__name__}; the check did not run to the end",
                        f"{name}：抛出 `{type(exc).__name__}`；梯度检验没有运行完"))
        else:
            outcome = ("bug", f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    try:
        conn.send(outcome)
    except BaseException as exc:     # noqa: B036 -- e.g. a report that does not pickle: still one message
        try:
            conn.send(("bug", f"sending the result failed: {type(exc).__name__}: {exc}"))
        except BaseException:        # noqa: B036 -- the channel itself is gone; the parent sees the exit
            pass
    os._exit(0)


# ------------------------------------------------------------------------------------------
# The parent


def _context():
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _end(process) -> None:
    """Kill the child's process group (the child and whatever it started), then reap the child."""
    if process.pid is None:          # interrupted before it was started
        return
    for kill in (lambda: os.killpg(process.pid, signal.SIGKILL), process.kill):
        try:
            kill()
        except (ProcessLookupError, PermissionError, OSError):
            pass
    process.join()


def _exit_problem(name: str, exitcode: Optional[int], memory: Optional[int]) -> FileProblem:
    if exitcode is not None and exitcode < 0:
        sig = -exitcode
        if sig == signal.SIGKILL:
            return FileProblem(f"{name}: the process running it was killed (SIGKILL; out of memory? limit "
                               f"{format_memory(memory)}, --memory to change it)", "crashed",
                               f"{name}：运行它的进程被杀死（`SIGKILL`；内存不足？上限 {format_memory(memory, 'zh')}，"
                               "用 --memory 修改）")
        return FileProblem(f"{name}: the process running it crashed ({_signal_name(sig)})", "crashed",
                           f"{name}：运行它的进程崩溃了（`{_signal_name(sig)}`）")
    return FileProblem(f"{name}: exited with status {exitcode} before the check finished (os._exit or a "
                       "thread calling sys.exit?); nothing was checked", "exited",
                       f"{name}：梯度检验结束前以状态 {exitcode} 退出（`os._exit`，或某个线程调用了 `sys.exit`？）；"
                       "什么也没有检验")


def check_file(path, *, timeout: Optional[float] = DEFAULT_TIMEOUT, memory: Optional[int] = DEFAULT_MEMORY,
               progress: Optional[Callable[[str], None]] = None, **options):
    """``check_model_file(path, **options)`` in a child process, with a time and a memory limit.

    Parameters
    ----------
    path : str or path-like
        The model file.
    timeout : float or None
        Seconds for loading the file and the whole check; None: no limit.
    memory : int or None
        Bytes of address space for the child (``RLIMIT_AS``); None: no limit.
    progress : callable, optional
        Called in this process with the child's progress messages.
    **options
        ``mode``, ``seed``, ``max_coords``, ``sample_size``, ``directional_above``: as for
        ``check_model_file``.

    Returns
    -------
    Report

    Raises
    ------
    FileProblem
        The file is not a readable model file, or it raised, exited, hung past ``timeout``, ran
        out of memory or crashed before the check finished (one line saying which).
    IsolationBug
        derive failed in the child.
    """
    from .modelfile import check_source

    check_source(path)               # a folder, a device, a huge file: refused before any process starts
    name = os.path.basename(str(path))
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(send, str(path), os.getcwd(), options, memory), daemon=True)
    answered = started = False
    try:
        process.start()
        send.close()                 # only the child holds the sending end: its death is an EOF here
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise FileProblem(f"{name}: still running after {timeout:g} s (--timeout): stopped; does it "
                                  "sleep, loop or wait for input?", "timeout",
                                  f"{name}：{timeout:g} 秒后仍在运行（--timeout）：已停止；它是否在休眠、"
                                  "死循环或等待输入？")
            if not wait([receive, process.sentinel], left):
                continue
            try:
                # Not readable means the child is gone and left nothing (a process the file forked
                # may still hold the pipe open, so no end of file can be waited for).
                if not receive.poll():
                    raise EOFError
                message = receive.recv()
            except (EOFError, OSError):
                process.join(_GRACE)
                if not started:
                    raise IsolationBug(f"the process to check {name} in failed to start (exit status "
                                       f"{process.exitcode}); is the main module importable by multiprocessing?") from None
                raise _exit_problem(name, process.exitcode, memory) from None
            except Exception as exc:  # the file wrote its own bytes into the result channel
                raise FileProblem(f"{name}: garbled derive's result channel ({type(exc).__name__})",
                                  zh=f"{name}：弄乱了 derive 传回结果的通道（`{type(exc).__name__}`）") from None
            if not (isinstance(message, tuple) and len(message) == 2):
                raise FileProblem(f"{name}: garbled derive's result channel", zh=f"{name}：弄乱了 derive 传回结果的通道")
            kind, payload = message
            if kind == "started":
                started = True
                continue
            answered = kind != "progress"
            if kind == "progress":
                if progress is not None:
                    progress(str(payload))
                continue
            if kind == "report":
                return payload
            if kind == "bug":
                raise IsolationBug(f"checking {name} in a child process: {payload}")
            # a file problem comes in both languages
            english, chinese = payload if isinstance(payload, tuple) and len(payload) == 2 else (payload, None)
            raise FileProblem(str(english), kind, chinese)
    finally:
        if answered:                 # it exits by itself at once; a stray thread of the file cannot stop that
            process.join(_GRACE)
        _end(process)
        send.close()
        receive.close()
