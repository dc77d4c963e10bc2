"""`kasboot doctor` and `kasboot status`: read-only checks of GitLab, the token, KAS,
the cluster, Flux, versions, the Flux topology and one agent's state."""

from kasboot.doctor.model import Check, Outcome, Report
from kasboot.doctor.run import run_doctor

__all__ = ["Check", "Outcome", "Report", "run_doctor"]
