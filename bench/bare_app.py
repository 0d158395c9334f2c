"""The baselines: bare Litestar endpoints that answer the same requests without work."""

from litestar import Litestar, Request, Response, get, post


@post("/webhooks/whatsapp", status_code=200)
async def whatsapp(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    await request.body()
    return Response(b'{"accepted":1}', media_type="application/json")


@get("/v1/threads")
async def threads() -> Response[bytes]:
    """The read API's baseline: the same GET (query and key ignored), a small JSON body."""
    return Response(b'{"items":[],"next_cursor":null}', media_type="application/json")


def create_app() -> Litestar:
    return Litestar(route_handlers=[whatsapp, threads], logging_config=None)
