"""The OpenAPI document as a client generator or a fuzzer reads it: every reference resolves,
every id has its bounds, every error answer has its schema, every door its credentials."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from callcenter.app import create_app
from callcenter.keys import OPENAPI
from callcenter.settings import Settings
from handlers.inputs import MAX_ID

METHODS = ("get", "post", "put", "patch", "delete")
ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # Building the app opens nothing: the document is complete before startup.
    return create_app(Settings(database_url="sqlite:///unused.db"))[OPENAPI].document()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def walk(node: Any, where: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every (location, key, value) pair in a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield where, key, value
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def test_every_reference_in_the_openapi_document_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for where, key, value in walk(document):
        assert key != "$defs", f"unhoisted $defs at {where}"
        if key == "$ref":
            assert value.startswith("#/components/schemas/"), f"{where}: {value}"
            assert value.removeprefix("#/components/schemas/") in schemas, f"{where}: {value}"


def test_every_id_is_a_positive_64_bit_integer(document: dict[str, Any]) -> None:
    ids = []
    for name, operation in operations(document):
        for parameter in operation.get("parameters", []):
            # A user's login names them in /users/{login}: a name, not a row id; Zammad's
            # CTI URL carries the telephony token in /telephony/cti/{token}: a secret.
            is_name = parameter["name"] in ("login", "token")
            if (parameter["in"] == "path" and not is_name) or parameter["name"].endswith("_id"):
                ids.append((f"{name} {parameter['name']}", parameter["schema"]))
    for where, key, value in walk(document["components"]["schemas"]):
        # Request bodies; a Telegram user id is Telegram's, not one of our rows.
        if where.endswith("In/properties") and key.endswith("_id") and key != "telegram_id":
            ids.append((f"{where}/{key}", value))
    assert len(ids) >= 20  # not vacuously true
    for where, schema in ids:
        bounds = (schema.get("type"), schema.get("minimum"), schema.get("maximum"))
        assert bounds == ("integer", 1, MAX_ID), f"{where}: {schema}"


def test_every_error_answer_is_documented_with_the_error_schema(document: dict[str, Any]) -> None:
    for name, operation in operations(document):
        responses = operation["responses"]
        assert "503" in responses, f"{name} does not say the database may be unavailable"
        for status, response in responses.items():
            if int(status) < 400:
                continue
            content = response["content"]
            if name == "POST /rasa/webhook" and status in ("400", "404", "449"):
                continue  # rasa-sdk's own error body, which Rasa reads
            assert content == {"application/json": {"schema": ERROR}}, f"{name} {status}"


def test_each_door_names_its_credentials(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    found = {name: op.get("security", document["security"]) for name, op in operations(document)}
    for requirements in found.values():
        for requirement in requirements:
            assert set(requirement) <= set(schemes)
    assert found["POST /telephony/cti"] == [{"ctiBearer": []}, {"ctiQueryToken": []}]
    assert found["GET /dialer/next"] == found["POST /dialer/results"] == found["POST /telephony/cti"]
    assert found["POST /telephony/twilio/voice"] == [{"twilioSignature": []}]
    assert schemes["twilioSignature"]["name"] == "X-Twilio-Signature"
    assert found["POST /telegram/webhook"] == [{"telegramSecret": []}]
    assert schemes["telegramSecret"]["name"] == "X-Telegram-Bot-Api-Secret-Token"
    assert found["POST /rasa/webhook"] == [{"rasaQueryToken": []}, {"rasaBearer": []}]
    assert schemes["rasaQueryToken"] == {**schemes["rasaQueryToken"], "in": "query", "name": "token"}
    assert found["GET /customers"] == [{"bearer": []}]
    for name, operation in operations(document):
        assert {"401", "403"} & set(operation["responses"]), f"{name} does not say how it refuses"
