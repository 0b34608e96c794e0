"""Keeps the message catalogs in step with the code.

    python -m consult.catalog          extract messages and add new ones to both catalogs
    python -m consult.catalog --check  exit 1 if a message is missing or untranslated

Messages are extracted from the Python code of both packages and from every template.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from consult.i18n import LANGUAGES, po_path

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy": None}
METHOD_MAP = [
    ("consult/**.py", "python"),
    ("moderation/**.py", "python"),
    ("main.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),
    ("templates/**.xml", "jinja2"),
]
OPTIONS = {pattern: {"extensions": "jinja2.ext.i18n"} for pattern in ("templates/**.html", "templates/**.txt", "templates/**.xml")}


def extract() -> Catalog:
    catalog = Catalog(project="Consult", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), METHOD_MAP, options_map=OPTIONS, keywords=KEYWORDS, comment_tags=("Translators:",)
    ):
        if not message or message == ("", ""):
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def load(language: str) -> Catalog:
    with po_path(language).open("rb") as fh:
        return read_po(fh, locale=language)


def problems(language: str, template: Catalog | None = None) -> list[str]:
    """Messages used in the code that the catalog lacks, leaves untranslated or marks fuzzy."""
    template = template or extract()
    catalog = load(language)
    found = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        key = message.id if isinstance(message.id, str) else message.id[0]
        if entry is None:
            found.append(f"{language}: missing {key!r}")
        elif entry.fuzzy:
            found.append(f"{language}: fuzzy {key!r}")
        elif isinstance(entry.string, tuple):
            if not all(entry.string):
                found.append(f"{language}: untranslated {key!r}")
        elif not entry.string:
            found.append(f"{language}: untranslated {key!r}")
    return found


def update() -> None:
    template = extract()
    for language in LANGUAGES:
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = load(language) if path.exists() else Catalog(locale=language, project="Consult", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        if language == "en":  # message ids are English
            for message in catalog:
                if isinstance(message.id, tuple) and not all(message.string):
                    message.string = message.id
                elif message.id and not message.string:
                    message.string = message.id
        catalog.obsolete.clear()
        with path.open("wb") as fh:
            write_po(fh, catalog, width=0, omit_header=False, sort_output=False)


if __name__ == "__main__":
    if "--check" in sys.argv:
        issues = [p for language in LANGUAGES for p in problems(language)]
        print("\n".join(issues) or "Both catalogs are complete.")
        sys.exit(1 if issues else 0)
    update()
    print("Catalogs updated:", ", ".join(str(po_path(language)) for language in LANGUAGES))
