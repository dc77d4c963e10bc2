"""Where packaged data lives. In a wheel, templates/ is installed as
kasboot/_templates; in a source checkout (editable install) it is the top-level
templates/ directory."""

from __future__ import annotations

from pathlib import Path


def templates_dir() -> Path:
    packaged = Path(__file__).resolve().parent / "_templates"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("kasboot's templates are missing: reinstall kasboot")


def flux_template(name: str) -> str:
    return (templates_dir() / "flux" / name).read_text(encoding="utf-8")
