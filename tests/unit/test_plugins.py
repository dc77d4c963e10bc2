"""Placing plugin steps and holding them to the contract (pure logic; discovery through
real entry points is in tests/integration/test_plugins.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from kasboot.errors import PreflightError
from kasboot.pipeline import Change
from kasboot.plugins import (
    REDACTED,
    Plugin,
    PluginCheck,
    PluginFailure,
    PluginStep,
    _contract_problem,
    with_plugins,
)

BUILTIN = ["preflight", "agent", "commit", "reconcile"]


@dataclass
class Named:
    name: str
    title: str = "t"

    def plan(self, ctx: Any) -> list[Change]:
        return []


def loaded(step: Any, where: str, anchor: str) -> Plugin:
    return Plugin(step.name, f"pkg:{step.name}", "pkg 1.0", step=step, position=(where, anchor))


def test_plugins_go_next_to_their_anchor_in_entry_point_order() -> None:
    steps = [Named(name) for name in BUILTIN]
    placed = with_plugins(
        steps,  # type: ignore[arg-type]
        [
            loaded(Named("a1"), "after", "agent"),
            loaded(Named("a2"), "after", "agent"),
            loaded(Named("b1"), "before", "commit"),
        ],
    )
    assert [step.name for step in placed] == [
        "plugins",
        "preflight",
        "agent",
        "a1",
        "a2",
        "b1",
        "commit",
        "reconcile",
    ]


def test_no_plugins_leaves_the_steps_alone() -> None:
    steps = [Named(name) for name in BUILTIN]
    assert with_plugins(steps, []) == steps  # type: ignore[arg-type]


class Anchored(Named):
    def __init__(self, name: str, **where: str) -> None:
        super().__init__(name)
        for key, value in where.items():
            setattr(self, key, value)


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        (Anchored("Bad Name", after="agent"), "no valid 'name'"),
        (Anchored("x"), "exactly one of 'before' or 'after'"),
        (Anchored("x", before="agent", after="agent"), "exactly one of"),
        (Anchored("x", after="nowhere"), "unknown step 'nowhere'"),
        (Anchored("x", before="preflight"), "cannot run before 'preflight'"),
        (object(), "no valid 'name'"),
    ],
)
def test_contract_problems_are_named(step: Any, problem: str) -> None:
    found = _contract_problem(step, BUILTIN)
    assert found is not None and problem in found


def test_a_broken_plugin_refuses_the_run_naming_it_and_the_way_out() -> None:
    broken = Plugin("gate", "gate:Gate", "gate-pkg 2.0", problem="cannot be loaded: boom")
    with pytest.raises(PreflightError) as raised:
        PluginCheck([broken]).plan(None)
    line = raised.value.one_line()
    assert "gate (gate:Gate) from gate-pkg 2.0 cannot be loaded" in line
    assert "pip uninstall gate-pkg" in line and "KASBOOT_NO_PLUGINS=1" in line


@dataclass
class Token:
    secret: str


@dataclass
class Ctx:
    token: Token | None


class Leaky(Named):
    after = "agent"

    def plan(self, ctx: Any) -> list[Change]:
        return [Change("notify", "chat", f"token is {ctx.token.secret}")]

    def summary(self, ctx: Any) -> str:
        return f"sent {ctx.token.secret}"


def test_the_token_never_reaches_the_output_through_a_plugin() -> None:
    secret = "glagent-SECRETSECRETSECRET"
    step = PluginStep(loaded(Leaky("leaky"), "after", "agent"))
    ctx = Ctx(Token(secret))
    changes = step.plan(ctx)
    assert changes == [Change("notify", "chat", f"token is {REDACTED}")]
    assert secret not in step.summary(ctx)


class Crashing(Named):
    after = "agent"

    def plan(self, ctx: Any) -> list[Change]:
        raise KeyError(f"no {ctx.token.secret}")


def test_an_unexpected_exception_becomes_one_line_naming_the_plugin() -> None:
    secret = "glagent-SECRETSECRETSECRET"
    step = PluginStep(loaded(Crashing("crashing"), "after", "agent"))
    with pytest.raises(PluginFailure) as raised:
        step.plan(Ctx(Token(secret)))
    line = raised.value.one_line()
    assert "plugin step crashing (pkg:crashing) from pkg 1.0 failed in plan(): KeyError" in line
    assert secret not in line and int(raised.value.exit_code) == 1


class WrongType(Named):
    after = "agent"

    def plan(self, ctx: Any) -> Any:
        return {"not": "a list"}


def test_a_plan_that_is_not_a_list_of_changes_is_refused() -> None:
    with pytest.raises(PluginFailure, match=r"not a list of kasboot\.pipeline\.Change"):
        PluginStep(loaded(WrongType("wrong"), "after", "agent")).plan(Ctx(None))
