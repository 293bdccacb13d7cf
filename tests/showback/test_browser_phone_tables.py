"""On a phone (390 px) every table is one card per row, each value beside its label; no element is
narrower than its text and no amount is broken across lines. At 1400 px tables stay tables."""

from __future__ import annotations

import pytest

from tests.factories import OpportunityFactory

from .test_browser import DESKTOP, PHONE, _log_in, assert_fits

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Rows of the tables shown: how each is laid out, and the cells that carry no label of their column.
ROWS = """() => {
  const rows = [];
  for (const table of document.querySelectorAll("main table")) {
    if (!table.offsetParent) continue;
    const heads = [];
    table.querySelectorAll("thead tr:first-child th").forEach((th) => {
      for (let i = 0; i < th.colSpan; i += 1) heads.push(th.textContent.trim());
    });
    for (const tr of table.querySelectorAll("tbody tr, tfoot tr")) {
      let column = 0, cells = 0, unlabelled = 0;
      for (const td of tr.children) {
        const shown = getComputedStyle(td).display !== "none";
        if (shown) cells += 1;
        if (shown && td.colSpan === 1 && heads[column] && td.dataset.label !== heads[column]) unlabelled += 1;
        column += td.colSpan;
      }
      rows.push({display: getComputedStyle(tr).display, cells, unlabelled});
    }
  }
  return rows;
}"""

# Elements whose text overflows their box, and numbers whose characters sit on more than one line.
CRAMPED = """() => {
  const narrow = [];
  for (const el of document.querySelectorAll("main *")) {
    if (el.closest(".chart, svg") || el.clientWidth === 0) continue;
    const text = el.textContent.trim().slice(0, 40);
    if (el.scrollWidth > el.clientWidth + 1) narrow.push(`${el.tagName.toLowerCase()}.${el.className} "${text}"`);
  }
  const broken = [];
  const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest(".chart, svg")) continue;
    for (const match of node.textContent.matchAll(/[-+]?\\$?\\d[\\d,]*(\\.\\d+)?%?/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (lines.size > 1) broken.push(match[0]);
    }
  }
  return {narrow: narrow.slice(0, 10), broken: broken.slice(0, 10)};
}"""


def assert_tables_read_well(page, width: int) -> None:
    assert_fits(page, width)
    rows = page.evaluate(ROWS)
    assert rows, "the page shows no table"
    if width == PHONE:
        assert {r["display"] for r in rows} == {"block"}
        assert [r for r in rows if r["unlabelled"]] == []
    else:
        assert {r["display"] for r in rows} == {"table-row"}
    assert page.evaluate(CRAMPED) == {"narrow": [], "broken": []}


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_finance_reads_every_table_at_the_width_of_the_screen(company, team, finance, live_server, browser_page, width):
    OpportunityFactory(team=team, monthly_saving="1428.58", sentence="Feature 'classify' could use a cheaper model.")
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    _log_in(page, live_server, finance.username)
    page.wait_for_url(f"{live_server.url}/overview/")
    page.wait_for_selector("#teams .main-svg")
    assert_tables_read_well(page, width)
    for path in ("/teams/search/", "/teams/platform/", "/savings/", "/teams/search/?product=answers"):
        page.goto(f"{live_server.url}{path}")
        assert_tables_read_well(page, width)
