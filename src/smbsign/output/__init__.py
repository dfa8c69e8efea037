"""The one output stack: a streaming :class:`~smbsign.output.base.Writer` interface and one
registry of formats (:mod:`smbsign.output.registry`), fed by a live scan, a live audit and a
stored run (docs/architecture.md, "Add a format").

- ``base``: ``Writer`` (begin / add / end), ``Format`` (what a format carries), buffers;
- ``registry``: THE table, choices per record kind, the ``-o`` suffix guess;
- one module a format (``table``, ``json_out``, ``jsonl``, ``csv_out``, ``sarif``, ``junit``,
  ``markdown``, ``html``);
- ``cells``: the one CSV cell function; ``summary``: the live scan's tally;
  ``relay``: relay lists (the relay wording is :mod:`smbsign.verdict`).
"""
