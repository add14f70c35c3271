"""Markdown bodies rendered once, on write, to HTML that is safe to insert into a page.

markdown-it-py (CommonMark, raw HTML off) renders; nh3 (the Rust `ammonia` sanitizer)
keeps only an allowlist of tags and attributes, drops event handlers and scripts, allows
only http, https and mailto URLs, and sets `rel="nofollow ugc noopener"` on every link.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable("strikethrough").enable("table")

_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "a", "img",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}


def render_markdown(source: str) -> str:
    """Markdown source as written → sanitized HTML."""
    return nh3.clean(
        _markdown.render(source),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    )
