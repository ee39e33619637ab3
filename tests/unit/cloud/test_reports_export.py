"""How report tables leave the app: CSV with proper escaping and no formulas, and server-drawn SVG charts."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.web.admin.charts import bar_chart, compact, line_chart, percent, yuan
from cloud.web.admin.tables import TableView, cell, csv_text, safe_csv_value


def test_csv_quotes_commas_quotes_and_newlines_and_keeps_numbers() -> None:
    table = TableView("t", ("name", "count", "when"))
    table.add('Tea, "big" room\nsecond line', 3, datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    text = csv_text(table)
    assert text.startswith("name,count,when\r\n")
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "count", "when"],
        ['Tea, "big" room\nsecond line', "3", "2026-03-02T10:00:00+00:00"],
    ]


@pytest.mark.parametrize("danger", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"])
def test_text_that_a_spreadsheet_would_run_gets_a_leading_quote(danger: str) -> None:
    assert safe_csv_value(danger) == "'" + danger
    table = TableView("t", ("v",))
    table.add(danger)
    [_, [value]] = list(csv.reader(io.StringIO(csv_text(table), newline="")))
    assert value == "'" + danger


def test_numbers_stay_numbers_even_when_negative() -> None:
    assert safe_csv_value(-1500) == -1500
    assert safe_csv_value(0.25) == 0.25
    assert safe_csv_value(None) == ""


@given(st.lists(st.text(max_size=30), min_size=1, max_size=5))
def test_any_text_round_trips_through_csv_apart_from_the_formula_quote(values: list[str]) -> None:
    table = TableView("t", tuple(f"c{i}" for i in range(len(values))))
    table.add(*values)
    [_, row] = list(csv.reader(io.StringIO(csv_text(table), newline="")))
    assert row == [str(safe_csv_value(v)) for v in values]


def test_a_row_of_the_wrong_width_is_a_bug_caught_at_once() -> None:
    with pytest.raises(ValueError):
        TableView("t", ("a", "b")).add(1)


def test_cells_keep_links_and_classes_out_of_the_csv() -> None:
    table = TableView("t", ("store",))
    table.add(cell("Store A", href="/admin/stores/s-1", css="online"))
    assert csv_text(table) == "store\r\nStore A\r\n"


def test_charts_are_well_formed_svg_with_escaped_labels() -> None:
    svg = bar_chart("Revenue <all>", ["a&b", "c"], [150000, 0], yuan)
    root = ET.fromstring(str(svg))
    assert root.tag.endswith("svg")
    bars = [el for el in root.iter() if el.tag.endswith("rect")]
    assert len(bars) == 2 and float(bars[0].get("height", "0")) > float(bars[1].get("height", "0"))
    assert "a&amp;b" in str(svg) and "Revenue &lt;all&gt;" in str(svg)
    line = ET.fromstring(str(line_chart("Occupancy", ["1", "2", "3"], [0.5, None, 1.0], percent, top=1.0)))
    assert sum(1 for el in line.iter() if el.tag.endswith("circle")) == 2


def test_money_and_shares_read_as_people_expect() -> None:
    assert yuan(123456) == "¥1,234.56"
    assert compact(250000) == "¥2.5k"
    assert percent(0.456) == "46%"
