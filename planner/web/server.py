"""Start-up of ``planner serve``: check the address, bind it, and run the application under uvicorn."""

from __future__ import annotations

import socket
from collections.abc import Callable

from planner.web.security import ServeError, check_bind
from planner.web.settings import WebSettings


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port).

    Raises
    ------
    ServeError
        The address cannot be bound (port in use, unknown address).
    """
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise ServeError(f"--host {host} --port {port}: 无法监听此地址 cannot listen there ({why})") from None
    sock.set_inheritable(True)
    return sock


def serve(settings: WebSettings, announce: Callable[[str], None]) -> None:
    """Run the web application until interrupted; ``announce`` is told its address once it listens.

    Raises
    ------
    ServeError
        Unsafe address without a token, or the address cannot be bound.
    """
    import uvicorn

    from planner.web.app import create_app

    check_bind(settings.host, settings.token)
    if not settings.data_dir.is_dir():
        raise ServeError(f"--data {settings.data_dir}: 县数据文件夹不存在 county folder does not exist")
    sock = bind_socket(settings.host, settings.port)
    port = sock.getsockname()[1]
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    app = create_app(settings)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=20)
    server = uvicorn.Server(config)
    announce(f"http://{shown}:{port}/")
    server.run(sockets=[sock])
