"""Camera bodies: the cameras that can show an incident, moving one to a preset, the video
check, and a camera's login (written, never read back)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contract.kinds import Kind
from contract.text import Text
from dispatch.video import VideoCheck
from registry.device_config import PRESET_NUMBER_MAX


class PresetRead(BaseModel):
    name: str
    number: int = Field(description="The vendor's preset number.")
    buildings: list[str] = Field(description="The buildings it shows.")


class StreamRead(BaseModel):
    url: str = Field(description="The camera's stream address, its template filled in.")
    type: Literal["rtsp", "hls", "web"] = Field(
        description="rtsp: a player such as VLC; hls: an .m3u8 playlist; web: a player page."
    )


class IncidentCamera(BaseModel):
    camera_id: str
    kind: Kind
    name: str | None
    building: str | None = Field(description="Where the camera is mounted.")
    lat: float | None
    lon: float | None
    status: str = Field(description="Its registry status: a camera in maintenance may be off.")
    why: Literal["origin", "preset", "nearby"] = Field(
        description="origin: the camera that saw a target outside every building; preset: a "
        "preset shows the incident's building; nearby: the place is within its range."
    )
    distance_m: float | None = Field(description="From the incident's building, in metres.")
    preset: PresetRead | None = Field(description="The preset that shows the building.")
    stream: StreamRead | None
    can_move: bool = Field(description="It has PTZ control and presets to move to.")
    presets: list[PresetRead] = Field(description="All its presets.")


class GotoBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"preset": 3}]})

    preset: int | None = Field(
        default=None,
        ge=1,
        le=PRESET_NUMBER_MAX,
        description="One of the camera's preset numbers; default: its preset on the incident's "
        "building.",
    )


class GotoRead(BaseModel):
    incident_id: int
    camera_id: str
    preset: PresetRead
    log_id: int = Field(description="The camera_goto step in the incident's timeline.")
    at: datetime


class VideoCheckBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"camera_id": "VC-001", "result": "smoke_seen", "note": "3F window"}]
        },
    )

    camera_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    result: VideoCheck
    note: Text | None = Field(default=None, max_length=2000)


class VideoCheckRead(BaseModel):
    id: int = Field(description="The video_check step's id in the incident's timeline.")
    incident_id: int
    at: datetime
    actor: str
    camera_id: str
    result: VideoCheck
    note: str | None


class CameraLoginWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "firewatch", "password": "s3cret-ptz"}]},
    )

    username: str = Field(pattern=r"^[\x21-\x7e]{1,64}$", description="Printable ASCII.")
    # Checked by dispatch.cameras.set_login, whose refusal never echoes it (a model's would).
    password: str = Field(
        description="1..128 characters, no control characters; kept for the camera's digest "
        "login, never read back."
    )


class CameraLoginRead(BaseModel):
    camera_id: str = Field(validation_alias="device_id")
    username: str
    updated_at: datetime
    updated_by: str
