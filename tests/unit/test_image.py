import pytest

from streamstack import image
from streamstack.errors import StreamstackError


def test_mirror_from_deb822_sources_skips_security(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n"
    )
    assert image.debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_mirror_from_legacy_sources_list_with_options(tmp_path):
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] http://legacy.example/debian bookworm main\n"
    )
    assert image.debian_mirror(tmp_path) == "http://legacy.example/debian"


def test_no_bookworm_source_is_a_clear_error(tmp_path):
    (tmp_path / "sources.list").write_text("deb http://x.example/debian bullseye main\n")
    with pytest.raises(StreamstackError, match="no Debian bookworm mirror"):
        image.debian_mirror(tmp_path)


def test_image_tag_changes_with_the_package_list(monkeypatch):
    before = image.image_tag()
    monkeypatch.setattr(image, "PACKAGES", [*image.PACKAGES, "less"])
    assert image.image_tag() != before


def test_the_bare_image_holds_only_what_a_cloud_image_brings():
    assert set(image.BARE_PACKAGES) == {"systemd", "systemd-sysv", "dbus", "openssh-server",
                                        "sudo", "python3", "ca-certificates"}
    assert image.image_tag(bare=True).startswith(f"{image.BARE_REPO}:")
    assert image.image_tag(bare=True) != image.image_tag()


def test_the_debian_13_bare_image_has_its_own_tag_and_the_node_image_none():
    bookworm, trixie = image.image_tag(bare=True), image.image_tag(bare=True, suite="trixie")
    assert trixie.startswith(f"{image.BARE_REPO}-trixie:")
    assert bookworm.partition(":")[2] != trixie.partition(":")[2]
    # The default tags are what they were before releases existed (no rebuild for anyone).
    assert image.image_tag(bare=True, suite=image.SUITE) == bookworm
    with pytest.raises(StreamstackError, match="only the bare host image"):
        image.image_tag(suite="trixie")
