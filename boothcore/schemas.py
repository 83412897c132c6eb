"""Write the protocol's JSON schemas to docs/schemas/ so the documentation follows the models.

``python -m boothcore.schemas [FOLDER]``; tests/uplink checks the committed files are current.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from boothcore.protocol import json_schemas

DEFAULT_FOLDER = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def rendered() -> dict[str, str]:
    """File name -> text for every payload schema."""
    return {f"{kind}.json": json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
            for kind, schema in json_schemas().items()}


def write_schemas(folder: Path = DEFAULT_FOLDER) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FOLDER
    for path in write_schemas(target):
        print(path)
