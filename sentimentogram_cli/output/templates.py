"""The package's Jinja environment and inlined template assets, shared by the page and the
preference survey: one loader, autoescape on, strict about undefined names.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2
from markupsafe import Markup

from ..assets import resource_dir

__all__ = ["environment", "inline_asset"]


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja environment over the package's ``templates/`` folder. Every transcript word and
    file name is escaped, whatever the template's extension."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(resource_dir("templates"))), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def inline_asset(name: str, closing_tag: str) -> Markup:
    """``templates/<name>`` as markup to inline into a ``<style>`` or ``<script>``; a file that
    would close that element early (contains ``closing_tag``) is refused."""
    text = (resource_dir("templates") / name).read_text(encoding="utf-8")
    if closing_tag in text.lower():
        raise ValueError(f"templates/{name} contains {closing_tag}")
    return Markup(text)
