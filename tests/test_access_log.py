import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.access_log import RedactingAccessLogger
from callcenter.app import create_app
from callcenter.settings import Settings


async def test_the_access_log_never_shows_a_phone_number_from_the_query(
    sqlite_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=sqlite_database))
    server = TestServer(app)
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        # started here, because TestClient starts servers without runner options
        await server.start_server(access_log_class=RedactingAccessLogger)
        async with TestClient(server) as client:
            await client.get("/api/v1/customers", params={"phone": "+8613800000003"})
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any('"GET /api/v1/customers" 401' in line for line in lines)
    assert not any("13800000003" in line for line in lines)
