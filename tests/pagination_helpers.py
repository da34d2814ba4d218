"""One check for every paginated list (core/web/pagination.py and the ``_pager.html`` macro):
the pages share the items out, the count is the whole list's, bad page numbers fall back."""

from __future__ import annotations

import re
from collections.abc import Sequence

from flask.testing import FlaskClient

from core.web.pagination import PAGE_SIZE


def shown(html: str, markers: Sequence[str]) -> set[str]:
    return {marker for marker in markers if marker in html}


def with_page(url: str, value: str, param: str = "page") -> str:
    return f"{url}{'&' if '?' in url else '?'}{param}={value}"


def check_pages(client: FlaskClient, url: str, markers: Sequence[str], count_text: str, *,
                size: int = PAGE_SIZE, param: str = "page", fragment: bool = True) -> None:
    """``markers``: one text per item that only its row shows (more than ``size``, fewer than
    two pages' worth); ``count_text``: how the page says the whole list's count.

    Page 1 shows ``size`` items and page 2 the rest; the pager marks the current page and links
    to the other (plain links, and htmx attributes where the list is a fragment); text,
    negative, zero, spaced and huge page numbers never fail: page 1, or past the end the last
    page."""
    assert size < len(markers) <= 2 * size
    first = client.get(url)
    assert first.status_code == 200, url
    html = first.text
    on_first = shown(html, markers)
    assert len(on_first) == size and count_text in html
    nav = re.search(r'<nav class="pager" aria-label="[^"]+">.*?</nav>', html, re.S)
    assert nav is not None, "no pager"
    assert 'aria-current="page"' in nav.group(0) and ">1<" in nav.group(0)
    assert f"{param}=2" in nav.group(0) and 'rel="next"' in nav.group(0)
    second = client.get(with_page(url, "2", param))
    assert second.status_code == 200
    on_second = shown(second.text, markers)
    assert on_second == set(markers) - on_first and count_text in second.text
    assert 'rel="prev"' in second.text
    for bad in ("abc", "-1", "0", "1.5", "%C2%B2", ""):
        again = client.get(with_page(url, bad, param))
        assert again.status_code == 200, bad
        assert shown(again.text, markers) == on_first, bad
    for past in ("3", "99999999999999999999"):
        last = client.get(with_page(url, past, param))
        assert last.status_code == 200, past
        assert shown(last.text, markers) == on_second, past
    if fragment:
        part = client.get(with_page(url, "2", param), headers={"HX-Request": "true"})
        assert part.status_code == 200 and "<html" not in part.text
        assert shown(part.text, markers) == on_second
        assert "hx-get=" in part.text and 'hx-push-url="true"' in part.text
