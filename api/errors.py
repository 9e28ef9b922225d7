"""The registry's refusals as HTTP answers, mapped here once for every route: NotFound 404,
Conflict 409, Invalid 422 in the shape of FastAPI's own validation errors."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.validation import bounded, json_safe
from registry.errors import Conflict, Invalid, NotFound


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFound)
    return JSONResponse({"detail": exc.message}, status_code=404)


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Conflict)
    return JSONResponse({"detail": exc.message}, status_code=409)


async def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    """One error located in the body, as clients read every other validation error."""
    assert isinstance(exc, Invalid)
    error = {
        "type": "value_error",
        "loc": ["body", *exc.loc],
        "msg": exc.message,
        "input": exc.value,
    }
    return JSONResponse(bounded([jsonable_encoder(json_safe(error))], total=1), status_code=422)


def add_registry_errors(app: FastAPI) -> None:
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(Invalid, _invalid)
