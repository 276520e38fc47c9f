"""`GET /docs`: interactive API docs (Swagger UI) from assets shipped inside the package.

The page loads nothing from another host: the Swagger UI files are vendored in
`web/swagger_ui/` (swagger-ui-dist, pinned below) and served from `/docs/assets/`, and its
Content-Security-Policy allows only this origin.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from authrelay.errors import NotFound

SWAGGER_UI_VERSION = "5.35.0"
ASSETS = "/docs/assets/"
_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "init.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "LICENSE": "text/plain; charset=utf-8",
    "NOTICE": "text/plain; charset=utf-8",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>authrelay API</title>
<link rel="icon" type="image/png" href="{ASSETS}favicon-32x32.png">
<link rel="stylesheet" href="{ASSETS}swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}swagger-ui-bundle.js"></script>
<script src="{ASSETS}init.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@cache
def _asset(name: str) -> bytes:
    return resources.files("authrelay.web").joinpath("swagger_ui", name).read_bytes()


@router.get("/docs")
async def docs() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={**_HEADERS, "Cache-Control": "no-cache"})


@router.get(ASSETS + "{name}")
async def asset(name: str) -> Response:
    media_type = _TYPES.get(name)
    if media_type is None:  # only the listed files: no path ever reaches the file system
        raise NotFound(f"no docs asset {name!r}")
    return Response(
        _asset(name),
        media_type=media_type,
        headers={**_HEADERS, "Cache-Control": "public, max-age=86400"},
    )
