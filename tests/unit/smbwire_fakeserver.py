"""Scriptable hostile/fake SMB servers on loopback for the prober tests.

A :class:`FakeServer` listens on 127.0.0.1 or ::1 (port 0), reads one framed request per
connection, classifies it (``smb2`` native, ``smb1_ntlm`` = ``NT LM 0.12`` only,
``smb1_multi`` = with ``SMB 2.???``) and answers with the scripted :data:`Action` for that
kind. It records what it saw so tests can assert the probe sequence, and it cancels its
handlers on exit so no task or socket outlives the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from smbwire_builders import framed


@dataclass(frozen=True)
class Reply:
    data: bytes  # sent as is (already framed, or deliberately broken)
    then: str = "wait"  # "wait" for the client to close, "close" (FIN), "rst"
    drip: float = 0.0  # > 0: send one byte at a time, this many seconds apart


CLOSE = "close"  # FIN without a reply
RST = "rst"  # reset without a reply
SILENT = "silent"  # accept, read, never answer

Action = Reply | str | Callable[[bytes], "Reply | str"]  # a callable sees the request body


def reply(msg: bytes, then: str = "wait") -> Reply:
    return Reply(framed(msg), then)


def _rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def classify(body: bytes) -> str:
    if body[:4] == b"\xfeSMB":
        return "smb2"
    if body[:4] == b"\xffSMB":
        return "smb1_multi" if b"SMB 2.???" in body else "smb1_ntlm"
    return "other"


@dataclass
class FakeServer:
    actions: dict[str, Action]
    host: str = "127.0.0.1"
    # NetBIOS mode: session answers consumed in order (last one repeats), e.g. [b"\x82\0\0\0"].
    session_answers: list[bytes] | None = None
    seen: list[str] = field(default_factory=list)
    called_names: list[bytes] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)
    peer_closed: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    port: int = 0

    async def __aenter__(self) -> FakeServer:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.session_answers is not None:
            request = await reader.readexactly(72)
            self.called_names.append(request[5:37])
            answer = self.session_answers[
                min(len(self.called_names), len(self.session_answers)) - 1
            ]
            writer.write(answer)
            await writer.drain()
            if answer[0] != 0x82:
                return
        header = await reader.readexactly(4)
        body = await reader.readexactly(int.from_bytes(header[1:], "big"))
        kind = classify(body)
        self.seen.append(kind)
        self.requests.append(body)
        action = self.actions.get(kind, CLOSE)
        if callable(action):
            action = action(body)
        if action == RST:
            _rst(writer)
            return
        if action == CLOSE:
            return
        if isinstance(action, Reply):
            if action.drip:
                for byte in action.data:
                    writer.write(bytes((byte,)))
                    await writer.drain()
                    await asyncio.sleep(action.drip)
            else:
                writer.write(action.data)
                await writer.drain()
            if action.then == RST:
                _rst(writer)
                return
            if action.then == CLOSE:
                return
        # "wait"/SILENT: hold the connection until the client closes it.
        while await reader.read(4096):
            pass
        self.peer_closed.set()
