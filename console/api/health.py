"""Liveness and readiness: is the database reachable, is Redis reachable."""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, Response
from pydantic import BaseModel
from redis.exceptions import RedisError

from console.deps import EngineDep, RedisDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "down"]
    redis: Literal["ok", "down"]


@router.get("/healthz", response_model=Health, summary="Readiness of the database and Redis")
def healthz(engine: EngineDep, redis: RedisDep, response: Response) -> Health:
    database = _database_state(engine)
    queue = _redis_state(redis)
    ok = database == "ok" and queue == "ok"
    if not ok:
        response.status_code = 503
    return Health(status="ok" if ok else "degraded", database=database, redis=queue)


def _database_state(engine: EngineDep) -> Literal["ok", "down"]:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return "down"
    return "ok"


def _redis_state(redis: RedisDep) -> Literal["ok", "down"]:
    try:
        redis.ping()
    except (RedisError, OSError):
        return "down"
    return "ok"
