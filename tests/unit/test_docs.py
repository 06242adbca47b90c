"""README variables tables generated from meta/argument_specs.yml."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from streamstack import PROJECT_ROOT, docs

SPECS = """\
---
argument_specs:
  main:
    short_description: Demo role
    options:
      demo_port:
        type: int
        default: 9092
        description: Port of the thing.
      demo_mode:
        type: str
        default: zookeeper
        choices: [zookeeper, kraft]
        description: Which | mode.
      demo_users:
        type: list
        elements: dict
        default: [{name: a}]
        description: Users.
        options:
          name:
            type: str
            required: true
            description: User name.
"""


def make_role(root: Path, name: str = "demo", specs: str | None = SPECS,
              defaults: str = "demo_port: 9092\ndemo_mode: zookeeper\ndemo_users: []\n",
              readme: str | None = None) -> Path:
    role = root / "roles" / name
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "defaults" / "main.yml").write_text(defaults)
    if specs is not None:
        (role / "meta" / "argument_specs.yml").write_text(specs)
    if readme is not None:
        (role / "README.md").write_text(readme)
    return role


def test_table_rows():
    text = docs.table(docs.yaml.safe_load(SPECS)["argument_specs"])
    assert text.startswith(docs.BEGIN) and text.endswith(docs.END)
    assert "| `demo_port` | int | `9092` |  | Port of the thing. |" in text
    assert "| `demo_mode` | str | `zookeeper` | `zookeeper`, `kraft` | Which \\| mode. |" in text
    assert '| `demo_users` | list of dict | `[{"name": "a"}]` |  | Users. |' in text
    assert "| `demo_users[].name` | str | *required* |  | User name. |" in text


def test_generate_keeps_hand_written_parts(tmp_path):
    readme = textwrap.dedent(f"""\
        # demo

        Hand-written intro.

        {docs.BEGIN}
        old table
        {docs.END}

        Hand-written footer.
        """)
    role = make_role(tmp_path, readme=readme)
    assert docs.main(["--root", str(tmp_path)]) == 0
    text = (role / "README.md").read_text()
    assert text.startswith("# demo\n\nHand-written intro.\n\n" + docs.BEGIN)
    assert text.endswith(docs.END + "\n\nHand-written footer.\n")
    assert "old table" not in text and "`demo_port`" in text
    assert docs.main(["--root", str(tmp_path), "--check"]) == 0
    # Idempotent: a second run writes nothing.
    before = (role / "README.md").stat().st_mtime_ns
    assert docs.main(["--root", str(tmp_path)]) == 0
    assert (role / "README.md").stat().st_mtime_ns == before


def test_missing_readme_is_created_and_readme_without_markers_gets_a_section(tmp_path):
    role = make_role(tmp_path)
    other = make_role(tmp_path, "other", readme="# other\n\nNotes.\n")
    assert docs.main(["--root", str(tmp_path)]) == 0
    assert (role / "README.md").read_text().startswith("# demo\n\nDemo role\n\n## Variables\n")
    text = (other / "README.md").read_text()
    assert text.startswith("# other\n\nNotes.\n\n## Variables\n\n" + docs.BEGIN)


def test_check_fails_when_stale(tmp_path, capsys):
    make_role(tmp_path, readme=f"# demo\n\n{docs.BEGIN}\nold\n{docs.END}\n")
    assert docs.main(["--root", str(tmp_path), "--check"]) == 1
    assert "demo: README.md variables table is stale" in capsys.readouterr().err


def test_check_fails_without_argument_specs(tmp_path, capsys):
    make_role(tmp_path, specs=None)
    assert docs.main(["--root", str(tmp_path), "--check"]) == 1
    assert "demo: no meta/argument_specs.yml" in capsys.readouterr().err


def test_check_fails_on_undeclared_default(tmp_path, capsys):
    make_role(tmp_path, defaults="demo_port: 1\ndemo_secret: x\n")
    docs.main(["--root", str(tmp_path)])
    assert docs.main(["--root", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    assert "demo: demo_secret is in defaults/main.yml but not in meta/argument_specs.yml" in err


def test_check_fails_on_missing_description(tmp_path, capsys):
    make_role(tmp_path, specs=SPECS.replace("        description: Port of the thing.\n", ""))
    docs.main(["--root", str(tmp_path)])
    assert docs.main(["--root", str(tmp_path), "--check"]) == 1
    assert "demo: main: demo_port has no description" in capsys.readouterr().err


def test_check_changes_nothing(tmp_path):
    role = make_role(tmp_path, readme="# demo\n")
    docs.main(["--root", str(tmp_path), "--check"])
    assert (role / "README.md").read_text() == "# demo\n"


@pytest.mark.parametrize("role", sorted(p.name for p in (PROJECT_ROOT / "roles").iterdir()
                                        if p.is_dir()))
def test_every_role_of_the_project_has_argument_specs(role):
    assert docs.load_specs(PROJECT_ROOT / "roles" / role) is not None, (
        f"roles/{role} has no meta/argument_specs.yml")
