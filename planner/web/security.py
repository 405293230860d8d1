"""Safety of ``planner serve`` on a shared intranet.

* It binds 127.0.0.1 unless ``--host`` is given, and then refuses to start without an access
  token (``--token`` or ``--password-file``): :func:`check_bind`.
* With a token, every page but the login page and the static files needs the session cookie
  the login page sets (an HMAC of the token, so the cookie is worthless on another server).
* Every form carries a CSRF token equal to a cookie of the browser's own (double submit;
  the cookie is ``SameSite=Strict``), and a request whose ``Origin`` is another site is refused.
* Request bodies are limited in size (``Content-Length`` is required and checked before the
  body is read).
* Names a user types (scenario names) are checked against :data:`SAFE_NAME`; uploaded files are
  stored under names of the data contract only, never under the name the browser sent.
* Responses carry a Content-Security-Policy allowing this server only: a page cannot reach
  the internet, so the application is shown to work offline.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from planner.errors import PlannerError

CSRF_COOKIE = "planner_csrf"
CSRF_FIELD = "csrf"
SESSION_COOKIE = "planner_session"
#: a scenario name: letters (Chinese too), digits, '_' and '-', at most 60 characters
SAFE_NAME = re.compile(r"^[\w\-]{1,60}$")
#: paths open without the session cookie
OPEN_PATHS = ("/login", "/static/")

CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; "
    "form-action 'self'; base-uri 'self'"
)


class ServeError(PlannerError):
    """``planner serve`` cannot start as asked (unsafe address, missing token, port taken)."""

    exit_code = 2


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1 or ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback address without an access token.

    Raises
    ------
    ServeError
        ``--host`` names an address other machines can reach and no token was given.
    """
    if not is_loopback(host) and not token:
        raise ServeError(
            f"--host {host}: 其他电脑可访问此地址，须用 --token 或 --password-file 设置访问口令 "
            "(an address other machines can reach needs --token or --password-file)"
        )
    if token is not None and len(token) < 8:
        raise ServeError("--token: 访问口令至少 8 个字符 (the access token must have at least 8 characters)")


def read_password_file(path: Path) -> str:
    """The access token: the first line of ``path``.

    Raises
    ------
    ServeError
        The file is missing or its first line is empty.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ServeError(f"{path}: 口令文件无法读取 password file cannot be read ({exc.strerror})") from None
    token = lines[0].strip() if lines else ""
    if not token:
        raise ServeError(f"{path}, row 1: 口令文件第一行为空 the first line (the access token) is empty")
    return token


def is_safe_name(name: str) -> bool:
    """Whether a typed name may become a file name (no dots, slashes or spaces)."""
    return bool(SAFE_NAME.match(name))


def session_value(token: str, secret: bytes) -> str:
    """The session cookie's value for a server with access token ``token``."""
    return hmac.new(secret, b"session:" + token.encode("utf-8"), hashlib.sha256).hexdigest()


def same_text(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two strings (``False`` when either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


async def checked_form(request: Request, max_bytes: int) -> FormData:
    """Read a POSTed form after checking its size and its CSRF token.

    Raises
    ------
    HTTPException
        411 without ``Content-Length``, 413 over ``max_bytes``, 403 when the CSRF token is
        missing or wrong.
    """
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPException(411, "请求缺少长度 the request must state its length (Content-Length)")
    if int(length) > max_bytes:
        raise HTTPException(
            413,
            f"上传内容过大：{int(length) / 1048576:.1f} MB，上限 {max_bytes / 1048576:.0f} MB "
            f"(upload too large: the limit is {max_bytes / 1048576:.0f} MB)",
        )
    form = await request.form(max_files=40, max_fields=200)
    if not same_text(request.cookies.get(CSRF_COOKIE), str(form.get(CSRF_FIELD) or "")):
        raise HTTPException(
            403, "表单已过期或来自其他网站，请刷新页面后重试 (the form is stale or from another site; reload the page)"
        )
    return form


def _origin_ok(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin != "null"
    return urlsplit(origin).netloc == request.headers.get("host", "")


class SecurityMiddleware(BaseHTTPMiddleware):
    """Session check (with a token), CSRF cookie, same-origin POSTs and security headers."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: str | None, secret: bytes) -> None:
        super().__init__(app)
        self.token = token
        self.secret = secret

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if self.token and not path.startswith(OPEN_PATHS):
            if not same_text(request.cookies.get(SESSION_COOKIE), session_value(self.token, self.secret)):
                if request.method == "GET":
                    return RedirectResponse("/login", status_code=303)
                return Response("需要登录 login required", status_code=401, media_type="text/plain; charset=utf-8")
        if request.method == "POST" and not _origin_ok(request):
            return Response(
                "拒绝来自其他网站的请求 cross-site request refused", status_code=403,
                media_type="text/plain; charset=utf-8",
            )  # fmt: skip
        csrf = request.cookies.get(CSRF_COOKIE)
        fresh = not csrf or len(csrf) < 20
        request.state.csrf = secrets.token_urlsafe(32) if fresh else csrf
        response = await call_next(request)
        if fresh:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict")
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")  # "no-referrer" makes Chromium send Origin: null
        return response
