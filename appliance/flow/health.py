"""The booth's health for the operator's health page: reader, camera, broker, outbox, disk, models.

Read when the page is opened, from what the booth already knows (the parts it found missing, the
uplink's link and backlog) plus two cheap looks: the data partition's free space and the model
files' sha256 against the pinned manifest (the same check as ``booth doctor``'s models line).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appliance.flow.outcomes import LinkHealth
from appliance.quality.models import load_manifest, model_status, resolve_model_dir
from appliance.quality.settings import QualitySettings
from boothcore.text import Text

WORKING = Text("正常", "working")


@dataclass(frozen=True)
class HealthItem:
    """One line of the health page: the part, what it says now, and whether that is fine."""

    part: Text
    reading: Text
    ok: bool


def _link_items(link: LinkHealth | None) -> list[HealthItem]:
    broker, outbox = Text("办公室连接", "Office broker"), Text("待上传", "Outbox backlog")
    if link is None or not link.configured:
        return [HealthItem(broker, Text("未配置,照片留在本机", "not configured: photos stay on the booth"), False),
                HealthItem(outbox, Text("—", "—"), True)]
    state = (Text("已连接", "connected") if link.connected
             else Text("断开,照片在本机等待上传", "disconnected: photos wait on the booth"))
    waiting = Text(f"{link.backlog} 条", f"{link.backlog} item(s) not yet acknowledged")
    return [HealthItem(broker, state, link.connected), HealthItem(outbox, waiting, link.connected or not link.backlog)]


def _disk_item(data_dir: Path, min_free_mb: int) -> HealthItem:
    part = Text("存储空间", "Disk")
    try:
        free_mb = shutil.disk_usage(data_dir).free / 2**20
    except OSError as error:
        return HealthItem(part, Text(f"无法读取:{error.strerror}", f"cannot read: {error.strerror}"), False)
    ok = free_mb >= min_free_mb
    reading = Text(f"剩余 {free_mb:,.0f} MB", f"{free_mb:,.0f} MB free")
    if not ok:
        reading = Text(f"{reading.zh}(少于 {min_free_mb} MB,不再拍照)",
                       f"{reading.en} (below {min_free_mb} MB: no new photos)")
    return HealthItem(part, reading, ok)


def _models_item(quality: QualitySettings) -> HealthItem:
    part = Text("检测模型", "Models")
    manifest = load_manifest()
    bad = {name: state for name, state in model_status(resolve_model_dir(quality), manifest).items() if state != "ok"}
    if bad:
        listed = ", ".join(f"{name}: {state}" for name, state in sorted(bad.items()))
        return HealthItem(part, Text(f"异常 {listed}", listed), False)
    count = len(manifest.models)
    return HealthItem(part, Text(f"{count} 个,校验一致", f"{count}, sha256 match"), True)


def booth_health(missing: Mapping[str, Text], link: LinkHealth | None, data_dir: Path, min_free_mb: int,
                 quality: QualitySettings) -> tuple[HealthItem, ...]:
    """Every part's line. ``missing``: the booth's "reader" / "camera" problems (what BLOCKED shows)."""
    return (HealthItem(Text("读卡器", "Card reader"), missing.get("reader", WORKING), "reader" not in missing),
            HealthItem(Text("相机", "Camera"), missing.get("camera", WORKING), "camera" not in missing),
            *_link_items(link), _disk_item(data_dir, min_free_mb), _models_item(quality))
