from aiohttp.test_utils import TestClient, TestServer

from callcenter.app import create_app
from callcenter.settings import Settings
from tests.test_customers_api import Client


async def test_healthz_says_ok_with_the_database_engine(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok"
    assert body["database"] in ("sqlite", "postgresql")


async def test_healthz_is_503_when_the_database_does_not_answer() -> None:
    settings = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none")
    async with TestClient(TestServer(create_app(settings))) as client:
        response = await client.get("/healthz")
        assert response.status == 503
        assert (await response.json())["database"] == "unreachable"


async def test_metrics_count_requests_by_route_pattern(client: Client) -> None:
    await client.get("/healthz")
    await client.get("/api/v1/customers/12345")
    text = await (await client.get("/metrics")).text()
    assert 'contactdesk_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert 'route="/api/v1/customers/{customer_id}",status="401"' in text
    assert "12345" not in text


async def test_openapi_document_lists_the_customer_endpoints(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert {"get", "post"} <= set(document["paths"]["/customers"])
    assert {"get", "patch"} <= set(document["paths"]["/customers/{customer_id}"])


async def test_an_unknown_api_path_answers_json_404(client: Client) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status == 404
    assert (await response.json())["error"] == "not-found"


async def test_a_method_an_api_path_does_not_have_is_405_saying_which_it_has(client: Client) -> None:
    response = await client.request("TRACE", "/api/v1/complaints")
    assert response.status == 405
    assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}
    assert (await response.json())["error"] == "method-not-allowed"
    # "audience" is not a campaign id: reading it is a method the path does not have.
    audience = await client.get("/api/v1/campaigns/audience")
    assert audience.status == 405
    assert audience.headers["Allow"] == "POST"
