"""What one WebSocket connection queues: data frames around shared bodies, control text, a close
marker, and the outbox that bounds the data.

Why apart from the hub: the hub decides *who* gets a message (routing, sequencing, faults); this is
*how* a message waits for its socket -- encoded to text only when a socket takes it, so an
in-process reader (``train.inprocess``) that reads the payload never pays for JSON, and bounded in
data messages only, so a terminal error reply always fits.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from kalshiflow.sim import ws_messages as render

FORCED_CLOSE_CODE = 1011


@dataclass(frozen=True, slots=True)
class Close:
    """Outbox marker: close the socket with this code once everything before it is sent."""

    code: int
    reason: str


class Body:
    """One rendered ``msg`` payload shared by every subscriber it goes to, JSON-encoded on first
    demand. Encoding lazily is the optimisation: the in-process venue reads ``payload`` and never
    asks for ``json`` (issue 12: the hub's ``dumps`` of private-channel messages nobody read)."""

    __slots__ = ("_json", "payload")

    def __init__(self, payload: render.Payload) -> None:
        self.payload = payload
        self._json: str | None = None

    def json(self) -> str:
        text = self._json
        if text is None:
            text = self._json = render.dumps(self.payload)
        return text


class DataFrame:
    """A queued data message: its envelope fields and shared body, rendered to text on demand."""

    __slots__ = ("body", "command_id", "msg_type", "seq", "sid")

    def __init__(self, msg_type: str, sid: int, seq: int | None, body: Body, command_id: int | None) -> None:
        self.msg_type = msg_type
        self.sid = sid
        self.seq = seq
        self.body = body
        self.command_id = command_id

    def text(self) -> str:
        """The frame a socket carries (``render.envelope`` around the body's JSON)."""
        return render.envelope(self.msg_type, self.sid, self.seq, self.body.json(), self.command_id)

    def value(self) -> dict[str, object]:
        """What a reader parses off ``text()`` (``json.loads``), without encoding: the envelope's
        keys as ``render.envelope`` writes them around the shared payload, which the reader must
        not mutate. Hub payloads hold only JSON's own types (str, int, bool, None, lists, dicts),
        so this equals the decoded text."""
        frame: dict[str, object] = {"type": self.msg_type, "sid": self.sid}
        if self.seq is not None:
            frame["seq"] = self.seq
        if self.command_id:
            frame["id"] = self.command_id
        frame["msg"] = self.body.payload
        return frame


def as_text(item: str | DataFrame) -> str:
    """An outbox data or control item as the text frame a socket sends."""
    return item if isinstance(item, str) else item.text()


OutboxItem = tuple[bool, "str | DataFrame | Close"]  # (counts against the bound, item)


class Outbox:
    """FIFO of outgoing frames; only data messages count against the bound."""

    def __init__(self, max_data: int) -> None:
        self.max_data = max_data
        self._items: deque[OutboxItem] = deque()
        self._data = 0
        self._ready = asyncio.Event()

    def put_control(self, item: str | Close) -> None:
        self._items.append((False, item))
        self._ready.set()

    def put_data(self, frame: DataFrame) -> bool:
        if self._data >= self.max_data:
            return False
        self._data += 1
        self._items.append((True, frame))
        self._ready.set()
        return True

    async def get(self) -> str | Close:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        is_data, item = self._items.popleft()
        if is_data:
            self._data -= 1
        return item if isinstance(item, Close) else as_text(item)

    def __len__(self) -> int:
        return len(self._items)
