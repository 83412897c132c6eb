"""The office's config file gets the same one-line answers as the booth's (boothcore.config): a
wrongly cased section is named with the one meant, a number in quotes is refused."""

from __future__ import annotations

import pytest

from boothcore.config import ConfigError
from central.config import load_central_config


@pytest.mark.parametrize(("toml", "expected"), [
    ("[Web]\ntimezone = 'Asia/Shanghai'\n", "config error: [Web]: unknown section: did you mean [web]? "
     "(the sections: [broker], [storage], [ingest], [web], [roster])"),
    ("[roster]\ngraduation_year = '2027'\n",
     "config error: roster.graduation_year = '2027': must be a whole number, written without quotes"),
    ("[web]\nTimezone = 'Asia/Shanghai'\n", "config error: web.Timezone: unknown key: did you mean web.timezone?"),
    ("[storage]\ndata_dir = ' '\n", "config error: storage.data_dir = ' ': must name a folder: leave the key out "
     "for the default (/var/lib/booth-central)"),
])
def test_the_office_config_names_the_slip(tmp_path, toml, expected):
    path = tmp_path / "central.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_central_config(path)
    assert str(info.value) == expected
