"""End to end in a real browser (headless Chromium): open a table, page through its partitions, open a collection,
run a pattern and see its cost, export CSV — with no JavaScript of ours on any page."""

from __future__ import annotations

import pytest

from tests.web import browser
from tests.web.conftest import BIG, TABLE

pytestmark = pytest.mark.skipif(browser.available() is not None, reason=str(browser.available()))


def test_browse_page_query_pattern_and_export_in_chromium(site, cli, tmp_path):
    with browser.browser_page() as page:
        page.goto(site.url)
        assert page.title() == "Tables · cruddur web"
        assert "read-only" in page.inner_text(".banner")
        page.click(f"a[href='/t/{TABLE}']")
        page.wait_for_url(f"**/t/{TABLE}")
        assert page.inner_text("h1") == TABLE

        # page through the partitions, three at a time, with the pager's links
        page.goto(site.url + f"t/{TABLE}?limit=3")
        partitions: list[str] = []
        while True:
            partitions += [c.strip() for c in page.locator("table.partitions tbody tr td:first-child").all_inner_texts()]
            nxt = page.locator("a.next")
            if nxt.count() == 0:
                break
            nxt.click()
            page.wait_for_load_state()
        total = len({i["pk"] for i in cli.json("ddb", "scan", TABLE)["items"]})
        assert len(partitions) == len(set(partitions)) == total

        # one collection: the odd item's exact values
        page.goto(site.url + f"t/{TABLE}")
        page.fill("input[name=prefix]", "ODD#")
        page.click("text=Search")
        page.click("text=ODD#types")
        page.wait_for_url("**/p/ODD%23types")
        text = page.inner_text("table.items")
        assert BIG in text and "AAEC/w==" in text and '["a", "b"]' in text and "NULL" in text

        # a declared pattern through its form: the items and what the call cost
        group = cli.json("ddb", "scan", TABLE)["items"]
        group_uuid = next(i["message_group_uuid"] for i in group if "message_group_uuid" in i)
        page.goto(site.url + f"t/{TABLE}/patterns")
        form = page.locator("form", has=page.locator("input[value='get-conversation']"))
        form.locator("input[name='p.message_group_uuid']").fill(group_uuid)
        form.locator("button").click()
        page.wait_for_load_state()
        assert page.inner_text("h1").startswith("get-conversation")
        capacity = page.inner_text("section.capacity")
        assert "read units" in capacity and "cost" in capacity and "$" in capacity
        expected = cli.json("ddb", "pattern", "run", "get-conversation", "-p", f"message_group_uuid={group_uuid}")
        assert page.locator("table.items tbody tr").count() == expected["count"] > 0

        # export the result as CSV: the file is what `ddb pattern run -o csv` prints
        with page.expect_download() as download:
            page.click("p.exports >> text=CSV")
        saved = tmp_path / "export.csv"
        download.value.save_as(saved)
        csv = cli("ddb", "pattern", "run", "get-conversation", "-p", f"message_group_uuid={group_uuid}", "-o", "csv")
        assert saved.read_text("utf-8") == csv.stdout


def test_the_query_form_shows_the_request_and_the_commands(site, cli):
    group_pk = next(i["pk"] for i in cli.json("ddb", "scan", TABLE)["items"] if i["pk"].startswith("MSG#"))
    with browser.browser_page() as page:
        page.goto(site.url + f"t/{TABLE}/q")
        page.fill("input[name=partition]", group_pk)
        page.fill("input[name=sort]", "begins_with 20")
        page.fill("input[name=limit]", "2")
        page.check("input[name=desc]")
        page.click("form button")
        page.wait_for_load_state()
        codes = page.locator("pre.code").all_inner_texts()
        assert any('"KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :sk)"' in c for c in codes)
        assert any(c.startswith("cruddur ddb query cruddur-messages") and "--desc" in c for c in codes)
        assert any(c.startswith("aws dynamodb query --cli-input-json") for c in codes)
        assert page.locator("table.items tbody tr").count() == 2
        assert "Consumed capacity and cost" in page.content()
