"""`portal layout export` and `portal layout import FILE`: a layout moves
between environments as TOML, checked as check-config checks a file."""

from __future__ import annotations

import tomllib

from portal.config import current
from portal.staff.workspace import workspace


def test_export_then_import_publishes_the_layout_elsewhere(make_app, tmp_path):
    staging = make_app()
    exported = staging.test_cli_runner().invoke(args=["layout", "export"])
    assert exported.exit_code == 0, exported.output
    tables = tomllib.loads(exported.output)
    assert [f["key"] for f in tables["fields"]][:2] == ["first_name", "last_name"]
    assert "[page]\n" in exported.output
    text = exported.output.replace('"Boletín semanal"', '"Boletín de los lunes"').replace(
        "[page]\n", '[page]\nintro = { es = "Hola", eu = "Kaixo", en = "Hello" }\n')
    path = tmp_path / "layout.toml"
    path.write_text(text, encoding="utf-8")
    imported = staging.test_cli_runner().invoke(args=["layout", "import", str(path)])
    assert imported.exit_code == 0, imported.output
    assert "version 2" in imported.output
    with staging.app_context():
        workspace().published.expire()
        assert current().groups[0].items[0].label["es"] == "Boletín de los lunes"
        assert current().page.intro["eu"] == "Kaixo"
        assert workspace().store.versions()[0].note == "import of layout.toml"
    again = staging.test_cli_runner().invoke(args=["layout", "export", "--version", "1"])
    assert '"Boletín semanal"' in again.output


def test_a_file_with_problems_publishes_nothing(make_app, tmp_path):
    app = make_app()
    path = tmp_path / "bad.toml"
    path.write_text('[[fields]]\nkey = "Bad Key"\ntype = "telephone"\nlabel = { es = "x" }\n',
                    encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["layout", "import", str(path)])
    assert result.exit_code == 1
    assert "fields[0].type" in result.output and "fields[0].label: has no text for eu, en" in result.output
    with app.app_context():
        assert [v.id for v in workspace().store.versions()] == [1]
