"""The applier interface and the one safe sequence every applier runs.

An applier changes one machine: Samba's smb.conf (:mod:`.samba`) or a Windows registry
(:mod:`.windows`, behind a small writer interface so remote registry or WinRM writers can
plug in). :func:`apply_safely` runs snapshot -> change -> verify and, on any failure after
the snapshot, rollback; the error then says whether the original was restored. Nothing is
changed before the snapshot exists (docs/reference.md §8: no apply without a backup).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from smbsign.errors import RemediationError
from smbsign.remediate.plan import Plan
from smbsign.remediate.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Verification:
    """Outcome of :meth:`Applier.verify`; truthy when every check passed."""

    ok: bool
    details: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.ok

    @property
    def reason(self) -> str:
        return "; ".join(self.details) or ("verified" if self.ok else "verification failed")


@dataclass(frozen=True, slots=True)
class Preview:
    """What :meth:`Applier.change` would do: a human-readable diff, empty when nothing."""

    diff: str
    changes: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class Applier(Protocol):
    def preview(self, plan: Plan) -> Preview: ...

    def snapshot(self) -> Snapshot: ...

    def change(self, plan: Plan) -> None: ...

    def verify(self) -> Verification: ...

    def rollback(self, snapshot: Snapshot) -> None: ...


@dataclass(frozen=True, slots=True)
class ApplyResult:
    snapshot: Snapshot | None  # None when nothing needed changing
    preview: Preview
    verification: Verification


def apply_safely(applier: Applier, plan: Plan) -> ApplyResult:
    """Snapshot, change, verify; roll back by itself if a step after the snapshot fails.

    Raises :class:`RemediationError` with one line that names the failed step and whether
    the original state was restored (and from which snapshot).
    """
    preview = applier.preview(plan)
    if not preview.changed:
        return ApplyResult(None, preview, Verification(True, ("already in the desired state",)))
    snap = applier.snapshot()
    try:
        applier.change(plan)
        result = _verified(applier.verify())
    except BaseException as exc:  # also Ctrl-C: never leave a half-applied change behind
        cause = _message(exc)
        try:
            applier.rollback(snap)
        except (RemediationError, OSError) as again:
            raise RemediationError(
                f"{cause}; ROLLBACK FAILED ({_message(again)}): restore by hand from snapshot "
                f"{snap.path}"
            ) from None
        if not isinstance(exc, Exception):
            raise
        raise RemediationError(f"{cause}; original restored from snapshot {snap.id}") from None
    return ApplyResult(snap, preview, result)


def _verified(result: Verification) -> Verification:
    if not result:
        raise RemediationError(f"verification failed: {result.reason}")
    return result


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__
