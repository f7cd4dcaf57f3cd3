"""Importing a department's existing register from .xlsx or .csv bytes: tolerant in reading, strict in accepting.

Pure: no Flask, no database session; openpyxl is imported lazily. `read_register` turns bytes into typed
rows with per-cell errors (or raises `ImportRejected` for a refused file); `plan_import` compares those
rows with the register as it stands and says, per row, new / update / unchanged / error. Writing the
plan is the imports feature's job, in one transaction.

    safety.py   refusals before parsing: size, type by content, zip structure, DTDs, counts, time
    sources.py  workbook / CSV bytes -> raw rows (openpyxl read-only, values only)
    columns.py  finding the header row, synonyms, the Council layout's headers, the user's mapping
    values.py   reading cells as people write them; FIELD_LIMITS shared with the forms
    rows.py     one row -> ImportedRow (statement split, ratings checked, actions paired)
    reader.py   read_register: the pipeline
    plan.py     plan_import: the preview
"""

from riskreg.importer.columns import FIELD_LABELS, MAPPABLE_FIELDS, load_council_vocabulary, parse_mapping
from riskreg.importer.plan import FieldChange, ImportPlan, PlannedRow, RowAction, plan_import
from riskreg.importer.reader import read_register
from riskreg.importer.result import (
    IMPORTED_FIELDS,
    CellError,
    CellNote,
    CellWarning,
    ImportedAction,
    ImportedRow,
    ImportResult,
    MappedColumn,
)
from riskreg.importer.safety import ImportRejected, Limits
from riskreg.importer.sources import xml_is_safe
from riskreg.importer.values import FIELD_LIMITS, WORD_TABLE

__all__ = [
    "FIELD_LABELS",
    "FIELD_LIMITS",
    "IMPORTED_FIELDS",
    "MAPPABLE_FIELDS",
    "WORD_TABLE",
    "CellError",
    "CellNote",
    "CellWarning",
    "FieldChange",
    "ImportPlan",
    "ImportRejected",
    "ImportResult",
    "ImportedAction",
    "ImportedRow",
    "Limits",
    "MappedColumn",
    "PlannedRow",
    "RowAction",
    "load_council_vocabulary",
    "parse_mapping",
    "plan_import",
    "read_register",
    "xml_is_safe",
]
