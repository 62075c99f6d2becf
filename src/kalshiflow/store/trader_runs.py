"""Runs of the trader: a heartbeat while it runs and a stamp when it stops cleanly.

Why it exists: the status history alone cannot tell a crashed trader from a running one (after
``kill -9`` its last entry still says ``trading``). Each ``kalshiflow run`` writes one row here at
start, refreshes ``heartbeat_ms`` every few seconds and sets ``stopped_ms`` (and its exit code) when
it stops. Writes are small synchronous statements; call them off the event loop
(``asyncio.to_thread``). Times are wall-clock epoch milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from kalshiflow.store.trader_models import TraderRunRow


@dataclass(frozen=True, slots=True)
class StoredRun:
    run_id: int
    pid: int
    host: str
    started_ms: int
    heartbeat_ms: int
    stopped_ms: int | None
    exit_code: int | None


def start_run(engine: Engine, pid: int, host: str, now_ms: int) -> int:
    with engine.begin() as connection:
        result = connection.execute(
            insert(TraderRunRow).values(pid=pid, host=host, started_ms=now_ms, heartbeat_ms=now_ms)
        )
        if result.inserted_primary_key is None:
            raise RuntimeError("the database returned no id for a trader run")
        return int(result.inserted_primary_key[0])


def beat(engine: Engine, run_id: int, now_ms: int) -> None:
    with engine.begin() as connection:
        connection.execute(update(TraderRunRow).where(TraderRunRow.id == run_id).values(heartbeat_ms=now_ms))


def finish_run(engine: Engine, run_id: int, now_ms: int, exit_code: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(TraderRunRow)
            .where(TraderRunRow.id == run_id)
            .values(heartbeat_ms=now_ms, stopped_ms=now_ms, exit_code=exit_code)
        )


def read_last_run(engine: Engine) -> StoredRun | None:
    with engine.connect() as connection:
        table = TraderRunRow.__table__
        row = connection.execute(select(table).order_by(table.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return StoredRun(
        row.id, row.pid, row.host, row.started_ms, row.heartbeat_ms, row.stopped_ms, row.exit_code
    )
