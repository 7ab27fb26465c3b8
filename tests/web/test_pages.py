"""The pages and their JSON twins on a seeded DynamoDB Local: the same data as the CLI's -o json, exact values,
paging by DynamoDB's cursors, exports through the CLI's writers, refusals."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from cruddur_ops.web.templates import seg
from tests.web.conftest import BIG, TABLE, fetch

NOISE = {"latency_ms"}


def same(web: dict, cli: dict, keys: list[str]) -> None:
    for key in keys:
        assert web[key] == cli[key], key


def test_tables_twin_holds_what_list_tables_prints(site, cli):
    web = fetch(site.url, "/.json")
    assert web.status == 200 and web.headers["Content-Type"].startswith("application/json")
    doc = web.json()
    listed = cli.json("ddb", "list-tables")
    assert doc["count"] == listed["count"] == 1
    for mine, theirs in zip(doc["tables"], listed["tables"], strict=True):
        assert {k: mine[k] for k in theirs} == theirs  # every field the CLI prints, with the same value
        assert mine["keys"] == "pk(S) HASH sk(S) RANGE" and mine["ttl"] == "DISABLED"
    page = fetch(site.url, "/").text
    assert f'href="/t/{TABLE}"' in page and "message-group-sk-index" in page and "PAY_PER_REQUEST" in page


def test_a_collection_twin_equals_ddb_query_and_shows_exact_types(site, cli):
    group_pk = next(p["partition"] for p in fetch(site.url, f"/t/{TABLE}.json").json()["partitions"]
                    if p["partition"].startswith("MSG#"))
    web = fetch(site.url, f"/t/{TABLE}/p/{seg(group_pk)}.json").json()
    queried = cli.json("ddb", "query", TABLE, group_pk)
    same(web, queried, ["items", "count"])
    odd = fetch(site.url, f"/t/{TABLE}/p/{seg('ODD#types')}")
    assert odd.status == 200
    html = odd.text
    # the big number with every digit, the sets, the binary in base64, NULL and "" each visible with its type
    assert f'<span class="t">N</span><span class="v">{BIG}</span>' in html
    assert '<span class="t">SS</span><span class="v">[&quot;a&quot;, &quot;b&quot;]</span>' in html
    assert '<span class="t">NS</span><span class="v">[1, 2.5]</span>' in html
    assert '<span class="t">B</span><span class="v">AAEC/w==</span>' in html
    assert '<span class="t">NULL</span>' in html and "empty string" in html
    twin = fetch(site.url, f"/t/{TABLE}/p/{seg('ODD#types')}.json")
    odd_item = next(i for i in twin.json()["items"] if i["sk"] == "ITEM#1")
    assert odd_item["big"] == {"$n": BIG}  # every digit, as `ddb query -o json` writes a number a double cannot hold
    assert twin.json()["items"] == cli.json("ddb", "query", TABLE, "ODD#types")["items"]


def test_item_json_link_is_ddb_get(site, cli):
    html = fetch(site.url, f"/t/{TABLE}/p/{seg('ODD#types')}").text
    href = re.search(r'href="(/t/[^"]+/item\.json\?[^"]+)"', html).group(1).replace("&amp;", "&")
    web = fetch(site.url, href).json()
    got = cli.json("ddb", "get", TABLE, "ODD#types", "ITEM#1")
    same(web, got, ["table", "action", "key", "item", "consumed_capacity"])


def test_partitions_page_by_cursor_and_cover_every_partition_once(site, seeded):
    from cruddur_ops.ddb.scan import iter_scan

    items = list(iter_scan(seeded, TABLE))
    expected: dict[str, int] = {}
    for item in items:
        expected[item["pk"]] = expected.get(item["pk"], 0) + 1
    seen: dict[str, int] = {}
    path, pages = f"/t/{TABLE}.json?limit=4", 0
    while path:
        doc = fetch(site.url, path).json()
        pages += 1
        assert doc["count"] <= 4
        for p in doc["partitions"]:
            seen[p["partition"]] = seen.get(p["partition"], 0) + p["items"]
            assert p["complete"]
        path = f"/t/{TABLE}.json?limit=4&start={doc['next']}" if doc["next"] else ""
    assert seen == expected
    assert pages == -(-len(expected) // 4)
    kinds = fetch(site.url, f"/t/{TABLE}.json?limit=500").json()["kinds"]
    assert set(kinds) == {"MSG", "GRP", "ITEM"} and sum(kinds.values()) == len(items)


def test_prefix_search_and_index_view(site):
    doc = fetch(site.url, f"/t/{TABLE}.json?prefix=GRP%23").json()
    assert doc["partitions"] and all(p["partition"].startswith("GRP#") for p in doc["partitions"])
    index = fetch(site.url, f"/t/{TABLE}.json?index=message-group-sk-index").json()
    assert index["partition_key"] == "message_group_uuid"
    assert index["partitions"] and all(p["items"] == 2 for p in index["partitions"])  # two group rows each


def test_query_page_shows_request_cost_and_commands_and_its_twin_is_ddb_query(site, cli):
    group_pk = fetch(site.url, f"/t/{TABLE}.json?prefix=MSG%23").json()["partitions"][0]["partition"]
    params = f"partition={quote(group_pk)}&sort={quote('begins_with 20')}&limit=3&desc=1"
    html = fetch(site.url, f"/t/{TABLE}/q?{params}").text
    assert "KeyConditionExpression" in html and "aws dynamodb query --cli-input-json" in html
    assert "cruddur ddb query cruddur-messages" in html and "--desc" in html
    assert "Consumed capacity and cost" in html and "per million such calls" in html
    web = fetch(site.url, f"/t/{TABLE}/q.json?{params}").json()
    queried = cli.json("ddb", "query", TABLE, group_pk, "--sort", "begins_with 20", "--limit", "3", "--desc")
    same(web, queried, ["table", "index", "items", "count", "scanned_count", "pages", "consumed_capacity"])
    assert web["request"]["ScanIndexForward"] is False


def test_export_is_the_clis_csv_and_jsonl(site, cli):
    group_pk = fetch(site.url, f"/t/{TABLE}.json?prefix=MSG%23").json()["partitions"][0]["partition"]
    csv = fetch(site.url, f"/t/{TABLE}/q.csv?partition={quote(group_pk)}")
    assert csv.status == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in csv.headers["Content-Disposition"]
    assert csv.text == cli("ddb", "query", TABLE, group_pk, "-o", "csv").stdout
    jsonl = fetch(site.url, f"/t/{TABLE}/p/{seg('ODD#types')}.jsonl")
    assert jsonl.text == cli("ddb", "query", TABLE, "ODD#types", "-o", "jsonl").stdout
    assert BIG in jsonl.text  # digit for digit, as the CLI writes it


def test_a_pattern_runs_with_its_cost_and_its_twin_is_pattern_run(site, cli):
    listing = fetch(site.url, f"/t/{TABLE}/patterns.json").json()
    assert {p["name"] for p in listing["patterns"]} >= {"get-conversation", "list-conversations"}
    group = fetch(site.url, f"/t/{TABLE}.json?index=message-group-sk-index").json()["partitions"][0]["partition"]
    path = f"/t/{TABLE}/patterns?pattern=get-conversation&p.message_group_uuid={group}"
    html = fetch(site.url, path).text
    assert "Consumed capacity and cost" in html and "cruddur ddb pattern run get-conversation" in html
    web = fetch(site.url, path.replace("/patterns?", "/patterns.json?")).json()
    ran = cli.json("ddb", "pattern", "run", "get-conversation", "-p", f"message_group_uuid={group}")
    same(web, ran, ["pattern", "table", "index", "parameters", "items", "count", "pages", "consumed_capacity"])
    assert web["consumed_capacity"]["cost"]["usd"] > 0


def test_the_app_view_lists_inboxes_through_the_year_filter_with_doctor(site, cli):
    doc = fetch(site.url, "/cruddur.json").json()
    assert {c["name"] for c in doc["doctor"]["checks"]} == {"message-timestamps", "duplicate-group-rows",
                                                          "group-rows-current", "group-rows-year"}
    assert doc["users"] and all(u["request"]["KeyConditionExpression"].endswith("begins_with(#sk, :sk0)")
                                for u in doc["users"])
    user = doc["users"][0]
    listed = cli.json("ddb", "pattern", "list-conversations", "--user-uuid", user["user_uuid"])
    assert [r["sk"] for r in user["inbox"]] == [r["sk"] for r in listed["items"] if r["sk"].startswith(doc["year"])]
    assert len(doc["conversations"]) == len({c["message_group_uuid"] for c in doc["conversations"]}) > 0
    html = fetch(site.url, "/cruddur").text
    assert f"begins_with(sk, '{doc['year']}')" in html and "group-rows-year" in html


def test_a_write_method_is_refused_with_405(site):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        got = fetch(site.url, f"/t/{TABLE}/item.json?pk=ODD%23types&sk=ITEM%231", method=method, data=b"{}")
        assert got.status == 405 and got.headers["Allow"] == "GET, HEAD"
        assert got.json()["error"]["code"] == "read_only"
    assert fetch(site.url, "/", method="POST", data=b"x").status == 405
    assert fetch(site.url, f"/t/{TABLE}/item.json?pk=ODD%23types&sk=ITEM%231").status == 200  # still there


def test_hostile_items_are_escaped(site, cli):
    cli("ddb", "put", TABLE, json.dumps({"pk": "<script>alert(1)</script>", "sk": '"><img src=x onerror=alert(2)>',
                                         "<b>name</b>": "<i>value</i>"}), "-o", "json")
    for path in (f"/t/{TABLE}", f"/t/{TABLE}/p/{seg('<script>alert(1)</script>')}"):
        html = fetch(site.url, path).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<i>value" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_errors_are_one_line_with_their_status(site):
    assert fetch(site.url, "/t/no-such-table").status == 404
    missing = fetch(site.url, "/t/no-such-table.json")
    assert missing.status == 404 and missing.json()["error"]["code"] == "not_found"
    bad = fetch(site.url, f"/t/{TABLE}.json?start=forged")
    assert bad.status == 400 and "page token" in bad.json()["error"]["message"]
    assert fetch(site.url, f"/t/{TABLE}/q.json?partition=x&sort=sideways").status == 400
    assert fetch(site.url, "/nowhere").status == 404


def test_a_foreign_host_header_is_refused(site):
    got = fetch(site.url, "/", headers={"Host": "attacker.invalid"})
    assert got.status == 421
    assert fetch(site.url, "/", headers={"Host": f"localhost:{site.port}"}).status == 200


def test_every_page_says_it_is_read_only(site):
    for path in ("/", f"/t/{TABLE}", f"/t/{TABLE}/q", f"/t/{TABLE}/patterns", "/cruddur"):
        html = fetch(site.url, path).text
        assert "read-only" in html and "&lt;/" not in html, path  # and none of our own markup escaped by mistake


def test_the_app_view_says_what_the_year_filter_hides_with_doctors_finding(site, cli):
    owner = fetch(site.url, "/cruddur.json").json()["users"][0]["user_uuid"]
    old = {"pk": f"GRP#{owner}", "sk": "2020-01-01T00:00:00+00:00", "message": "an old conversation",
           "message_group_uuid": "00000000-0000-4000-8000-000000000000", "user_uuid": "u-old", "user_handle": "old"}
    cli("ddb", "put", TABLE, json.dumps(old), "-o", "json")
    doc = fetch(site.url, "/cruddur.json").json()
    user = next(u for u in doc["users"] if u["user_uuid"] == owner)
    assert user["hidden_by_year"] == 1 and user["group_rows"] == user["in_year"] + 1
    assert all(r["sk"] != old["sk"] for r in user["inbox"])  # the app does not list it
    found = [f for f in user["not_listed_findings"] if f["sk"] == old["sk"]]
    assert any(f["finding"].startswith("group-rows-year:") and f["status"] == "warn" for f in found)
    html = fetch(site.url, "/cruddur").text
    assert "1 group row(s) hidden by the year filter" in html and "2020-01-01T00:00:00+00:00" in html
