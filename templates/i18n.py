"""The console's translations: Babel message catalogues under `templates/locale/`, read
from their `.po` source (compiled in memory, so a checkout needs no build step), and the
marker for strings translated later, where they are shown."""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "console"
# The console's languages; English is the source text, so it needs no catalogue.
CONSOLE_LANGUAGES = ("zh", "en")
# Each language named in itself, for the switch on every page.
LANGUAGE_CHOICES = (("zh", "中文"), ("en", "English"))


def N_(message: str) -> str:
    return message


def console_language(code: str | None, default: str = "zh") -> str:
    return code if code in CONSOLE_LANGUAGES else default


@cache
def translations(language: str) -> NullTranslations:
    source = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not source.exists():
        return NullTranslations()
    with source.open("rb") as po:
        catalogue = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
