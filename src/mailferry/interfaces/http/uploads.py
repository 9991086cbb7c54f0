"""A CSV upload with its settings: ``multipart/form-data`` or a raw ``text/csv`` body.

- multipart: the CSV in the file field ``csv`` (and per-user target logins in the file
  field ``TargetCsv``), the settings as form fields (a list repeats its field);
- ``text/csv``: the body is the CSV, the settings are query parameters.

Settings are checked with the route's pydantic model; problems are a 422 like any
other request validation (``body.Name`` or ``query.Name``). The OpenAPI description of
both forms is built from the same model (``upload_openapi``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

M = TypeVar("M", bound=BaseModel)
CSV_FIELD = "csv"
LOGINS_FIELD = "TargetCsv"
MAX_FIELDS = 200
_FILE_FIELDS = (CSV_FIELD, LOGINS_FIELD)


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str
    logins: bytes | None  # the per-user target logins CSV, if any
    logins_filename: str


async def read_upload(request: Request, model: type[M], lists: Collection[str]) -> tuple[M, Upload]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        return await _multipart(request, model, lists)
    if media == "text/csv":
        values = _values(request.query_params.multi_items(), lists)
        upload = Upload(await request.body(), "CSV", None, "")
        return _validated(model, values, "query"), upload
    raise HTTPException(
        415, "send the CSV as multipart/form-data (file field csv) or as a text/csv body"
    )


async def _multipart(request: Request, model: type[M], lists: Collection[str]) -> tuple[M, Upload]:
    form = await request.form(max_files=2, max_fields=MAX_FIELDS)
    try:
        files = {k: await _part(v) for k, v in form.multi_items() if k in _FILE_FIELDS}
        texts = [(k, v) for k, v in form.multi_items() if isinstance(v, str) and k not in files]
        if CSV_FIELD not in files:
            missing = {"loc": ("body", CSV_FIELD), "msg": "a file field csv is required"}
            raise RequestValidationError([{**missing, "type": "missing"}])
        data, filename = files[CSV_FIELD]
        logins, logins_name = files.get(LOGINS_FIELD, (None, ""))
        upload = Upload(data, filename or "CSV", logins, logins_name or "target CSV")
        settings = _validated(model, _values(texts, lists), "body")
    finally:
        await form.close()
    return settings, upload


async def _part(value: UploadFile | str) -> tuple[bytes, str]:
    """A file part's bytes and name; a text part (``curl -F 'csv=<users.csv'``) as UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8"), ""
    return await value.read(), value.filename or ""


def _values(items: list[tuple[str, Any]], lists: Collection[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in items:
        if key in lists:
            values.setdefault(key, []).append(value)
        else:
            values[key] = value
    return values


def _validated(model: type[M], values: dict[str, Any], where: str) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = [{**e, "loc": (where, *e["loc"])} for e in error.errors()]
        raise RequestValidationError(problems) from None


def upload_openapi(model: type[BaseModel], *, with_logins: bool) -> dict[str, Any]:
    """``openapi_extra`` of an upload route: both request bodies and the query form."""
    schema = model.model_json_schema()
    properties = {name: _plain(p) for name, p in schema.get("properties", {}).items()}
    required = list(schema.get("required", []))
    files = {CSV_FIELD: {"type": "string", "format": "binary"}}
    if with_logins:
        files[LOGINS_FIELD] = {"type": "string", "format": "binary"}
    form = {
        "type": "object",
        "properties": {**files, **properties},
        "required": [CSV_FIELD, *required],
    }
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": "With a text/csv body"
            + (" (required then)" if name in required else ""),
            "schema": prop,
            **({"style": "form", "explode": True} if prop.get("type") == "array" else {}),
        }
        for name, prop in properties.items()
    ]
    return {
        "parameters": parameters,
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": form},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
    }


def _plain(prop: dict[str, Any]) -> dict[str, Any]:
    """A property without its ``null`` alternative (a form field is absent instead)."""
    options = prop.get("anyOf")
    if options is None:
        return {k: v for k, v in prop.items() if k != "title"}
    kept = [o for o in options if o.get("type") != "null"]
    base = {k: v for k, v in prop.items() if k not in ("anyOf", "title", "default")}
    return {**(kept[0] if len(kept) == 1 else {"anyOf": kept}), **base}
