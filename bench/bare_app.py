"""The baseline: a bare Litestar endpoint that answers the same request without work."""

from litestar import Litestar, Request, Response, post


@post("/webhooks/whatsapp", status_code=200)
async def whatsapp(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    await request.body()
    return Response(b'{"accepted":1}', media_type="application/json")


def create_app() -> Litestar:
    return Litestar(route_handlers=[whatsapp], logging_config=None)
