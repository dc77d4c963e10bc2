"""The figures of issue 18's budget table: how each is measured on the sandbox and the
budget it must meet. Each scenario gets its own world (a fresh `sandbox up`), so no run
sees what another left behind.

    base        fresh bootstrap, then the same command again (unchanged re-run)
    growth      a world seeded with 999 more agents / 999 environments / 2,000 repository
                files / 500 manifests under the Flux path, then a fresh bootstrap: its
                requests minus the base world's fresh requests
    latency     50 ms and 200 ms on every route of both emulators, fresh bootstrap:
                wall time / floor (bench/measure.py)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bench import measure
from bench.world import Run, World

GROWTH: dict[str, tuple[str, int, Callable[[World, int], None]]] = {
    # figure key -> (what, how many, how to seed)
    "agents": ("1 to 1,000 agents", 999, World.seed_agents),
    "environments": ("1 to 1,000 environments", 999, World.seed_environments),
    "repository_files": ("1 to 2,000 repository files", 2000, World.seed_repository_files),
    "flux_manifests": ("1 to 500 manifests under the Flux path", 500, World.seed_flux_manifests),
}
LATENCIES_MS = (50, 200)


@dataclass
class Figure:
    key: str
    figure: str
    budget: float | None  # the most the measured value may be; None: shown, not judged
    measured: float | None
    unit: str = "requests"
    detail: str = ""

    @property
    def passed(self) -> bool | None:
        if self.budget is None:
            return None
        return self.measured is not None and self.measured <= self.budget

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["pass"] = self.passed
        return document


class RunFailed(RuntimeError):
    pass


def _checked(run: Run, what: str) -> Run:
    if run.returncode != 0:
        tail = run.stderr.strip().splitlines()[-3:]
        raise RunFailed(f"{what}: kasboot exited {run.returncode}: {' | '.join(tail)}")
    return run


def _last_request(run: Run) -> float:
    return max((float(r["at"]) for r in measure.ours(run.records)), default=run.exited)


def _split(run: Run) -> tuple[measure.Counts, measure.Counts]:
    return measure.Counts.of(run.gitlab), measure.Counts.of(run.kube)


def base_figures() -> tuple[list[Figure], int]:
    """Fresh and re-run counts (and Ready -> exit of the fresh run); also the fresh run's
    requests outside the Flux wait, the baseline of the growth figures."""
    with World("base") as world:
        fresh = _checked(world.bootstrap(), "fresh bootstrap")
        rerun = _checked(world.bootstrap(), "unchanged re-run")
    gitlab, kube = _split(fresh)
    gitlab_again, kube_again = _split(rerun)
    ready = measure.ready_at(fresh.records)
    strangers = measure.unattributed(fresh.records + rerun.records)
    figures = [
        Figure("gitlab_fresh", "GitLab requests, fresh bootstrap", 10, gitlab.requests,
               detail=f"{gitlab.writes} writes, {gitlab.commits} commit(s)"),
        Figure("gitlab_rerun", "GitLab requests, unchanged re-run", 8, gitlab_again.requests),
        Figure("gitlab_rerun_writes", "GitLab writes, unchanged re-run", 0, gitlab_again.writes),
        Figure("gitlab_rerun_commits", "commits, unchanged re-run", 0, gitlab_again.commits,
               unit="commits"),
        Figure("cluster_fresh", "cluster requests, fresh bootstrap", 15, kube.requests,
               detail=f"{kube.writes} writes"),
        Figure("cluster_rerun", "cluster requests, unchanged re-run", 6, kube_again.requests),
        Figure("cluster_rerun_writes", "cluster writes, unchanged re-run", 0, kube_again.writes),
        Figure("ready_to_exit", "HelmRelease Ready -> process exit", 0.1,
               None if ready is None else round(fresh.exited - ready, 3), unit="s",
               detail="fresh bootstrap, no injected latency; last request -> exit "
               f"{fresh.exited - _last_request(fresh):.3f} s"),
        Figure("unattributed", "requests with no known user agent (fresh + re-run)", 0,
               len(strangers), detail=", ".join(sorted({
                   f"{r['user_agent'] or '(none)'} {r['method']} {r['path']}" for r in strangers
               }))[:300]),
    ]  # fmt: skip
    return figures, len(measure.outside_flux_wait(fresh.records))


def growth_figure(key: str, baseline: int) -> Figure:
    what, count, seed = GROWTH[key]
    with World(f"growth-{key}") as world:
        seed(world, count)
        run = _checked(world.bootstrap(), f"fresh bootstrap with {what}")
    gitlab, kube = _split(run)
    counted = len(measure.outside_flux_wait(run.records))
    return Figure(
        f"growth_{key}",
        f"growth from {what}",
        2,
        counted - baseline,
        detail=f"{counted} requests outside the Flux wait vs {baseline} "
        f"(in all {gitlab.requests} GitLab, {kube.requests} cluster)",
    )


LATENCY_RUNS = 3  # fresh worlds per latency; the figure is their median ratio


def latency_figures(milliseconds: int) -> list[Figure]:
    """Wall / floor of a fresh bootstrap with ``milliseconds`` on every route: each
    ratio within one run (its wall against its own floor), the median of
    LATENCY_RUNS runs, each in a world of its own (one slow moment of a shared
    machine spoils one run, not the figure)."""
    measured = [_latency_run(milliseconds) for _ in range(LATENCY_RUNS)]
    ratios = sorted(ratio for ratio, _ in measured if ratio is not None)
    if not ratios:
        return [
            Figure(
                f"wall_over_floor_{milliseconds}ms",
                f"wall / floor, {milliseconds} ms on every route",
                1.15,
                None,
                unit="ratio",
                detail="no floor",
            )
        ]
    median = ratios[len(ratios) // 2]
    detail = next(text for ratio, text in measured if ratio == median)
    return [
        Figure(
            f"wall_over_floor_{milliseconds}ms",
            f"wall / floor, {milliseconds} ms on every route",
            1.15,
            round(median, 2),
            unit="ratio",
            detail=f"median of {LATENCY_RUNS} runs ("
            + ", ".join(f"{ratio:.3f}" for ratio in ratios)
            + f"); that run: {detail}",
        )
    ]


def _latency_run(milliseconds: int) -> tuple[float | None, str]:
    with World(f"latency-{milliseconds}") as world:
        world.set_latency(milliseconds)
        run = _checked(world.bootstrap(), f"fresh bootstrap with {milliseconds} ms")
    floor = measure.floor(run.records, milliseconds / 1000)
    ready = measure.ready_at(run.records)
    ratio = run.wall / floor.seconds if floor.seconds else None
    detail = (
        f"wall {run.wall:.2f} s; floor {floor.seconds:.2f} s = {floor.chain} "
        f"chained requests x {milliseconds} ms + {floor.flux_wait_s:.2f} s waiting on "
        f"Flux; {len(measure.ours(run.records))} requests in all"
        + ("" if ready is None else f"; Ready -> exit {run.exited - ready:.3f} s")
    )
    return ratio, detail


def startup_figures() -> list[Figure]:
    from bench import startup

    measured = startup.measure()
    base = measured[startup.BASELINE]["best_s"]
    return [
        Figure(
            "startup_" + label.replace("kasboot ", "").replace("--", "").replace(" ", "_"),
            f"`{label}` / `{startup.BASELINE}`",
            1.5,
            values["ratio"],
            unit="ratio",
            detail=f"median of {startup.ROUNDS} paired rounds; best {values['best_s'] * 1000:.0f} "
            f"ms vs {base * 1000:.0f} ms; CPU time ratio {values['cpu_ratio']:.2f}",
        )
        for label, values in measured.items()
        if label != startup.BASELINE
    ]


def count_figures(growth: tuple[str, ...] = tuple(GROWTH)) -> list[Figure]:
    """Every exact count (no timing): base, then the growth figures named."""
    figures, baseline = base_figures()
    figures.extend(growth_figure(key, baseline) for key in growth)
    return figures
