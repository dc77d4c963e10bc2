"""The interactive bootstrap, in one package: may we prompt at all (prompting), the
decisions free of I/O (model), what the wizard reads to propose defaults (discovery),
the questions and the review (flow), and saving the answers (save).

The wizard is a client of the library — bootstrap.run_bootstrap, the option table
(option_specs) and option sources — never of the click commands: cli/ imports the
wizard, the wizard imports ui/, and neither imports back (tests/unit/test_import_graph.py).
"""
