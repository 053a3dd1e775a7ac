"""The model a server answers with, and how it changes without downtime.

A :class:`ModelHolder` keeps one :class:`Served` snapshot (the numpy runtime's ``artclf.Model``,
its version and folder). A request reads ``holder.current`` once and computes its whole answer
with that snapshot, so an answer never mixes two versions. When the reference is an alias or
``latest``, a background thread polls the reference (``aliases.json`` and the versions list, a
few stat calls every ``interval`` seconds) and, when it moves, loads and verifies the new version
off the request path (hashes, signature, canaries: everything ``artclf.load_model`` checks) and
swaps it in with one reference assignment. A version that fails is refused: the old one keeps
serving, the refusal is logged and kept for ``/v1/model`` and ``/metrics``, and the same folder
is not retried until it changes or a reload is forced.
"""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = ["ModelHolder", "Served", "Refusal"]


@dataclass(frozen=True)
class Served:
    model: Any
    version: str
    path: Path
    loaded_at: float


@dataclass(frozen=True)
class Refusal:
    version: str
    path: str
    error: str
    at: float

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "path": self.path, "error": self.error,
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at))}


def _stamp(path: Path) -> tuple[str, int]:
    """What identifies a version folder's content cheaply: its real path and manifest mtime."""
    try:
        return str(path.resolve()), (path / "manifest.json").stat().st_mtime_ns
    except OSError:
        return str(path), 0


@dataclass
class ModelHolder:
    """``current`` is the snapshot answering requests; ``check()`` moves it when the reference moved."""

    ref: str
    models_dir: Path
    public_key: Any = None
    version_policy: str = "warn"
    interval: float = 2.0
    on_event: Callable[[str, dict[str, Any]], None] = lambda event, fields: None
    on_check: Callable[[int], None] = lambda checks: None
    loader: Callable[..., Any] | None = None
    current: Served | None = None
    refused: Refusal | None = None
    checks: int = 0
    swaps: int = 0
    refusals: int = 0
    _refused_stamp: tuple[str, int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def watching(self) -> bool:
        """Whether the reference can move: ``latest`` or an alias (a version or a path cannot)."""
        from artclf.errors import ModelIntegrityError
        from artclf.refs import is_alias_name, read_aliases

        if self.ref == "latest":
            return True
        try:
            return is_alias_name(self.ref) and self.ref in read_aliases(self.models_dir)
        except ModelIntegrityError:
            return False

    def _load(self, path: Path) -> Served:
        load = self.loader
        if load is None:
            from artclf.loading import load_model as load
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # The resolved folder, not the reference: `latest` must not move between check and load.
            model = load(str(path), self.models_dir, public_key=self.public_key, version_policy=self.version_policy)
        for warning in caught:
            self.on_event("model_warning", {"path": str(path), "warning": str(warning.message).splitlines()[0]})
        return Served(model, model.version or path.name, path, time.time())

    def start(self) -> Served:
        """Load the reference now (an error here is the caller's: nothing is served yet)."""
        from artclf.refs import resolve_ref

        path = resolve_ref(self.ref, self.models_dir)
        self.current = self._load(path)
        self.on_event("model_loaded", {"version": self.current.version, "path": str(path), "reference": self.ref})
        return self.current

    def check(self, force: bool = False) -> dict[str, Any]:
        """Resolve the reference again; load, verify and swap in a version that moved. Returns what happened."""
        from artclf.errors import ArtclfError
        from artclf.refs import resolve_ref

        with self._lock:
            self.checks += 1
            self.on_check(self.checks)
            old = self.current
            try:
                path = resolve_ref(self.ref, self.models_dir)
            except ArtclfError as exc:
                # The alias file is being rewritten or was damaged: keep serving what we have.
                return self._refuse(self.ref, "", str(exc), None)
            stamp = _stamp(path)
            if old is not None and stamp[0] == _stamp(old.path)[0]:
                return {"changed": False, "version": old.version}
            if stamp == self._refused_stamp and not force:
                return {"changed": False, "version": old.version if old else None,
                        "refused": self.refused.as_dict() if self.refused else None}
            try:
                new = self._load(path)
            except ArtclfError as exc:
                return self._refuse(path.name, str(path), str(exc), stamp)
            except Exception as exc:  # a bug or an OSError in a hostile folder: refused, never fatal
                return self._refuse(path.name, str(path), f"{type(exc).__name__}: {exc}", stamp)
            self.current = new  # the swap: one reference assignment
            self.swaps += 1
            self.refused, self._refused_stamp = None, None
            self.on_event("model_swapped", {"from": old.version if old else None, "to": new.version,
                                            "path": str(path), "reference": self.ref})
            return {"changed": True, "version": new.version, "previous": old.version if old else None}

    def _refuse(self, version: str, path: str, error: str, stamp: tuple[str, int] | None) -> dict[str, Any]:
        first_line = error.strip().splitlines()[0] if error.strip() else "refused"
        self.refused = Refusal(version, path, first_line, time.time())
        self._refused_stamp = stamp
        self.refusals += 1
        serving = self.current.version if self.current else None
        self.on_event("model_refused", {"version": version, "path": path, "error": first_line, "serving": serving})
        return {"changed": False, "version": serving, "refused": self.refused.as_dict()}

    # --- the watcher -------------------------------------------------------------------------

    def watch(self) -> None:
        """Start the background poll (only for a reference that can move); ``wake()`` forces a check."""
        if not self.watching or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="artclf-model-watcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            forced = self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.check(force=forced)
            except Exception as exc:  # never let the watcher die: the next poll tries again
                self.on_event("watcher_error", {"error": f"{type(exc).__name__}: {exc}"})

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
