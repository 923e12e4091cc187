"""Columnar readers for JSON and XML click exports: whole columns, no Python object per value.

:func:`clickkit.schema.parse_json` and :func:`clickkit.schema.parse_xml` try these first.
Each returns the raw table of export fields that the record-by-record readers would
build (the same columns in the same order, the same values and types) or ``None`` when
the document has a shape it does not prove it reads the same way; the caller then reads
it record by record, which also reports what is wrong with a broken document.

- **JSON** (:mod:`clickkit.json_reader`): records that repeat the first one's layout are
  read from their bytes (:mod:`clickkit.json_layout`); other documents by pyarrow's JSON
  reader, in parts on Arrow's CPU threads.
- **XML** (:mod:`clickkit.xml_reader`): every tag found with NumPy and told apart by its
  bytes, the nesting checked, each field's texts copied into its column.
- What both share (:mod:`clickkit.columnar`): two-thread runs, arrays in Arrow's memory
  pool, byte scans, empty markers.

Examples
--------
>>> known = {"Id", "Os", "SubId1"}.__contains__  # the schema's columns (is_schema_field)
>>> doc = b'{"Clicks":[{"Id":"a","PartnerRelated":[{"SubId1":"s"}]}]}'
>>> json_table(doc, is_field=known).to_pylist()
[{'Id': 'a', 'SubId1': 's'}]
>>> doc = b"<R><Clicks><Click><Id>a</Id><Os/></Click></Clicks></R>"
>>> xml_table(doc, is_field=known).to_pylist()
[{'Id': 'a', 'Os': None}]
"""

from __future__ import annotations

from clickkit.json_reader import json_table
from clickkit.xml_reader import xml_table

__all__ = ["json_table", "xml_table"]
