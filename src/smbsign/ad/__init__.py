"""The Active Directory domain view (docs/ad.md): which GPO decides which SMB signing value
for each computer of a domain, from the directory and SYSVOL ([MS-GPOL], [MS-ADTS]).

One small module per job: :mod:`gplink` (link syntax), :mod:`resolve` (precedence),
:mod:`security` (security filtering), :mod:`facts` (host facts from computer objects),
:mod:`ldap` (the directory reader), :mod:`sysvol` (GPO files over signed SMB) and
:mod:`view` (the streaming pipeline into the engine).
"""
