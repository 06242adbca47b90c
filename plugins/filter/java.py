"""The JDK of a host's Debian release: the package the common role installs, and its home.

Each product role's *_java_home defaults to common_java_home, a default of the common
role that plays without that role do not see: they fall back to this filter, so the
release's JDK is decided here only. Debian 12 carries OpenJDK 17 only; Debian 13 carries
21 and 25, and Hadoop 3.3 and Spark 3.5 do not run on 25 (preflight's java_per_product).
"""

from __future__ import annotations

import re

RELEASE_JDK = {"12": 17, "13": 21}
DEFAULT_JDK = RELEASE_JDK["12"]


def _feature(facts: dict, package: str | None) -> int:
    found = re.match(r"^openjdk-(\d+)-", str(package or ""))
    if found:
        return int(found[1])
    return RELEASE_JDK.get(str((facts or {}).get("distribution_major_version")), DEFAULT_JDK)


def release_java_package(facts: dict) -> str:
    """openjdk-<n>-jdk-headless of the host's release (jdk: javac and jps are in the
    handout)."""
    return f"openjdk-{_feature(facts, None)}-jdk-headless"


def release_java_home(facts: dict, package: str | None = None) -> str:
    """Where Debian puts that JDK (or package's, when an inventory names one)."""
    arch = "arm64" if (facts or {}).get("architecture") == "aarch64" else "amd64"
    return f"/usr/lib/jvm/java-{_feature(facts, package)}-openjdk-{arch}"


class FilterModule:
    def filters(self):
        return {
            "release_java_package": release_java_package,
            "release_java_home": release_java_home,
        }
