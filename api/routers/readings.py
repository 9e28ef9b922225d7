"""A device's history for the operator's drawer: bucketed readings and the camera's heat map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field

from api.auth import current_principal
from api.heatmap import colourise, png
from api.schemas import Problem
from api.state import Conn
from api.time_window import Timestamp, window
from contract.frames import FrameError, decode_frame
from contract.kinds import Kind
from store.device_history import device_kind, latest_frame
from store.rollups import bucketed, default_bucket
from store.users import Principal

router = APIRouter(prefix="/api/v1/devices", tags=["device history"])

MAX_BUCKETS = 5000
TARGET_BUCKETS = 300  # what a chart across a drawer can show
MAX_SPAN = timedelta(days=31)
DeviceId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
_AUTH: dict[int | str, dict[str, Any]] = {401: {"model": Problem}, 404: {"model": Problem}}


class Bucket(BaseModel):
    t: datetime = Field(description="The bucket's start.")
    min: float
    avg: float
    max: float
    n: int = Field(description="Readings in the bucket.")


class BucketedSeries(BaseModel):
    device_id: str
    metric: str
    bucket_s: int
    since: datetime = Field(alias="from")
    until: datetime = Field(alias="to")
    points: list[Bucket] = Field(description="Oldest first; empty buckets are left out.")


async def _known(conn: psycopg.AsyncConnection[Any], device_id: str) -> str:
    kind = await device_kind(conn, device_id)
    if kind is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id!r} is registered")
    return kind


@router.get(
    "/{device_id}/readings",
    response_model=BucketedSeries,
    response_model_by_alias=True,
    responses={**_AUTH, 400: {"model": Problem}},
    summary="One metric of a device in time buckets",
)
async def get_readings(
    device_id: DeviceId,
    conn: Conn,
    *,
    _who: Annotated[Principal, Depends(current_principal)],
    metric: Annotated[str, Query(pattern=r"^[a-z0-9_]{1,64}$", examples=["cable_temp_c"])],
    since: Annotated[
        Timestamp | None, Query(alias="from", description="Default: 24 h before to")
    ] = None,
    until: Annotated[Timestamp | None, Query(alias="to", description="Default: now")] = None,
    bucket: Annotated[
        int | None,
        Query(
            ge=1,
            le=86400,
            description="Seconds; default: about 300 buckets over the span, beyond 6 hours"
            " whole 5-minute or hourly roll-up buckets",
        ),
    ] = None,
) -> dict[str, Any]:
    since, until = window(since, until, default=timedelta(hours=24), longest=MAX_SPAN)
    span = (until - since).total_seconds()
    bucket_s = bucket or default_bucket(until - since, target=TARGET_BUCKETS)
    if span / bucket_s > MAX_BUCKETS:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"{span / bucket_s:.0f} buckets is too many; use bucket >= {span / MAX_BUCKETS:.0f}",
        )
    await _known(conn, device_id)
    points = await bucketed(
        conn, device_id=device_id, metric=metric, since=since, until=until, bucket_s=bucket_s
    )
    return {
        "device_id": device_id,
        "metric": metric,
        "bucket_s": bucket_s,
        "from": since,
        "to": until,
        "points": points,
    }


@router.get(
    "/{device_id}/frame.png",
    response_class=Response,
    responses={
        **_AUTH,
        400: {"model": Problem},
        200: {"content": {"image/png": {}}, "description": "The newest frame as a heat map"},
    },
    summary="A thermal camera's newest frame as a PNG heat map",
)
async def get_frame(
    device_id: DeviceId,
    conn: Conn,
    _who: Annotated[Principal, Depends(current_principal)],
    low: Annotated[float | None, Query(ge=-273.15, le=2000, description="°C at black")] = None,
    high: Annotated[float | None, Query(ge=-273.15, le=2000, description="°C at white")] = None,
) -> Response:
    if low is not None and high is not None and low >= high:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "low must be below high")
    if await _known(conn, device_id) != Kind.THERMAL_CAMERA.value:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{device_id} is not a thermal camera")
    found = await latest_frame(conn, device_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{device_id} has sent no frame yet")
    ts, payload = found
    try:
        _, temps = decode_frame(payload)
    except FrameError as exc:  # ingest stored it, so only a changed decoder gets here
        raise HTTPException(500, f"the stored frame no longer decodes: {exc}") from None
    body = png(colourise(temps, low=low, high=high))
    return Response(
        body,
        media_type="image/png",
        headers={
            "Last-Modified": ts.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
            "X-Frame-Max-C": f"{float(temps.max()):.2f}",
            "Cache-Control": "no-cache",
        },
    )
