"""The pages the gateway serves load nothing from another host: they work offline."""

import re

import pytest

from tests.integration.conftest import GatewayClient

pytestmark = pytest.mark.integration

_LINKED = re.compile(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]|url:\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
async def test_the_openapi_page_and_its_assets_come_from_the_gateway(
    client: GatewayClient, page: str
) -> None:
    answer = await client.get(page)
    assert answer.status_code == 200
    assert "text/html" in answer.headers["content-type"]
    linked = [a or b for a, b in _LINKED.findall(answer.text)]
    assert linked, "the page links no script or style"
    assert not [url for url in linked if re.match(r"^(https?:)?//", url)], linked
    for url in linked:
        fetched = await client.get(url)
        assert fetched.status_code == 200, url
        assert fetched.content, url
