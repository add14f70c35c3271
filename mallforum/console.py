"""The moderators' GraphQL console: GraphiQL, served from this package, so it works where
the public internet does not (a mall's intranet, a blocked CDN).

The page (`GET /graphql` from a browser) loads only files under `/console/`: GraphiQL 4.1.2
and React 18.3.1 as published on npm (vendored by `scripts/vendor-console`, with their
licences and checksums) and `console.js`, which points GraphiQL at the page's own
`/graphql` and fills its tabs with a moderator's everyday operations. GraphiQL 4.1 is the
last release with a browser build that needs no bundler.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

DIRECTORY = Path(__file__).with_name("data") / "console"

#: Scripts and styles from this origin only; the editors set inline styles.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@cache
def _page() -> str:
    return (DIRECTORY / "index.html").read_text(encoding="utf-8")


def page() -> Response:
    return HTMLResponse(
        _page(),
        headers={
            "Content-Security-Policy": POLICY,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Vary": "Accept",
        },
    )


class ConsoleFiles(StaticFiles):
    """The console's files: the vendored ones carry their version in their path and never
    change (cached for a year); the console's own are revalidated (ETag) on each load."""

    def file_response(self, full_path, stat_result, scope: Scope, status_code: int = 200):
        response = super().file_response(full_path, stat_result, scope, status_code)
        vendored = scope["path"].startswith("/console/vendor/")
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if vendored else "no-cache"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def files() -> ConsoleFiles:
    return ConsoleFiles(directory=DIRECTORY)
