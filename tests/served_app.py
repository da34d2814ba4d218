"""``gunicorn tests.served_app:app``: Parvis as ``wsgi.py`` serves it, with a cheap password hash.

Tests that drive a real server (tests/served.py) check what concurrency does to the data, not
how fast argon2 is: with its production cost a sign-up takes ~100 ms of CPU, and a burst of
them would take minutes on a busy 2-core machine. Shorter requests only make the contention
for the database tighter. bench/burst.py measures with the real cost.
"""

from argon2 import PasswordHasher

from core.web import passwords

passwords.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

from wsgi import app  # noqa: E402 -- after the hasher is swapped

__all__ = ["app"]
