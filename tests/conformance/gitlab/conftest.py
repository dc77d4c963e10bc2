"""One GitLab emulator per test session; each test gets its own fresh project."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gitlab
import pytest
from gitlab.v4.objects import Project

from kasboot.sandbox.gitlab import GitLabEmulator

_counter = itertools.count(1)


@dataclass(frozen=True)
class World:
    emulator: GitLabEmulator
    owner_token: str  # root, scope api
    read_token: str  # root, scope read_api
    developer_token: str  # dev, scope api, Developer on every test project
    reporter_token: str  # rep, scope api, Reporter on every test project
    outsider_token: str  # out, scope api, member of nothing

    @property
    def url(self) -> str:
        return self.emulator.url

    def client(self, token: str | None = None, **options: object) -> gitlab.Gitlab:
        return gitlab.Gitlab(self.url, private_token=token or self.owner_token, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    emulator = GitLabEmulator(Path(tmp_path_factory.mktemp("gitlab-emulator"))).start()
    backend = emulator.backend
    backend.ensure_user("root", "Administrator", "admin@example.com")
    backend.ensure_user("dev", "Dee Veloper", "dev@example.com")
    backend.ensure_user("rep", "Rep Orter", "rep@example.com")
    backend.ensure_user("out", "Out Sider", "out@example.com")
    yield World(
        emulator=emulator,
        owner_token=backend.create_personal_access_token("root", "owner", ["api"]),
        read_token=backend.create_personal_access_token("root", "reader", ["read_api"]),
        developer_token=backend.create_personal_access_token("dev", "dev", ["api"]),
        reporter_token=backend.create_personal_access_token("rep", "rep", ["api"]),
        outsider_token=backend.create_personal_access_token("out", "out", ["api"]),
    )
    emulator.stop()


@pytest.fixture
def gl(world: World) -> gitlab.Gitlab:
    return world.client()


@pytest.fixture
def project(world: World, gl: gitlab.Gitlab) -> Project:
    """A fresh ``group<N>/fleet`` owned by root, with dev as Developer and rep as Reporter."""
    backend = world.emulator.backend
    row = backend.ensure_project(f"group{next(_counter)}/fleet", owner="root")
    backend.add_member(row, "dev", 30)
    backend.add_member(row, "rep", 20)
    return gl.projects.get(row["id"])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests here start servers on 127.0.0.1 (all but the pure key maths): mark them."""
    here = Path(__file__).parent
    for item in items:
        module = Path(str(item.fspath))
        if here in module.parents and module.name != "test_ed25519.py":
            item.add_marker(pytest.mark.sandbox)
