"""Actions, Home Office crime outcomes, the statistics forces publish, and the signed national
roll-up.

Pure modules (no I/O): ``kinds`` (action kinds and their fields), ``codes`` (outcome types 1-22),
``periods`` (calendar periods in a time zone), ``statistics`` (definitions and count-once rules),
``layouts`` (snapshot, year on year, timing, and their text/JSON/CSV/HTML renderings),
``charts`` (server-side SVG), ``identity`` (keyed person hashes), ``rollup`` (the signed file),
``synthetic`` (generated scenarios). ``services`` is the one place state changes (audited).
"""
