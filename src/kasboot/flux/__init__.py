"""Flux knowledge in pure Python: the topology guard (topology.py, predicting
kustomize-controller's build and source-controller's ignore rules), readiness of
Flux objects (health.py) and failure diagnosis (diagnose.py). No I/O here: the
seams fetch files and objects and hand them over."""
