"""kasboot: connect a Kubernetes cluster to GitLab through agentk and Flux."""

__version__ = "0.1.0"
