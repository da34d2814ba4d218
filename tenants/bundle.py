"""A tenant's whole data as one zip, for its return at the end of the contract.

One JSON file and one CSV file per table, a ``manifest.json`` (tables, columns, the personal
columns among them, row counts, schema revision, time of generation) and a ``README.txt``. The
tables come from the tenant metadata, so a table added by a later feature is in the bundle
without a change here; which of its columns hold personal data comes from the privacy registry
(``tenants.privacy``), where that feature declares them.

Rows are streamed from the database in batches of ``BATCH`` and written as they come, so a large
tenant never sits in memory. CSV cells that held text are formula-safe (a spreadsheet shows
them, never runs them); JSON keeps every value as stored (times in ISO 8601, UTC).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import tempfile
import zipfile
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, select

from core.web.spreadsheet import neutralise
from tenants import privacy
from tenants.db import TenantBase, tenant_context

BATCH = 1000
FORMAT = 1
README = """\
Parvis — export des données / data export

FR
Ce fichier contient toutes les données de votre espace Parvis au moment de sa génération :
un fichier par table, au format JSON (dossier json/) et CSV (dossier csv/, UTF-8).
manifest.json liste les tables, leurs colonnes (personal_columns : celles qui contiennent des
données personnelles) et leur nombre de lignes, la révision du schéma et la date de
génération. Les dates sont en UTC (ISO 8601). Dans les CSV, une cellule de texte commençant
par = + - @ est précédée d'une apostrophe pour qu'un tableur ne l'exécute pas.
Conservez ce fichier en lieu sûr : il contient des données personnelles.

EN
This file holds all the data of your Parvis space at the time it was generated: one file per
table, as JSON (json/ folder) and CSV (csv/ folder, UTF-8). manifest.json lists the tables,
their columns (personal_columns: those holding personal data) and row counts, the schema
revision and the time of generation. Times are UTC (ISO 8601). In the CSV files, a text cell
starting with = + - @ gets a leading apostrophe so that a spreadsheet never runs it. Keep this
file safe: it holds personal data.
"""


def tables() -> list[Table]:
    """Every tenant table, parents before children."""
    return list(TenantBase.metadata.sorted_tables)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot export a {type(value).__name__}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)  # text is user input: never a formula
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    if isinstance(value, int | float | Decimal):
        return str(value)
    return str(_json_default(value))


def _write_table(zf: zipfile.ZipFile, connection: Any, table: Table) -> int:
    """Stream one table into ``json/<table>.json`` and ``csv/<table>.csv``; returns its rows.

    A zip takes one entry at a time, so the CSV goes to a temporary file while the JSON is
    written, then is copied in: the rows are read once.
    """
    names = [c.name for c in table.columns]
    rows = 0
    result = connection.execution_options(yield_per=BATCH).execute(
        select(table).order_by(*table.primary_key.columns))
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        writer = csv.writer(spool)
        writer.writerow(names)
        with zf.open(f"json/{table.name}.json", "w") as raw:
            out = io.TextIOWrapper(raw, encoding="utf-8")
            out.write("[")
            for batch in result.partitions():
                for row in batch:
                    values = dict(zip(names, row, strict=True))
                    out.write(",\n" if rows else "\n")
                    out.write(json.dumps(values, ensure_ascii=False, default=_json_default))
                    writer.writerow([_cell(v) for v in row])
                    rows += 1
            out.write("\n]\n")
            out.flush()
            out.detach()
        spool.seek(0)
        with zf.open(f"csv/{table.name}.csv", "w") as raw:
            out = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            shutil.copyfileobj(spool, out)
            out.flush()
            out.detach()
    return rows


def write(slug: str, target: Path, *, revision: str | None, generated_at: datetime) -> dict:
    """Write ``slug``'s bundle to ``target`` (replaced at once when complete); returns the
    manifest. Reads in one transaction, so the files agree with each other."""
    partial = target.with_name(target.name + ".part")
    manifest: dict[str, Any] = {"format": FORMAT, "tenant": slug, "schema_revision": revision,
                                "generated_at": generated_at.isoformat(), "tables": []}
    with tenant_context(slug) as session, \
            zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        connection = session.connection()
        for table in tables():
            rows = _write_table(zf, connection, table)
            manifest["tables"].append({
                "name": table.name, "rows": rows, "columns": [c.name for c in table.columns],
                "personal_columns": list(privacy.personal_columns(table.name)),
                "json": f"json/{table.name}.json", "csv": f"csv/{table.name}.csv"})
        manifest["total_rows"] = sum(t["rows"] for t in manifest["tables"])
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        zf.writestr("README.txt", README)
    partial.replace(target)
    return manifest


def counts(slug: str) -> dict[str, int]:
    """Rows per tenant table (the destruction certificate's inventory)."""
    with tenant_context(slug) as session:
        return {table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in tables()}
