"""The columnar XML reader reads large documents exactly as the record reader does.

A document over 1 MiB is read in two halves on two threads, and when every Click repeats
the first one's tags its tags are compared in blocks; a change anywhere in it (the last
Click, the second half) must still give the record reader's table or ``None``.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from clickkit import readers, schema, xml_reader
from clickkit.columnar import _SPLIT_BYTES
from clickkit.errors import ParseError
from clickkit.sandbox import generate_day, serialize


@pytest.fixture(scope="module")
def day() -> pa.Table:
    return generate_day(dt.date(2026, 11, 1), seed=3, clicks_per_day=3000, timezone="UTC")


@pytest.fixture(scope="module")
def document(day: pa.Table) -> str:
    # Over twice the size that is read in halves, on two threads.
    data = serialize(day, "XML")
    assert len(data) > 2 * _SPLIT_BYTES
    return data.decode()


def records(data: bytes) -> pa.Table:
    return schema._records_to_table(schema._xml_records(data))


def columnar(data: bytes) -> pa.Table | None:
    """The columnar table, after checking it equals the record reader's (when it answers)."""
    fast = readers.xml_table(data, is_field=schema.is_schema_field)
    if fast is not None:
        slow = records(data)
        assert fast.schema == slow.schema
        assert fast.equals(slow)
    return fast


def at(text: str, tag: str, *, last: bool) -> int:
    """Where ``tag`` is: its last occurrence, or its first past the middle of ``text``."""
    return text.rindex(tag) if last else text.index(tag, len(text) // 2)


def edit(text: str, old: str, new: str, *, last: bool = False) -> str:
    """``text`` with one ``old`` (the last, or the first in the second half) made ``new``."""
    i = at(text, old, last=last)
    return text[:i] + new + text[i + len(old) :]


def element(text: str, field: str, new: str, *, last: bool = False) -> str:
    """``text`` with one whole ``<field>...</field>`` made ``new``."""
    i = at(text, f"<{field}>", last=last)
    j = text.index(f"</{field}>", i) + len(field) + 3
    return text[:i] + new + text[j:]


def value(field: str, text: str) -> str:
    return f"<{field}>{text}</{field}>"


def test_a_large_export_takes_the_columnar_path(day: pa.Table, document: str) -> None:
    table = columnar(document.encode())
    assert table is not None and table.num_rows == day.num_rows


CHANGES = {
    "a name of the same length": lambda t: element(t, "Os", value("Ox", "TV"), last=True),
    "a field missing": lambda t: element(t, "Browser", ""),
    "a field more": lambda t: edit(t, "<SearchText>", value("Late", "x") + "<SearchText>"),
    "an empty element": lambda t: element(t, "Os", "<Os/>", last=True),
    "entities": lambda t: element(t, "AdName", value("AdName", "a &amp;lt;b&gt; &quot;c&apos;")),
    "line ends": lambda t: element(t, "AdName", value("AdName", "two\r\nlines\rand\n"), last=True),
    "a '>' in a text": lambda t: element(t, "AdName", value("AdName", "a > b")),
    "N/A": lambda t: element(t, "CustomerCity", value("CustomerCity", "N/A")),
    "n/A": lambda t: element(t, "CustomerCity", value("CustomerCity", "n/A")),
    "whitespace between tags": lambda t: edit(t, "<Os>", "\n  <Os>", last=True),
}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_change_anywhere_reads_as_the_record_reader_reads_it(document: str, name: str) -> None:
    data = CHANGES[name](document).encode()
    table = columnar(data)  # equal to the record reader's when it answers
    if name != "a name of the same length":
        assert table is not None  # the Clicks differ: read tag by tag, still columnar


@pytest.mark.parametrize("block", [1000, 50_000])
def test_tags_are_compared_block_by_block(
    monkeypatch: pytest.MonkeyPatch, document: str, block: int
) -> None:
    monkeypatch.setattr(xml_reader, "_COMPARE", block)  # bytes of tags compared at a time
    assert columnar(document.encode()) is not None
    for last in (False, True):  # a Click in a block of each half
        changed = element(document, "Os", value("Ox", "TV"), last=last).encode()
        assert columnar(changed) is not None  # read tag by tag: equal to the records


FLAWS = {
    "a close tag that does not match": lambda t: edit(t, "</Os>", "</OS>", last=True),
    "an unclosed Click": lambda t: edit(t, "</Click>", "", last=True),
    "a stray '&'": lambda t: element(t, "AdName", value("AdName", "a & b")),
    "a '<' in a text": lambda t: element(t, "AdName", value("AdName", "a < b"), last=True),
    "a comment": lambda t: edit(t, "<Os>", "<!-- note --><Os>", last=True),
    "a character reference": lambda t: element(t, "AdName", value("AdName", "&#65;")),
}


@pytest.mark.parametrize("name", sorted(FLAWS))
def test_a_flaw_anywhere_is_left_to_the_record_reader(
    day: pa.Table, document: str, name: str
) -> None:
    data = FLAWS[name](document).encode()
    assert readers.xml_table(data, is_field=schema.is_schema_field) is None
    if name in ("a comment", "a character reference"):
        assert schema.parse_export(data, "XML").num_rows == day.num_rows  # well-formed
    else:
        with pytest.raises(ParseError):
            schema.parse_export(data, "XML")


def test_a_group_twice_in_one_click_is_read_record_by_record() -> None:
    # The record reader keeps the last group; the columnar reader must not merge them.
    data = (
        b'<?xml version="1.0" encoding="UTF-8"?><ImpactRadiusResponse><Clicks><Click>'
        b"<Id>a</Id><PartnerRelated><SubId1>x</SubId1></PartnerRelated>"
        b"<PartnerRelated><SubId2>y</SubId2></PartnerRelated></Click>"
        b"</Clicks></ImpactRadiusResponse>"
    )
    assert readers.xml_table(data, is_field=schema.is_schema_field) is None
    assert records(data).to_pylist() == [{"Id": "a", "SubId2": "y"}]


def test_the_replacements_follow_the_body_bytes() -> None:
    text = b"<Id>a&amp;lt;b</Id><Os>c\r\nd</Os>"
    assert xml_reader._unescape(text, 0, len(text)) == [
        ("\r\n", "\n"),
        ("\r", "\n"),
        ("&amp;", "&"),
    ]
    assert xml_reader._unescape(b"<Id>plain</Id>", 0, 14) == []
    assert xml_reader._unescape(b"<Id>&#65;</Id>", 0, 14) is None


CLICKS = b"<Click><Id>a</Id><Os>x</Os></Click><Click><Id>b</Id><Os/></Click>"
BODY = b"<Clicks>" + CLICKS + b"</Clicks>"

#: Prologs and endings expat refuses (the columnar reader's patterns once took them).
BROKEN = {
    "a form feed in the prolog": b"<R>\x0c" + BODY + b"</R>",
    "a vertical tab after the root": b"<R>" + BODY + b"</R>\x0b",
    "a form feed in the declaration": b'<?xml version="1.0"\x0c?><R>' + BODY + b"</R>",
    "whitespace before the declaration": b"  <?xml version='1.0'?><R>" + BODY + b"</R>",
    "an attribute twice on the root": b'<R a="1" a="2">' + BODY + b"</R>",
    "an attribute twice on Clicks": b'<R><Clicks p="1" p="2">' + CLICKS + b"</Clicks></R>",
    "an unbound prefix": b'<R x:y="1">' + BODY + b"</R>",
    "a reserved namespace": b'<R xmlns="http://www.w3.org/2000/xmlns/">' + BODY + b"</R>",
    "a namespace with a '}'": b'<R><Clicks xmlns="a}b">' + CLICKS + b"</Clicks></R>",
    "a control byte in an attribute": b'<R a="\x01">' + BODY + b"</R>",
    "a declaration without a version": b'<?xml encoding="utf-8"?><R>' + BODY + b"</R>",
    "a misspelt version": b'<?xml verson="1.0"?><R>' + BODY + b"</R>",
    "a junk pseudo-attribute": b'<?xml foo="bar"?><R>' + BODY + b"</R>",
    "the encoding before the version": b'<?xml encoding="utf-8" version="1.0"?><R>'
    + BODY
    + b"</R>",
    "standalone maybe": b'<?xml version="1.0" standalone="maybe"?><R>' + BODY + b"</R>",
    # expat reads "utf8" as a one-byte encoding: a multi-byte character is an error.
    "utf8 without the dash": b'<?xml version="1.0" encoding="utf8"?><R><Clicks><Click>'
    + "<Id>é</Id></Click></Clicks></R>".encode(),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_prolog_expat_refuses_still_raises(name: str) -> None:
    data = BROKEN[name]
    assert readers.xml_table(data, is_field=schema.is_schema_field) is None
    with pytest.raises(ParseError, match="not well-formed"):
        schema.parse_export(data, "XML")


@pytest.mark.parametrize(
    "prolog",
    [
        b"<?xml version='1.0'?>\n<R>",
        b'<?xml version = "1.0" encoding="Utf-8" standalone="yes" ?>\r\n<R>',
        b" \n<R>",
        b'<R xmlns="urn:x" b=\'2\'\tc="3">',
    ],
)
def test_a_prolog_expat_reads_takes_the_columnar_path(prolog: bytes) -> None:
    data = prolog + b'<Clicks page="1" total="2">' + CLICKS + b"</Clicks>\n</R>\n"
    table = columnar(data)
    assert table is not None and table.num_rows == 2


def test_a_root_named_click_is_a_click_to_the_record_reader() -> None:
    # iterparse meets every element named Click, the root too: a third, empty row.
    data = b"<Click>" + BODY + b"</Click>"
    assert readers.xml_table(data, is_field=schema.is_schema_field) is None
    assert records(data).to_pylist()[2] == {"Id": None, "Os": None, "Click": None}
    # A Click inside a Click is no field either.
    nested = b"<R><Clicks><Click><Id>a</Id><Click>b</Click></Click></Clicks></R>"
    assert readers.xml_table(nested, is_field=schema.is_schema_field) is None
