"""HTTP read-side helpers shared by the services."""

from typing import Annotated

from fastapi import Header, HTTPException

OrgId = Annotated[
    str,
    Header(
        alias="X-Org-Id",
        min_length=1,
        description="The caller's tenant, set by the gateway. Data of other tenants is never returned.",
    ),
]


def not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")
