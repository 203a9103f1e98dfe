"""Words said to people, kept translatable: an English message with named parameters. The
API says `text()` (its `detail` stays English); a page translates the template through its
catalogue and fills in the parameters, themselves `Words` when they are words to translate
too (a state, a time phrase). The English template is the catalogue's message id, so
`Words("…")` calls are extracted like `_()` (tests/web/test_catalogue.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Words:
    template: str  # "request %(id)s is %(state)s: it cannot %(action)s"
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """In English, as the API and the logs say it."""
        return self.said(lambda template: template)

    def said(
        self, translate: Callable[[str], str], shown: Callable[[Any], Any] | None = None
    ) -> str:
        """In the language of `translate` (a gettext), parameters translated where Words;
        `shown` is how the page writes the other parameters (a time zone as people name
        it), default: as they are (a zone by its key)."""
        values = {
            k: v.said(translate, shown) if isinstance(v, Words) else shown(v) if shown else v
            for k, v in self.params.items()
        }
        return translate(self.template) % values if values else translate(self.template)

    def __str__(self) -> str:
        return self.text()


def listed(words: list[Words]) -> Words:
    """Several words joined by commas ("submit, withdraw"), each translated."""
    if not words:
        return Words("none")
    template = ", ".join(f"%(w{n})s" for n in range(len(words)))
    return Words(template, {f"w{n}": w for n, w in enumerate(words)})
