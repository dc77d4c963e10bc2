"""The wizard's answers saved as .kasboot.yaml read back by --config as the same options;
an existing file keeps its comments and other keys."""

from __future__ import annotations

from pathlib import Path

from kasboot.cli.options import load_config_file
from kasboot.settings import build_settings
from kasboot.wizard.save import answers, config_target, save_answers


def test_answers_round_trip_through_the_config_file(tmp_path: Path) -> None:
    settings = build_settings(
        agent="beta",
        manifest_path="clusters/sandbox/beta",
        helm_release_name="beta",
        create_flux_environment=False,
        context="kind-dev",
    )
    saved = answers(settings, build_settings(agent="beta"))
    assert saved == {
        "manifest-path": "clusters/sandbox/beta",
        "helm-release-name": "beta",
        "create-flux-environment": False,
    }  # no agent, no kube context: the file serves every agent and every machine
    target = tmp_path / ".kasboot.yaml"
    target.write_text("# ours\ntimeout: 2m\n", encoding="utf-8")
    save_answers(target, saved)
    text = target.read_text(encoding="utf-8")
    assert "# ours" in text and "timeout: 2m" in text
    loaded = load_config_file(target)
    again = build_settings(agent="beta", **loaded)
    assert again.manifest_path == "clusters/sandbox/beta"
    assert again.helm_release_name == "beta" and again.create_flux_environment is False


def test_the_file_goes_to_the_root_of_the_clone(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert config_target(nested) == tmp_path.resolve() / ".kasboot.yaml"
