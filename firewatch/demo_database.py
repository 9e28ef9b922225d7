"""The demo's own database, made afresh at every start: ``firewatch_demo`` beside the configured
``firewatch`` (a configured name already ending in ``_demo`` is the demo's as it is). A second
run then starts clean, where the first run's devices, silent since it stopped, were all judged
offline in its first second; and the demo never writes into, nor drops, a real database."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from firewatch.embedded import reachable
from settings import Settings
from store.database import drop_database

SUFFIX = "_demo"


def demo_database_url(url: str) -> str:
    name = str(conninfo_to_dict(url).get("dbname") or "firewatch")
    return make_conninfo(url, dbname=name if name.endswith(SUFFIX) else name + SUFFIX)


def fresh_demo_database(settings: Settings) -> Settings:
    """The settings on a new, empty demo database (migrations not applied yet). Refused while
    something answers on the API's address: most likely a demo still running on that database."""
    if reachable(settings.api_host, settings.api_port):
        raise ConnectionError(
            f"something already listens on {settings.api_host}:{settings.api_port}: another "
            "demo or 'firewatch up'? Stop it first, or set FIREWATCH_API_PORT"
        )
    url = demo_database_url(settings.database_url)
    drop_database(url)
    return settings.model_copy(update={"database_url": url})
