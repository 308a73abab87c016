"""A comparable picture of a whole store, free of surrogate ids and timestamps."""

from __future__ import annotations

from sqlalchemy import create_engine, text

QUERIES = {
    "media": "select sha256, sha1, md5, size, mime, kind, format, width, height, pdq, pdq_quality,"
    " pdq_dihedral, exif_make, exif_model, exif_serial, exif_date_taken, gps_lat,"
    " gps_lon, decode_error from media",
    "files": "select e.reference, f.seq, f.logical_path, m.sha256, f.size, f.error,"
    " f.modified, f.created, f.accessed, f.changed, f.inode, f.deleted, f.unallocated,"
    " f.carved, f.physical_offset"
    " from file_records f join exhibits e on e.id = f.exhibit_id"
    " left join media m on m.id = f.media_id",
    "exhibit_media": "select e.reference, m.sha256, em.status, em.category, r.sha256, g.size"
    " from exhibit_media em join exhibits e on e.id = em.exhibit_id"
    " join media m on m.id = em.media_id"
    " left join dup_groups g on g.id = em.group_id"
    " left join media r on r.id = g.representative_media_id",
    "matches": "select m.sha256, b.line, x.kind, x.hash_kind, x.distance, x.variant"
    " from matches x join media m on m.id = x.media_id"
    " join bank_entries b on b.id = x.bank_entry_id",
    "deciding": "select m.sha256, b.line, x.kind, x.distance from exhibit_media em"
    " join media m on m.id = em.media_id join matches x on x.id = em.deciding_match_id"
    " join bank_entries b on b.id = x.bank_entry_id",
}


def dump(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        result = {
            name: sorted(tuple(row) for row in connection.execute(text(sql)))
            for name, sql in QUERIES.items()
        }
    engine.dispose()
    return result
