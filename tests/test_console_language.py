"""The console in Chinese and English: the operator's default language, each user's own
choice remembered across browsers, codes shown as words, and no console string without its
Chinese translation."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from callcenter.app import create_app
from callcenter.settings import Settings
from templates.i18n import LOCALE_DIR
from tests.conftest import Staff
from tests.console_client import csrf_in, sign_in

Client = TestClient[web.Request, web.Application]
ROOT = Path(__file__).parent.parent
# As the Makefile's `catalogue` passes them: gettext's own, N_, and the use cases' refusals,
# whose literal message a page shows.
REFUSALS = ("InvalidInput", "Conflict", "NotFound", "Forbidden", "DomainError")
KEYWORDS: dict[str, object] = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
KEYWORDS.update(dict.fromkeys(REFUSALS))


def _console_strings() -> set[str]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_console_string_has_its_chinese_translation() -> None:
    """Run `make catalogue` and write the msgstr of whatever this lists."""
    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "console.po").open("rb") as po:
        catalogue = read_po(po, locale="zh")
    translated = {
        message.id[0] if isinstance(message.id, tuple) else message.id
        for message in catalogue
        if message.id and not message.fuzzy and all(_strings(message.string))
    }
    assert sorted(_console_strings() - translated) == []


def _strings(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def test_the_operators_default_language_is_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTACTDESK_CONSOLE_LANGUAGE", raising=False)
    assert Settings().console_language == "zh"


@pytest.fixture
async def chinese_client(database_url: str, settings: Settings) -> Client:  # type: ignore[misc]
    chinese = settings.model_copy(update={"console_language": "zh"})
    async with TestClient(TestServer(create_app(chinese))) as client:
        yield client


async def test_the_login_form_and_pages_speak_the_operators_language(
    chinese_client: Client, staff: Staff
) -> None:
    form = await (await chinese_client.get("/login")).text()
    assert '<html lang="zh">' in form
    assert "账号" in form
    assert "密码" in form
    await sign_in(chinese_client, "supervisor", "pw-supervisor")
    page = await (await chinese_client.get("/supervisor/campaigns")).text()
    assert ">外呼活动</a>" in page
    assert ">满意度调查</option>" in page
    assert "退出" in page
    assert "主管" in page  # the role, as a word


async def _choose(client: Client, language: str, next_path: str) -> str:
    page = await (await client.get(next_path)).text()
    response = await client.post(
        "/language",
        data={"language": language, "back": next_path, "csrf": csrf_in(page)},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == next_path
    return await (await client.get(next_path)).text()


async def test_a_users_choice_is_remembered_on_every_browser(
    chinese_client: Client, staff: Staff, settings: Settings
) -> None:
    await sign_in(chinese_client, "agent1", "pw-agent1")
    assert "坐席" in await (await chinese_client.get("/agent")).text()
    english = await _choose(chinese_client, "en", "/agent")
    assert '<html lang="en">' in english
    assert ">Agent</a>" in english
    assert "坐席" not in english

    other = settings.model_copy(update={"console_language": "zh"})
    async with TestClient(TestServer(create_app(other))) as second_browser:
        await sign_in(second_browser, "agent1", "pw-agent1")
        assert '<html lang="en">' in await (await second_browser.get("/agent")).text()
        # Another user on that instance still reads the operator's default.
        await second_browser.post(
            "/logout", data={"csrf": csrf_in(await (await second_browser.get("/agent")).text())}
        )
        await sign_in(second_browser, "agent2", "pw-agent2")
        assert '<html lang="zh">' in await (await second_browser.get("/agent")).text()


async def test_a_browser_chooses_before_signing_in(chinese_client: Client) -> None:
    english = await _choose(chinese_client, "en", "/login")
    assert "Password" in english
    assert "密码" not in english


async def test_an_unknown_language_is_refused_with_a_message(chinese_client: Client, staff: Staff) -> None:
    page = await (await chinese_client.get("/login")).text()
    response = await chinese_client.post("/language", data={"language": "fr", "csrf": csrf_in(page)})
    assert response.status == 400
    assert "zh, en" in await response.text()


async def test_a_failed_sign_in_is_told_in_chinese(chinese_client: Client, staff: Staff) -> None:
    response = await sign_in(chinese_client, "agent1", "wrong")
    assert response.status == 401
    assert "账号或密码错误。" in await response.text()
