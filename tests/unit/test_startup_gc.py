"""The collector paused during start-up (startup_gc.py): resumed once, with start-up's
objects frozen; resumed when a command other than bootstrap/plan is resolved; never
touched when nothing paused it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from kasboot import startup_gc
from kasboot.cli import cli


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    yield
    startup_gc.resume()
    gc.unfreeze()
    gc.enable()


def test_resume_without_pause_changes_nothing() -> None:
    gc.disable()  # someone else's choice
    startup_gc.resume()
    assert not gc.isenabled()


def test_pause_then_resume_freezes_and_enables_once() -> None:
    startup_gc.pause()
    assert not gc.isenabled()
    startup_gc.resume()
    assert gc.isenabled() and gc.get_freeze_count() > 0
    gc.disable()
    startup_gc.resume()  # already resumed: nothing more
    assert not gc.isenabled()


def test_resolving_a_command_resumes_it_but_bootstrap_resumes_later() -> None:
    startup_gc.pause()
    assert CliRunner().invoke(cli, ["bootstrap", "--help"]).exit_code == 0
    assert not gc.isenabled()  # bootstrap resumes once its steps are imported
    assert CliRunner().invoke(cli, ["status", "--help"]).exit_code == 0
    assert gc.isenabled()
