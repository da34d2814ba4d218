"""Counters shared by the processes of one instance folder, read without a round trip.

A process that keeps something read from the database (a rendered page, a tenant's consent
configuration, a registry row) must learn when another process changes it. Each kind of thing
has a counter, bumped after a change commits; what was kept is served only while the counter
is what it was when it was read. The counters live in a small file that every process (web
workers, the job worker, CLI commands) maps in memory: a read is a memory read, a bump takes an
``flock``. Processes on other hosts and SQL typed by hand do not bump them: what is kept also
has a lifetime, which bounds how long their changes take to show.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
import zlib
from pathlib import Path
from typing import cast

from flask import Flask

_bumping = threading.Lock()


class Generations:
    """Generation numbers shared by the processes that map ``path``.

    ``slots`` counters of 8 bytes in a file mapped in memory (opened lazily, again after a
    fork); a name's counter is the slot it hashes to, so two names may share one (a bump of
    either counts for both: safe, what either kept is read again). Bumps take an ``flock`` on
    the file; reads take none. Without a path, or a folder that cannot be written, the numbers
    are this process's own.
    """

    def __init__(self, path: Path | None, slots: int = 8192) -> None:
        self.path = path
        self.slots, self.size = slots, slots * 8
        self.pid = 0
        self.fd = -1
        self.memory: mmap.mmap | bytearray = bytearray(self.size)

    def _open(self) -> mmap.mmap | bytearray:
        if self.pid != os.getpid():  # first use in this process (or a fork's child)
            self.pid, self.fd, self.memory = os.getpid(), -1, bytearray(self.size)
            if self.path is not None:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                    if os.fstat(fd).st_size < self.size:
                        os.ftruncate(fd, self.size)  # zeros; a shorter file is only grown
                    self.memory, self.fd = mmap.mmap(fd, self.size), fd
                except OSError:
                    pass
        return self.memory

    def _offset(self, name: str) -> int:
        return (zlib.crc32(name.encode()) % self.slots) * 8

    def get(self, name: str = "") -> int:
        return int(struct.unpack_from("Q", self._open(), self._offset(name))[0])

    def bump(self, name: str = "") -> None:
        memory, offset = self._open(), self._offset(name)
        with _bumping:
            if self.fd >= 0:
                fcntl.flock(self.fd, fcntl.LOCK_EX)
            try:
                value = struct.unpack_from("Q", memory, offset)[0]
                struct.pack_into("Q", memory, offset, (value + 1) % (1 << 64))
            finally:
                if self.fd >= 0:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)


def of_app(app: Flask, filename: str, slots: int = 8192) -> Generations:
    """The counters in ``<instance>/<filename>`` of ``app``, one mapping per app (in memory
    only without an instance folder)."""
    key = f"parvis_{filename.replace('-', '_')}"
    found = app.extensions.get(key)
    if found is None:
        folder = app.config.get("INSTANCE_PATH")
        found = app.extensions[key] = Generations(
            Path(folder) / filename if folder else None, slots)
    return cast(Generations, found)
