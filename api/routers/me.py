"""Who is signed in, and the site's clock: what a console needs before its first action."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth import current_principal
from api.local_time import utc_offset
from api.schemas import Problem
from api.state import State
from store.users import Principal

router = APIRouter(prefix="/api/v1", tags=["users"])


class MeRead(BaseModel):
    name: str = Field(examples=["li.operator"])
    role: str = Field(examples=["operator"])
    token_expires_at: datetime | None = Field(
        description="API tokens do not expire (they are rotated or revoked): null until one does"
    )
    site: str = Field(examples=["zilai"], description="This deployment's site")
    site_timezone: str = Field(
        examples=["Asia/Shanghai"], description="The IANA zone the site's people read time in"
    )
    site_utc_offset: str = Field(
        examples=["+08:00"], description="The zone's offset from UTC now, as ISO 8601 writes it"
    )


@router.get(
    "/me",
    response_model=MeRead,
    responses={401: {"model": Problem}},
    summary="The signed-in user, their role, and the site's time zone",
)
async def me(state: State, who: Annotated[Principal, Depends(current_principal)]) -> MeRead:
    settings = state.settings
    return MeRead(
        name=who.name,
        role=who.role,
        token_expires_at=None,
        site=settings.site,
        site_timezone=settings.site_timezone,
        site_utc_offset=utc_offset(datetime.now(settings.tz)),
    )
