"""What a provider's HTTP answer (or its absence) says of a send."""

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from consumers.senders import Outcome, Refused, Unknown

#: Seconds to wait before trying again, when a provider asks for it without saying.
DEFAULT_WAIT = 30.0
#: Seconds before trying again when nothing could be sent (the provider was not reached).
UNREACHABLE_WAIT = 5.0


@dataclass(frozen=True)
class Request:
    """One HTTP request, built by a sender's pure half."""

    method: str
    url: str
    #: Credentials among them: never shown in a repr.
    headers: dict[str, str] = field(repr=False)
    json: object | None = None
    form: list[tuple[str, str]] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None


async def call(
    http: httpx.AsyncClient, request: Request, read: Callable[[httpx.Response], Outcome]
) -> Outcome:
    """Send ``request`` and let ``read`` say what the answer means. No answer is ``Unknown``
    unless the request provably never left (the connection was never made)."""
    try:
        if request.form is not None:
            answer = await http.request(
                request.method, request.url, headers=request.headers, data=dict_of(request.form)
            )
        elif request.files is not None:
            answer = await http.request(
                request.method,
                request.url,
                headers=request.headers,
                files=request.files,
                data=request.data,
            )
        else:
            answer = await http.request(
                request.method, request.url, headers=request.headers, json=request.json
            )
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        return Refused(
            "unreachable",
            f"the provider could not be reached: {type(error).__name__}",
            retry_after=UNREACHABLE_WAIT,
        )
    except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as error:
        return Refused("bad_request", f"the request could not be made: {error}")
    except httpx.HTTPError as error:
        # The request may have arrived: a timeout waiting for the answer, a dropped connection.
        return Unknown(f"no answer from the provider: {type(error).__name__}")
    return read(answer)


def dict_of(form: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """A form with repeated fields (Twilio's ``MediaUrl``) as httpx takes it."""
    found: dict[str, str | list[str]] = {}
    for name, value in form:
        if name in found:
            before = found[name]
            found[name] = [*before, value] if isinstance(before, list) else [before, value]
        else:
            found[name] = value
    return found


def retry_after(answer: httpx.Response, default: float = DEFAULT_WAIT) -> float:
    value = answer.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return default


def json_of(answer: httpx.Response) -> dict[str, object]:
    try:
        found = answer.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
