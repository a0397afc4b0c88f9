"""Every schema class the API publishes has a name of its own: two classes of one name (here,
once, catalog's tree NodeOut and tracking's) make the OpenAPI document describe one with the
other's fields, and the contract test then fails on answers that are right."""

from __future__ import annotations

import pytest
from ninja import Schema


@pytest.mark.django_db
def test_api_schema_class_names_are_unique():
    from salestarget.api import api

    api.get_openapi_schema()  # imports every router
    seen: dict[str, str] = {}
    clashes = []

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("salestarget."):
                where = f"{sub.__module__}.{sub.__qualname__}"
                if sub.__name__ in seen and seen[sub.__name__] != where:
                    clashes.append((seen[sub.__name__], where))
                seen.setdefault(sub.__name__, where)
            walk(sub)

    walk(Schema)
    assert clashes == []
