"""A fake pkg provider for pkgcheck unit tests: installed packages, a repository,
and a version_cmp over a fixed ordering."""

from salt.exceptions import CommandExecutionError

from tests.support.fake_dunders import Recorder

# Debian ordering of the versions these tests use, lowest first. A version not
# in the list can not be compared (the fake version_cmp returns None, like
# aptpkg does for bad version text).
ORDER = ["0.9-1", "1.0-1", "2.0-3", "2.0-10", "4.2", "4.2.5-1", "4.2.6-3", "1:0.9-1"]


def fake_cmp(a, b):
    if a not in ORDER or b not in ORDER:
        return None
    i, j = ORDER.index(a), ORDER.index(b)
    return (i > j) - (i < j)


class FakePkg:
    """Installed packages and a repository, driven by pkg.install like apt would be."""

    def __init__(self, installed=None, repo=None):
        self.installed = dict(installed or {})
        self.repo = {k: list(v) for k, v in (repo or {}).items()}
        self.install = Recorder(self._install)

    def _install(self, name, version=None, refresh=False):
        if version not in self.repo.get(name, []):
            raise CommandExecutionError(
                "Problem encountered installing package(s)",
                info={"errors": [f"E: Version '{version}' for '{name}' was not found\n"]},
            )
        old = self.installed.get(name, "")
        self.installed[name] = version
        return {name: {"old": old, "new": version}}

    def salt(self):
        return {
            "pkg.version": lambda name: self.installed.get(name, ""),
            "pkg.version_cmp": fake_cmp,
            "pkg.install": self.install,
            "pkg.list_repo_pkgs": lambda name: {name: list(self.repo[name])} if name in self.repo else {},
            "pkg.latest_version": lambda name, refresh=False: self._latest(name),
            "pkg.refresh_db": dict,
        }

    def _latest(self, name):
        versions = sorted(self.repo.get(name, []), key=ORDER.index)
        if not versions or self.installed.get(name) == versions[-1]:
            return ""
        return versions[-1]
