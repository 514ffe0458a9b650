"""Load and look up products; every product file is validated when loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from backend.errors import NotFound
from backend.products.schemas import Product


class ProductFileError(Exception):
    """A product file is missing, unreadable or fails validation."""


@dataclass(frozen=True)
class ProductCatalog:
    """All products by id, plus the default one."""

    products: dict[str, Product]
    raw: dict[str, dict[str, Any]]
    default_id: str

    def get(self, product_id: str | None = None) -> Product:
        """The product with this id (the default one for ``None``); NotFound when unknown."""
        pid = product_id or self.default_id
        try:
            return self.products[pid]
        except KeyError:
            raise NotFound("unknown_product", "没有这个保险产品", detail={"product_id": pid}) from None

    def raw_data(self, product_id: str | None = None) -> dict[str, Any]:
        """The product's data as a plain dict (for rendering FAQ answers)."""
        return self.raw[self.get(product_id).id]


def load_catalog(*, products_dir: Path, default_id: str) -> ProductCatalog:
    """Read and validate every ``*.yaml`` in ``products_dir``."""
    products: dict[str, Product] = {}
    raw: dict[str, dict[str, Any]] = {}
    files = sorted(products_dir.glob("*.yaml"))
    if not files:
        raise ProductFileError(f"no product files in {products_dir}")
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            product = Product.model_validate(data)
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise ProductFileError(f"{path.name}: {exc}") from exc
        if product.id in products:
            raise ProductFileError(f"{path.name}: duplicate product id {product.id}")
        products[product.id] = product
        raw[product.id] = data
    if default_id not in products:
        raise ProductFileError(f"default product {default_id!r} not found in {products_dir}")
    return ProductCatalog(products=products, raw=raw, default_id=default_id)
