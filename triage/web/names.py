"""Display names of runtimes and OSes for the pages; runtimes' names come from products/."""

from __future__ import annotations

from typing import Any

__all__ = ["OS_NAMES", "os_name", "product_name"]

OS_NAMES = {"linux": "Linux", "windows": "Windows", "macos": "macOS"}


def product_name(kb: Any, product: str) -> str:
    return str(kb.product_name(product) or product)


def os_name(os: str) -> str:
    return OS_NAMES.get(os, os)
