"""Writing output files without harming what is there.

A regular file is replaced atomically: a reader never sees half of it, an error or an interrupt
leaves the old file and no temporary file behind, and the file keeps its permission bits (a new
file gets the ones the umask allows). A symlink is followed and its target written; a file with
other hard links is rewritten in place, so that every name still shows the new content; a device,
a FIFO or ``-`` is written as a stream, never replaced.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

from .errors import DeriveError, said

# Why the system refused, in Chinese (its own strerror is English); other errors give their number.
_WHY_ZH = {errno.EACCES: "没有权限", errno.EPERM: "没有权限", errno.ENOENT: "文件或文件夹不存在",
           errno.EISDIR: "是文件夹", errno.ENOTDIR: "路径中有一段不是文件夹", errno.ENOSPC: "磁盘已满",
           errno.EROFS: "文件系统只读", errno.EPIPE: "管道已关闭"}


def why_zh(exc: OSError) -> str:
    """Why the system refused, in Chinese: the common reasons by name, any other by its number."""
    return _WHY_ZH.get(exc.errno, f"错误码 {exc.errno}")


def cannot_write(target, exc: OSError) -> DeriveError:
    """The error for ``target`` that the system refused to write, in English and Chinese."""
    return said(f"cannot write {target}: {exc.strerror}", f"无法写入 {target}：{why_zh(exc)}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stream(target, raw: bytes) -> None:
    try:
        if target is None:
            sys.stdout.flush()
            sys.stdout.buffer.write(raw)
            sys.stdout.buffer.flush()
            return
        with open(target, "wb", buffering=0) as fh:
            fh.write(raw)
    except OSError as exc:
        if target is None:
            raise said(f"cannot write standard output: {exc.strerror}",
                       f"无法写入标准输出：{why_zh(exc)}") from None
        raise cannot_write(target, exc) from None


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` to ``path`` (see the module's docstring for what happens to what is there).

    Raises
    ------
    DeriveError
        When the folder is missing or not writable, or ``path`` is a folder; the old file, if
        any, is left as it was.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if str(path) == "-":
        return _stream(None, raw)
    target = Path(os.path.realpath(path))  # a symlink's target, as a user writing through it means
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise cannot_write(path, exc) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise said(f"cannot write {path}: it is a folder", f"无法写入 {path}：它是文件夹")
    if info is not None and not stat.S_ISREG(info.st_mode):
        return _stream(target, raw)  # a device or a FIFO: write to it, never replace it
    if info is not None and info.st_nlink > 1:
        return _stream(target, raw)  # keep the other names of this file pointing at it
    folder = target.parent
    if not folder.is_dir():
        raise said(f"cannot write {path}: folder {Path(path).parent} does not exist",
                   f"无法写入 {path}：文件夹 {Path(path).parent} 不存在")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp, stat.S_IMODE(info.st_mode) if info else 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as exc:  # an error, Ctrl-C or SIGTERM: no temporary file stays behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise cannot_write(path, exc) from None
        raise
