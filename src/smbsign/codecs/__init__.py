"""smbsign.codecs: the file formats the project reads and writes, side by side (issue #8 item 3).

One module per format, each pure (bytes or text in, values out, and back):

- :mod:`~smbsign.codecs.text`: text decoding of evidence files (BOMs, BOM-less UTF-16, UTF-8,
  cp1252) and the UTF-16LE-with-BOM / CRLF encodings Windows tools expect;
- :mod:`~smbsign.codecs.regdata`: registry value types and their byte layouts ([MS-RRP] 2.2.6);
- :mod:`~smbsign.codecs.reg`: ``.reg`` exports, REGEDIT4 and version 5.00 (KB 310516);
- :mod:`~smbsign.codecs.registrypol`: ``Registry.pol`` (PReg, [MS-GPREG] 2.2.1);
- :mod:`~smbsign.codecs.gpttmpl`: security templates, ``GptTmpl.inf`` and ``secedit /export``
  ([MS-GPSB] 2.2);
- :mod:`~smbsign.codecs.smbconf`: ``smb.conf`` lines, parameter names, synonyms and values
  (smb.conf(5)).

Readers raise :class:`smbsign.errors.ParseError` (never another exception on bad input);
writers raise ``ValueError`` for values the format cannot hold. Evidence collectors
(:mod:`smbsign.collect`) turn what a reader returns into ``SettingValue`` with provenance;
renderers and appliers (:mod:`smbsign.remediate`) call the writers. Nothing here imports
``collect``, ``remediate`` or the engine.
"""
