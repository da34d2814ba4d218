"""Parvis served by gunicorn in a child process, and driven over HTTP on loopback.

For benchmarks and tests that measure through real sockets and real worker processes (the
burst of sign-ups, a worker killed under load), where a WSGI call in the same process would
hide what matters: several processes sharing one database, each with its own pool.

* ``app_env``: the environment of a Parvis process (instance folder, database, outbox mail,
  SQLite job queue, base URL for e-mailed links).
* ``gunicorn``: ``gunicorn wsgi:app`` with N sync workers on a free loopback port below 32768,
  ready when every worker answers; stopped (TERM, then KILL) at the end.
* ``job_worker``: ``flask --app wsgi jobs worker`` beside it; ``redis_server``: a throw-away
  Redis for the job queue, as production runs it.
* ``outbox_links``: the links e-mailed so far (``.eml`` files of the outbox mail backend).
* ``form_token``: the CSRF token of a page's form.

Traffic goes to 127.0.0.1 only; every loop here is bounded in count and time.
"""

from __future__ import annotations

import email
import email.policy
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LINK_RE = re.compile(r"https?://[^\s\"<>]+")


def free_port() -> int:
    """A free TCP port on 127.0.0.1, below 32768 (outside the usual ephemeral range)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 32000")


def app_env(instance: Path, database_url: str, *, base_url: str = "",
            **settings: str) -> dict[str, str]:
    """The environment of a Parvis process on ``database_url`` with ``instance`` as its folder:
    e-mails as files in ``<instance>/outbox/``, jobs in ``<instance>/jobs.db`` (a worker runs
    them), a fixed secret key; ``settings`` are more ``PARVIS_*`` values (without the prefix)."""
    instance.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PARVIS_")}
    env.update({
        "PARVIS_INSTANCE_PATH": str(instance),
        "PARVIS_DATABASE_URL": database_url,
        "PARVIS_TENANT_DATA_DIR": str(instance / "tenants"),
        "PARVIS_SECRET_KEY": "http-load-secret-key",
        "PARVIS_MAIL_URL": "outbox",
        "PARVIS_JOBS_BACKEND": "sqlite",
        "PARVIS_BASE_URL": base_url or "http://127.0.0.1:5000",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({f"PARVIS_{key}": value for key, value in settings.items()})
    return env


@dataclass
class Served:
    """A running gunicorn: its base URL and master process."""

    url: str
    process: subprocess.Popen
    workers: int

    def worker_pids(self) -> list[int]:
        """The master's children (its workers), from /proc."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def wait_workers(self, timeout: float = 30.0) -> None:
        """Until ``workers`` workers run and the site answers (a worker restarted, say)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.worker_pids()) >= self.workers and _answers(self.url):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            time.sleep(0.1)
        raise TimeoutError(f"gunicorn did not have {self.workers} workers within {timeout} s")


    def kill_worker(self, timeout: float = 30.0) -> int:
        """SIGKILL one worker, then wait until gunicorn has reaped and replaced it; its pid."""
        victim = self.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while victim in self.worker_pids():
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker {victim} was not reaped within {timeout} s")
            time.sleep(0.05)
        self.wait_workers(max(deadline - time.monotonic(), 1.0))
        return victim


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def _child(command: list[str], env: Mapping[str, str], log_path: Path,
           ) -> Iterator[subprocess.Popen]:
    """A child process in its own session, its output in ``log_path``; TERM then KILL at the
    end (its whole process group: gunicorn's workers, the job worker's threads)."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=log,  # noqa: S603
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


@contextmanager
def gunicorn(env: Mapping[str, str], log_path: Path, *, workers: int = 4,
             port: int | None = None, timeout: int = 60,
             app: str = "wsgi:app") -> Iterator[Served]:
    """``gunicorn wsgi:app`` (or ``app``), ``workers`` sync workers on 127.0.0.1:``port`` (a
    free one by default); yields once every worker is up and the site answers."""
    port = port or free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers),
               "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
               "--timeout", str(timeout), "--graceful-timeout", "5", "--backlog", "2048",
               app]
    with _child(command, env, log_path) as process:
        served = Served(f"http://127.0.0.1:{port}", process, workers)
        served.wait_workers(timeout=60)
        yield served


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A throw-away ``redis-server`` on a free loopback port below 32768 (no persistence: the
    jobs themselves live in the outboxes); yields its URL for ``PARVIS_JOBS_BACKEND``."""
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is missing (make test installs it)")
    port = free_port()
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(folder)]
    with _child(command, os.environ, folder / "redis.log"):
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"


@contextmanager
def job_worker(env: Mapping[str, str], log_path: Path, *, nice: int = 0,
               ) -> Iterator[subprocess.Popen]:
    """``flask --app wsgi jobs worker``: runs the queued jobs (e-mails) beside the server;
    ``nice``: at that lower CPU priority (docs/architecture.md, "Operations")."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    with _child(command, env, log_path) as process:
        yield process


def form_token(html: str) -> str:
    """The CSRF token of the (first) form of a page."""
    found = TOKEN_RE.search(html)
    if found is None:
        raise ValueError("no csrf_token in the page")
    return found.group(1)


def outbox_links(instance: Path, marker: str) -> dict[str, str]:
    """Recipient -> the last link containing ``marker`` e-mailed to them so far (the outbox
    mail backend's ``.eml`` files; a file still being written is skipped)."""
    found: dict[tuple[float, str], tuple[str, str]] = {}
    for path in (instance / "outbox").glob("*.eml"):
        try:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            stamp = path.stat().st_mtime
        except (OSError, ValueError):
            continue
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        links = [link for link in LINK_RE.findall(text) if marker in link]
        if links and message["To"]:
            found[(stamp, path.name)] = (str(message["To"]), links[0])
    return {to: link for _key, (to, link) in sorted(found.items())}


def wait_for_links(instance: Path, marker: str, recipients: set[str],
                   timeout: float) -> dict[str, str]:
    """Links for every one of ``recipients`` (or as many as arrived within ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        links = outbox_links(instance, marker)
        if recipients <= links.keys() or time.monotonic() > deadline:
            return {to: link for to, link in links.items() if to in recipients}
        time.sleep(0.25)


# --- a load generator that is not the bottleneck ------------------------------------------------
#
# ``requests`` costs a millisecond or more of Python per request, and one thread per request
# at 150 requests/s on the cores that also run the server starves the generator itself: its
# latencies then measure its own queue for the GIL. These send pre-built HTTP/1.1 bytes over
# asyncio sockets, one connection per request (as gunicorn's sync workers close each one),
# and time each request from the moment it starts connecting to its last byte.


@dataclass
class RawAnswer:
    """One HTTP exchange: status (0: no answer), headers (lower-case names, the last of
    repeated ones), cookies set, body, and the seconds from connecting to the last byte."""

    status: int
    seconds: float
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes = b""


def raw_request(method: str, url: str, *, cookies: Mapping[str, str] | None = None,
                form: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None) -> bytes:
    """The bytes of one HTTP/1.1 request to ``url`` (``http://host:port/path``), the form
    URL-encoded, ``Connection: close``."""
    from urllib.parse import urlencode, urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    body = urlencode(dict(form)).encode() if form is not None else b""
    lines = [f"{method} {path or '/'} HTTP/1.1", f"Host: {parts.netloc}",
             "User-Agent: parvis-bench", "Accept: */*", "Connection: close"]
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    if form is not None:
        lines += ["Content-Type: application/x-www-form-urlencoded",
                  f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def exchange(host: str, port: int, request: bytes, *, timeout: float = 120.0,
                   ) -> RawAnswer:
    """Send ``request`` on a new connection and read the answer (headers, then
    Content-Length bytes or up to the close)."""
    import asyncio

    began = time.perf_counter()
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers: dict[str, str] = {}
            cookies: dict[str, str] = {}
            for line in lines[1:]:
                if ":" not in line:
                    continue
                name, value = line.split(":", 1)
                name, value = name.strip().lower(), value.strip()
                headers[name] = value
                if name == "set-cookie":
                    key, _, rest = value.partition("=")
                    cookies[key.strip()] = rest.split(";", 1)[0]
            length = headers.get("content-length")
            body = (await reader.readexactly(int(length)) if length is not None
                    else await reader.read())
            seconds = time.perf_counter() - began
    except (OSError, TimeoutError, ValueError, IndexError, EOFError,
            asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return RawAnswer(0, time.perf_counter() - began, {}, {})
    finally:
        if writer is not None:
            writer.close()
    return RawAnswer(status, seconds, headers, cookies, body)
