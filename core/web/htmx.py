"""One helper decides between a full page and a fragment for htmx requests; another gives
templates a blueprint's helpers.

A fragment is a named block of the page's own template, so there is a single source for both.
Requests and response headers come from ``flask-htmx`` (see docs/architecture.md for why this
package rather than ``htmx-flask``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, make_response, render_template

from core.extensions import htmx


def wants_fragment() -> bool:
    """True for htmx requests that swap part of a page (boosted navigation wants the page)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_block(template_name: str, block: str, **context: Any) -> str:
    """Render one block alone. It sees ``context`` but not the template's top level, so
    macros it uses are imported (and variables set) inside the block."""
    env = current_app.jinja_env
    template = env.get_or_select_template(template_name)
    current_app.update_template_context(context)
    ctx = template.new_context(context)
    return env.concat(template.blocks[block](ctx))


def render(template_name: str, *, block: str | None = None, status: int = 200,
           **context: Any) -> Response:
    """Render the page, or only ``block`` of it for an htmx request; always ``Vary: HX-Request``."""
    if block is not None and wants_fragment():
        body = render_block(template_name, block, **context)
    else:
        body = render_template(template_name, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def template_globals(bp: Blueprint, **values: Any) -> None:
    """Offer ``values`` (functions, labels) to every template of the app that registers ``bp``,
    once: a context processor would build and merge them again on every render."""
    bp.record_once(lambda state: state.app.jinja_env.globals.update(values))
