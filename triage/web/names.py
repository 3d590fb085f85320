"""Display names of runtimes and OSes for the pages.

Runtimes' names come from the KB's products/ data (`KnowledgeBase.product_name`)
when the loaded KB has it, else from the older built-in table."""

from __future__ import annotations

from typing import Any

from .. import model

__all__ = ["OS_NAMES", "os_name", "product_name"]

OS_NAMES = {"linux": "Linux", "windows": "Windows", "macos": "macOS"}


def product_name(kb: Any, product: str) -> str:
    lookup = getattr(kb, "product_name", None)
    if callable(lookup):
        return str(lookup(product) or product)
    table: dict[str, str] = getattr(model, "PRODUCT_NAMES", {})
    return table.get(product, product)


def os_name(os: str) -> str:
    return OS_NAMES.get(os, os)
