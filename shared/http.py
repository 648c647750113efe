"""HTTP read-side helpers shared by the services. Who may call what is in shared/auth.py."""

from fastapi import HTTPException


def not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")
