"""Probabilistic linking of referrals on names, date of birth, address and postcode (Splink).

Fellegi-Sunter through Splink (the UK Ministry of Justice's implementation): each compared field
contributes a match weight log2(m/u) per agreement level; the sum plus the prior gives the
match probability. The m and u probabilities are fixed here (documented below), not trained, so
that one input always gives the same links and a test can assert them; the prior is fixed
(``PRIOR``) so that links do not change as the store grows.

Address and postcode are one comparison (they are not independent): a household that shares an
address and surname but not a first name or date of birth stays below the threshold. Because
surname and address go together in a household, a pair also needs its first name or its date of
birth to agree (exactly or closely) to link: surname and address alone never do.

Backends: DuckDB in memory by default; PostgreSQL (Splink's ``PostgresAPI``) on a shared server,
in a scratch schema of its own.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from safeguard.referrals.linking import Edge, LinkRecord

#: Match probability a pair must reach to link.
DEFAULT_THRESHOLD = 0.95

# (m, u) per level: m = P(level | same person), u = P(level | different people).
_FIRST = {"exact": (0.88, 0.004), "close": (0.11, 0.01), "else": (0.01, 0.986)}
_LAST = {"exact": (0.86, 0.002), "close": (0.09, 0.006), "else": (0.05, 0.992)}
_DOB = {"exact": (0.92, 0.0002), "close": (0.05, 0.002), "else": (0.03, 0.9978)}
# A household shares an address and often a surname: u for "same address" is set for a
# population where that is common (one pair in 2,000), not for independent strangers.
_PLACE = {
    "both": (0.62, 0.0005),
    "address": (0.18, 0.0006),
    "postcode": (0.12, 0.002),
    "else": (0.08, 0.9969),
}


@dataclass(frozen=True)
class ProbabilisticLink:
    a: str
    b: str
    weight: float
    probability: float
    #: field -> (level label, that level's weight)
    levels: tuple[tuple[str, str, float], ...]

    def edge(self) -> Edge:
        reasons = tuple(f"{name}: {label} ({w:+.2f})" for name, label, w in self.levels)
        return Edge(self.a, self.b, "probabilistic", reasons, self.weight, self.probability)


#: P(two random referrals are one person), fixed (about one in a store of 10,000) rather than
#: 1/N: a link must not vanish because the store grew.
PRIOR = 1e-4


def prior(n: int) -> float:
    """The prior for a store of ``n`` referrals: ``PRIOR`` whatever ``n`` (see above)."""
    del n
    return PRIOR


def prior_weight(n: int) -> float:
    p = prior(n)
    return math.log2(p / (1 - p))


def _settings(n: int):  # noqa: ANN202 - Splink's own type
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    def levels(col: str, mu: dict[str, tuple[float, float]]) -> Any:
        return cl.CustomComparison(
            output_column_name=col,
            comparison_levels=[
                cll.NullLevel(col),
                cll.ExactMatchLevel(col).configure(
                    m_probability=mu["exact"][0],
                    u_probability=mu["exact"][1],
                    label_for_charts="exact",
                ),
                cll.LevenshteinLevel(col, 2).configure(
                    m_probability=mu["close"][0],
                    u_probability=mu["close"][1],
                    label_for_charts="close",
                ),
                cll.ElseLevel().configure(
                    m_probability=mu["else"][0],
                    u_probability=mu["else"][1],
                    label_for_charts="different",
                ),
            ],
        )

    dob = cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob").configure(
                m_probability=_DOB["exact"][0],
                u_probability=_DOB["exact"][1],
                label_for_charts="exact",
            ),
            cll.CustomLevel(
                "(substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND "
                "substr(dob_l, 6, 5) <> substr(dob_r, 6, 5) AND "
                "(substr(dob_l, 6, 2) = substr(dob_r, 6, 2) OR "
                "substr(dob_l, 9, 2) = substr(dob_r, 9, 2)))"
            ).configure(
                m_probability=_DOB["close"][0],
                u_probability=_DOB["close"][1],
                label_for_charts="same year, one of day or month differs",
            ),
            cll.ElseLevel().configure(
                m_probability=_DOB["else"][0],
                u_probability=_DOB["else"][1],
                label_for_charts="different",
            ),
        ],
    )
    place = cl.CustomComparison(
        output_column_name="place",
        comparison_levels=[
            cll.CustomLevel(
                "(postcode_l IS NULL OR postcode_r IS NULL) AND "
                "(address_l IS NULL OR address_r IS NULL)"
            ).configure(is_null_level=True, label_for_charts="missing"),
            cll.CustomLevel("postcode_l = postcode_r AND address_l = address_r").configure(
                m_probability=_PLACE["both"][0],
                u_probability=_PLACE["both"][1],
                label_for_charts="same address and postcode",
            ),
            cll.CustomLevel("address_l = address_r").configure(
                m_probability=_PLACE["address"][0],
                u_probability=_PLACE["address"][1],
                label_for_charts="same address (a postcode missing)",
            ),
            cll.CustomLevel("postcode_l = postcode_r").configure(
                m_probability=_PLACE["postcode"][0],
                u_probability=_PLACE["postcode"][1],
                label_for_charts="same postcode",
            ),
            cll.ElseLevel().configure(
                m_probability=_PLACE["else"][0],
                u_probability=_PLACE["else"][1],
                label_for_charts="different",
            ),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="key",
        probability_two_random_records_match=prior(n),
        comparisons=[
            levels("first_name", _FIRST),
            levels("last_name", _LAST),
            dob,
            place,
        ],
        blocking_rules_to_generate_predictions=[
            block_on("postcode"),
            block_on("dob"),
            block_on("last_name", "first_name"),
        ],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
    )


def _rows(records: Sequence[LinkRecord]) -> dict[str, list[Any]]:
    def clean(v: str | None) -> str | None:
        v = " ".join(v.split()).upper() if v else None
        return v or None

    cols: dict[str, list[Any]] = {
        "key": [],
        "first_name": [],
        "last_name": [],
        "dob": [],
        "address": [],
        "postcode": [],
    }
    for r in records:
        p = r.person
        cols["key"].append(r.key)
        cols["first_name"].append(clean(p.first_name))
        cols["last_name"].append(clean(p.last_name))
        cols["dob"].append(p.dob.strip()[:10] if p.dob and p.dob.strip() else None)
        cols["address"].append(clean(p.address))
        cols["postcode"].append(clean(p.postcode).replace(" ", "") if p.postcode else None)
    return cols


def probabilistic_links(
    records: Sequence[LinkRecord],
    threshold: float = DEFAULT_THRESHOLD,
    *,
    postgres_engine: Any = None,
) -> list[ProbabilisticLink]:
    """Pairs whose match probability reaches ``threshold``, each with its weights."""
    usable = [
        r
        for r in records
        if r.person.last_name or r.person.first_name or r.person.dob or r.person.postcode
    ]
    if len(usable) < 2:
        return []
    from splink import Linker

    schema = None
    if postgres_engine is not None:
        from splink.backends.postgres import PostgresAPI

        schema = f"splink_{uuid.uuid4().hex[:12]}"
        db_api = PostgresAPI(engine=postgres_engine, schema=schema)
    else:
        from splink.backends.duckdb import DuckDBAPI

        db_api = DuckDBAPI()
    try:
        import pyarrow as pa

        if schema is not None:
            # Splink's PostgreSQL backend loads tables through a DuckDB extension it would
            # download; nothing is fetched here: the rows go in through SQLAlchemy instead.
            frame_in = db_api.register(_pg_input(postgres_engine, schema, _rows(usable)))
        else:
            frame_in = db_api.register(pa.Table.from_pydict(_rows(usable)))
        linker = Linker(frame_in, _settings(len(records)), log_level="WARNING")
        frame = linker.inference.predict(threshold_match_probability=threshold)
        data = frame.as_dict()
    finally:
        if schema is not None:
            from sqlalchemy import text

            with postgres_engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    return [link for link in _links_from(data) if _tells_people_apart(link)]


def _pg_input(engine: Any, schema: str, cols: dict[str, list[Any]]) -> str:
    """The input rows as a table in ``schema`` (bulk insert); returns its qualified name."""
    from sqlalchemy import Column, MetaData, Table, Text

    meta = MetaData(schema=schema)
    table = Table("input_referrals", meta, *(Column(name, Text) for name in cols))
    meta.create_all(engine)
    rows = [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]
    with engine.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(table.insert(), rows[start : start + 10_000])
    return "input_referrals"


def _tells_people_apart(link: ProbabilisticLink) -> bool:
    """A first name or date of birth agrees: the only fields that tell a household apart."""
    agree = {name for name, label, _w in link.levels if label not in ("different", "missing")}
    return bool(agree & {"first_name", "dob"})


_FIELDS = {
    "first_name": (_FIRST, {"exact": "exact", "close": "close", "else": "different"}),
    "last_name": (_LAST, {"exact": "exact", "close": "close", "else": "different"}),
    "dob": (_DOB, {"exact": "exact", "close": "day or month differs", "else": "different"}),
    "place": (
        _PLACE,
        {
            "both": "same address and postcode",
            "address": "same address",
            "postcode": "same postcode",
            "else": "different",
        },
    ),
}


def _label(field: str, weight: float) -> str:
    table, names = _FIELDS[field]
    for level, (m, u) in table.items():
        if abs(math.log2(m / u) - weight) < 1e-6:
            return names[level]
    return "missing" if abs(weight) < 1e-9 else "?"


def _links_from(data: dict[str, list[Any]]) -> list[ProbabilisticLink]:
    out: list[ProbabilisticLink] = []
    for i in range(len(data.get("match_weight", []))):
        levels = []
        for f in _FIELDS:
            w = data.get(f"mw_{f}", [None] * (i + 1))[i]
            if w is None:
                continue
            levels.append((f, _label(f, float(w)), float(w)))
        a, b = str(data["key_l"][i]), str(data["key_r"][i])
        out.append(
            ProbabilisticLink(
                min(a, b),
                max(a, b),
                float(data["match_weight"][i]),
                float(data["match_probability"][i]),
                tuple(levels),
            )
        )
    out.sort(key=lambda link: (link.a, link.b))
    return out
