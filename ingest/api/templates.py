"""(v1.1) ``GET /v1/whatsapp/templates``: the tenant's approved WhatsApp message templates,
for the reply box when the 24-hour window is closed.

Read from the WhatsApp Business Management API, ``GET /{version}/{waba-id}/message_templates``
(https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account/message_templates/),
with the tenant's access token, following ``paging.next`` (at most ``MAX_PAGES`` pages).
"""

import re
from typing import Any

import httpx
from litestar import Controller, get
from litestar.di import NamedDependency

from contracts import Settings, Tenant
from ingest.api.schemas.common import ApiModel
from ingest.api.schemas.errors import errors
from ingest.errors import ApiError, NotFound

MAX_PAGES = 10
_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


class TemplateOut(ApiModel):
    name: str
    language: str
    category: str | None
    #: How many ``{{n}}`` parameters the template's body takes.
    parameters: int
    body: str | None


class TemplatePage(ApiModel):
    items: list[TemplateOut]


class ProviderUnavailable(ApiError):
    status_code = 502
    code = "provider_error"


class TemplatesApi(Controller):
    path = "/v1/whatsapp/templates"
    tags = ("replies",)
    security = [{"ApiKey": []}]  # noqa: RUF012 (Litestar reads it from the class)

    @get("/", responses=errors(404, 502))
    async def templates(
        self, tenant: NamedDependency[Tenant], settings: NamedDependency[Settings]
    ) -> TemplatePage:
        """(v1.1) The approved templates of the tenant's WhatsApp Business Account."""
        account = tenant.whatsapp_business_account_id
        token = tenant.whatsapp_access_token
        if account is None or token is None:
            raise NotFound("no WhatsApp Business Account is configured for this tenant")
        url: str | None = (
            f"{settings.graph_api_url.rstrip('/')}/{settings.graph_api_version}/{account}"
            "/message_templates"
        )
        params: dict[str, Any] | None = {
            "status": "APPROVED",
            "fields": "name,language,status,category,components",
            "limit": 100,
        }
        found: list[TemplateOut] = []
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as http:
            for _ in range(MAX_PAGES):
                if url is None:
                    break
                try:
                    answer = await http.get(url, params=params, headers=headers)
                except httpx.HTTPError as error:
                    raise ProviderUnavailable(f"the Graph API did not answer: {error}") from error
                if answer.status_code != 200:
                    raise ProviderUnavailable(
                        "the Graph API refused to list the templates",
                        details={"status": answer.status_code, "error": _error(answer)},
                    )
                page = answer.json()
                found.extend(_template(item) for item in page.get("data") or [])
                url = (page.get("paging") or {}).get("next")
                if (
                    url is not None
                    and httpx.URL(url).host != httpx.URL(settings.graph_api_url).host
                ):
                    break  # the token goes to the Graph API's host only
                params = None  # the next page's URL carries them
        return TemplatePage(items=[t for t in found if t.name])


def _template(item: dict[str, Any]) -> TemplateOut:
    body = next(
        (c.get("text") for c in item.get("components") or [] if c.get("type") == "BODY"), None
    )
    numbers = {int(n) for n in _PLACEHOLDER.findall(body or "")}
    return TemplateOut(
        name=str(item.get("name") or ""),
        language=str(item.get("language") or ""),
        category=item.get("category"),
        parameters=max(numbers, default=0),
        body=body,
    )


def _error(answer: httpx.Response) -> Any:
    try:
        return answer.json().get("error", {}).get("message")
    except ValueError:
        return None
