# Thin wrappers: tasks.py does the work and needs only Python and git.
.PHONY: demo test lint bench
demo: ; python3 tasks.py demo
test: ; python3 tasks.py test
lint: ; python3 tasks.py lint
bench: ; python3 tasks.py bench
