"""Every operator page is reachable from /ops/tenants by following links only (issue 19,
item 8): an operator never has to type an address to reach a duty of the console."""

from __future__ import annotations

from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from tests.webapp.test_operator_console import operator


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.found.append(href)


def _links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.found


def test_every_operator_page_is_reached_from_the_registry_by_links(app):
    client = operator(app, "admin")
    start = "/ops/tenants"
    seen, queue = {start}, deque([start])
    while queue:
        path = queue.popleft()
        response = client.get(path)
        assert response.status_code == 200, path
        if not response.mimetype.startswith("text/html"):
            continue
        for href in _links(response.get_data(as_text=True)):
            target = urldefrag(href).url
            parts = urlsplit(target)
            if parts.netloc or not parts.path.startswith("/ops/"):
                continue
            if target not in seen:
                seen.add(target)
                queue.append(target)
    reached = {urlsplit(path).path for path in seen}
    # Every page of the console without a parameter in its address, and at least one page of
    # each kind with one (the registry's base tenants give them something to show).
    fixed = {rule.rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/ops/") and "GET" in (rule.methods or ())
             and not rule.arguments}
    assert fixed - reached == set()
    for pattern in ("/ops/tenants/", "/ops/processor-registers/"):
        assert any(path.startswith(pattern) for path in reached), pattern
