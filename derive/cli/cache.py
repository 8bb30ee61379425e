"""`derive cache`: where the output cache is, how big, and emptying it."""

from __future__ import annotations

import click

from .. import cache as store
from .output import emit


@click.group(name="cache")
def cache_group():
    """The cache of rendered derivations (see README: Speed and the output cache).

    \b
      derive cache info
      derive cache clear
    """


@cache_group.command(name="info")
def info():
    """Print the cache's folder, its number of entries and their size."""
    where = store.folder()
    if where is None:
        emit("the cache is off (DERIVE_NO_CACHE=1)")
        return
    files = store.entries(where)
    size = sum(p.stat().st_size for p in files)
    emit(f"{where}\n{len(files)} entries, {size / 2**20:.1f} MiB of at most {store.LIMIT_BYTES / 2**20:.0f} MiB")


@cache_group.command(name="clear")
def clear():
    """Remove every entry of the cache."""
    count, size = store.clear()
    click.echo(f"derive: removed {count} cache entries ({size / 2**20:.1f} MiB)", err=True)
