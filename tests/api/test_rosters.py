"""People, channels, rosters and supervisor chains through the API on the real database: each
write audited with who made it and whom it touched, channel secrets never answered, who is on
call at a Beijing time, the import all or nothing, and each refusal its own status."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
import pytest

from dispatch.channel_secrets import MASK
from tests.api.registry_helpers import Api

DING_SECRET = "SECd1n9t4lk-s1gn1ng-s3cr3t-0123456789abcdef"
DING_TOKEN = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0"
WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
FEISHU_HOOK = "0f8b1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d"


def zone(api: Api, suffix: str = "G1") -> str:
    zone_id = f"{api.site}-{suffix}"
    response = api.as_("admin").put(f"/api/v1/zones/{zone_id}", json={"name": suffix})
    assert response.status_code == 201, response.text
    return zone_id


def person(api: Api, name: str, **fields: Any) -> str:
    person_id = f"{api.site}-{name}"
    response = api.as_("admin").put(
        f"/api/v1/people/{person_id}", json={"name": name, "phone": "13800138000", **fields}
    )
    assert response.status_code in (200, 201), response.text
    return person_id


def channel(api: Api, name: str, kind: str, config: dict[str, Any], **fields: Any) -> str:
    channel_id = f"{api.site}-{name}"
    response = api.as_("admin").put(
        f"/api/v1/channels/{channel_id}", json={"kind": kind, "config": config, **fields}
    )
    assert response.status_code in (200, 201), response.text
    return channel_id


def audit(api: Api, url: str) -> list[dict[str, Any]]:
    response = api.as_("admin").get(url)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_people_are_created_replaced_listed_and_deleted_each_write_audited(api: Api) -> None:
    admin = api.as_("admin")
    pid = f"{api.site}-wang"
    created = admin.put(
        f"/api/v1/people/{pid}",
        json={"name": "王芳", "phone": "+86 138-0013-8000", "role": "grid_worker"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["phone"] == "+8613800138000" and body["active"] is True
    assert body["channels"] == [] and body["rosters"] == []

    replaced = admin.put(f"/api/v1/people/{pid}", json={"name": "王芳", "active": False})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["active"] is False and replaced.json()["phone"] is None
    unchanged = admin.put(f"/api/v1/people/{pid}", json={"name": "王芳", "active": False})
    assert unchanged.status_code == 200

    listed = api.as_("operator").get("/api/v1/people", params={"active": "false", "limit": 1000})
    assert pid in [p["id"] for p in listed.json()["items"]]
    active = api.as_("operator").get("/api/v1/people", params={"active": "true", "limit": 1000})
    assert pid not in [p["id"] for p in active.json()["items"]]

    assert admin.delete(f"/api/v1/people/{pid}").status_code == 204
    assert admin.get(f"/api/v1/people/{pid}").status_code == 404
    assert admin.delete(f"/api/v1/people/{pid}").status_code == 404

    rows = audit(api, f"/api/v1/people/{pid}/audit")
    assert [r["action"] for r in rows] == ["delete", "update", "create"]  # no row for no change
    assert {r["actor"] for r in rows} == {f"admin-{api.site}"}
    assert rows[1]["detail"] == {"phone": ["+8613800138000", None], "active": [True, False]}
    assert rows[2]["detail"]["name"] == "王芳"
    assert admin.get(f"/api/v1/people/{api.site}-nobody/audit").status_code == 404


def test_roles_admins_edit_operators_read_others_see_no_one(api: Api) -> None:
    pid = person(api, "li")
    body = {"name": "li"}
    for role in ("operator", "technician", "viewer"):
        response = api.as_(role).put(f"/api/v1/people/{pid}", json=body)
        assert response.status_code == 403, (role, response.text)
    assert api.as_("operator").get(f"/api/v1/people/{pid}").status_code == 200
    assert api.as_("operator").get("/api/v1/channels").status_code == 200
    for role in ("technician", "viewer"):
        assert api.as_(role).get(f"/api/v1/people/{pid}").status_code == 403
        assert api.as_(role).get("/api/v1/channels").status_code == 403
    assert api.client.get(f"/api/v1/people/{pid}").status_code == 401


def test_channel_secrets_are_masked_everywhere_and_kept_when_the_mask_comes_back(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    admin = api.as_("admin")
    g1 = zone(api)
    url = f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}"
    cid = f"{api.site}-ding"
    created = admin.put(
        f"/api/v1/channels/{cid}",
        json={"kind": "dingtalk", "zone": g1, "config": {"url": url, "secret": DING_SECRET}},
    )
    assert created.status_code == 201, created.text
    shown = created.json()["config"]
    assert shown["secret"] == MASK
    assert shown["url"] == f"https://oapi.dingtalk.com/robot/send?access_token={MASK}"
    assert shown["msgtype"] == "markdown"  # the kind's default, filled in

    wecom = channel(
        api,
        "wecom",
        "wecom",
        {"url": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"},
    )
    feishu = channel(
        api,
        "feishu",
        "feishu",
        {"url": f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_HOOK}", "secret": "s3"},
    )
    sms = channel(
        api,
        "sms",
        "sms",
        {
            "url": "https://sms.example/v1/send",
            "headers": {"Authorization": "Bearer sms-api-token-123"},
            "body": {"apikey": "sms-key-456", "mobile": "{phone}", "text": "{content}"},
        },
    )
    everything = "".join(
        admin.get(u).text
        for u in [
            "/api/v1/channels",
            *(f"/api/v1/channels/{c}" for c in (cid, wecom, feishu, sms)),
            *(f"/api/v1/channels/{c}/audit" for c in (cid, wecom, feishu, sms)),
        ]
    )
    for secret in (DING_SECRET, DING_TOKEN, WECOM_KEY, FEISHU_HOOK, "sms-api-token-123", "sms-key"):
        assert secret not in everything
    assert "{phone}" in everything and "open.feishu.cn" in everything  # the rest is shown

    # Sent back as read, with a new name: the stored secrets stay; the name is audited.
    renamed = admin.put(
        f"/api/v1/channels/{cid}",
        json={"kind": "dingtalk", "zone": g1, "name": "G1 群", "config": shown},
    )
    assert renamed.status_code == 200, renamed.text
    stored = db.execute("SELECT config FROM channels WHERE id = %s", (cid,)).fetchone()
    assert stored is not None and stored[0]["secret"] == DING_SECRET and stored[0]["url"] == url
    rows = audit(api, f"/api/v1/channels/{cid}/audit")
    assert rows[0]["detail"] == {"name": [None, "G1 群"]}

    # Moved to another host, the masks stand for nothing: the secrets must be sent again.
    elsewhere = shown["url"].replace("oapi.dingtalk.com", "robot.attacker.example")
    moved = admin.put(
        f"/api/v1/channels/{cid}",
        json={"kind": "dingtalk", "zone": g1, "config": {**shown, "url": elsewhere}},
    )
    assert moved.status_code == 422, moved.text
    assert "host" in moved.json()["detail"][0]["msg"]
    stored = db.execute("SELECT config FROM channels WHERE id = %s", (cid,)).fetchone()
    assert stored is not None and stored[0]["url"] == url

    # A new secret is taken, and audited without showing either.
    rotated = admin.put(
        f"/api/v1/channels/{cid}",
        json={
            "kind": "dingtalk",
            "zone": g1,
            "name": "G1 群",
            "config": {**shown, "secret": "new"},
        },
    )
    assert rotated.status_code == 200
    stored = db.execute("SELECT config FROM channels WHERE id = %s", (cid,)).fetchone()
    assert stored is not None and stored[0]["secret"] == "new"
    assert audit(api, f"/api/v1/channels/{cid}/audit")[0]["detail"] == {
        "config": "a secret changed"
    }

    # A mask with no stored secret behind it is refused, naming the field.
    fresh = admin.put(
        f"/api/v1/channels/{api.site}-ding2",
        json={"kind": "dingtalk", "config": {"url": url, "secret": MASK}},
    )
    assert fresh.status_code == 422
    assert fresh.json()["detail"][0]["loc"] == ["body", "config", "secret"]


def test_channel_refusals_name_what_is_wrong(api: Api) -> None:
    admin = api.as_("admin")
    cid = f"{api.site}-hook"
    no_url = admin.put(f"/api/v1/channels/{cid}", json={"kind": "webhook", "config": {}})
    assert no_url.status_code == 422
    assert no_url.json()["detail"][0]["loc"] == ["body", "config", "url"]
    assert "url" in no_url.json()["detail"][0]["msg"]
    kind = admin.put(f"/api/v1/channels/{cid}", json={"kind": "pager", "config": {}})
    assert kind.status_code == 422
    not_object = admin.put(f"/api/v1/channels/{cid}", json={"kind": "webhook", "config": [1]})
    assert not_object.status_code == 422
    zone_unknown = admin.put(
        f"/api/v1/channels/{cid}",
        json={"kind": "webhook", "zone": f"{api.site}-nowhere", "config": {"url": "https://x"}},
    )
    assert zone_unknown.status_code == 422
    assert zone_unknown.json()["detail"][0]["loc"] == ["body", "zone"]
    for config, field in (
        ({"url": "https://hooks.example/告警"}, "url"),
        ({"url": "https://hooks.example/fw", "headers": {"X-Token": "令牌"}}, "headers"),
    ):
        unsendable = admin.put(
            f"/api/v1/channels/{cid}", json={"kind": "webhook", "config": config}
        )
        assert unsendable.status_code == 422, unsendable.text
        assert unsendable.json()["detail"][0]["loc"] == ["body", "config", field]
    assert admin.get(f"/api/v1/channels/{cid}").status_code == 404
    assert admin.delete(f"/api/v1/channels/{cid}").status_code == 404

    hook = channel(api, "hook", "webhook", {"url": "https://hooks.example/fw"})
    missing = admin.put(
        f"/api/v1/people/{api.site}-zhao",
        json={"name": "zhao", "channels": [hook, f"{api.site}-nope"]},
    )
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "channels", "1"]
    twice = admin.put(
        f"/api/v1/people/{api.site}-zhao", json={"name": "z", "channels": [hook, hook]}
    )
    assert twice.status_code == 422
    zhao = person(api, "zhao", channels=[hook])
    in_use = admin.delete(f"/api/v1/channels/{hook}")
    assert in_use.status_code == 409 and zhao in in_use.json()["detail"]
    person(api, "zhao", channels=[])
    assert admin.delete(f"/api/v1/channels/{hook}").status_code == 204
    assert [r["action"] for r in audit(api, f"/api/v1/channels/{hook}/audit")] == [
        "delete",
        "create",
    ]


def test_rosters_and_chains_replace_audit_with_the_person_and_guard_their_people(
    api: Api,
) -> None:
    admin = api.as_("admin")
    g1 = zone(api)
    day, night = person(api, "day"), person(api, "night")
    boss = person(api, "boss", role="supervisor")
    shifts = [
        {
            "person": day,
            "position": 0,
            "weekdays": [1, 2, 3, 4, 5],
            "start": "08:00",
            "end": "20:00",
        },
        {"person": night, "position": 0, "start": "20:00", "end": "08:00"},
    ]
    put = admin.put(f"/api/v1/zones/{g1}/roster", json={"shifts": shifts})
    assert put.status_code == 200, put.text
    got = api.as_("operator").get(f"/api/v1/zones/{g1}/roster").json()
    assert [(s["person"], s["start"], s["end"]) for s in got["shifts"]] == [
        (day, "08:00:00", "20:00:00"),
        (night, "20:00:00", "08:00:00"),
    ]
    assert got["shifts"][1]["weekdays"] == [1, 2, 3, 4, 5, 6, 7]
    assert admin.put(f"/api/v1/zones/{g1}/supervisors", json={"people": [boss]}).status_code == 200

    # The night shift moves to weekends: one shift removed, one added, each naming its person.
    weekend = {**shifts[1], "weekdays": [6, 7]}
    assert (
        admin.put(f"/api/v1/zones/{g1}/roster", json={"shifts": [shifts[0], weekend]}).status_code
        == 200
    )
    rows = audit(api, f"/api/v1/zones/{g1}/roster/audit")
    assert [r["action"] for r in rows] == ["shifts", "supervisors", "shifts"]
    assert rows[0]["actor"] == f"admin-{api.site}"
    assert [(s["person"], s["weekdays"]) for s in rows[0]["detail"]["added"]] == [(night, [6, 7])]
    assert [s["person"] for s in rows[0]["detail"]["removed"]] == [night]
    assert rows[1]["detail"] == {"before": [], "after": [boss]}
    assert {s["person"] for s in rows[2]["detail"]["added"]} == {day, night}

    # People on a roster or a chain stay until taken off it; a supervisor keeps the role.
    assert admin.get(f"/api/v1/people/{night}").json()["rosters"] == [g1]
    assert admin.delete(f"/api/v1/people/{night}").status_code == 409
    demoted = admin.put(f"/api/v1/people/{boss}", json={"name": "boss", "role": "grid_worker"})
    assert demoted.status_code == 409 and g1 in demoted.json()["detail"]
    workers = admin.put(f"/api/v1/zones/{g1}/supervisors", json={"people": [boss, day]})
    assert workers.status_code == 422
    assert workers.json()["detail"][0]["loc"] == ["body", "people", "1"]
    nobody = admin.put(
        f"/api/v1/zones/{g1}/roster",
        json={"shifts": [{**shifts[0], "person": f"{api.site}-ghost"}]},
    )
    assert nobody.status_code == 422
    assert nobody.json()["detail"][0]["loc"] == ["body", "shifts", "0", "person"]

    for url in ("roster", "supervisors", "on-call", "roster/audit"):
        assert admin.get(f"/api/v1/zones/{api.site}-nowhere/{url}").status_code == 404
    assert (
        admin.put(f"/api/v1/zones/{api.site}-nowhere/roster", json={"shifts": []}).status_code
        == 404
    )
    assert (
        api.as_("operator").put(f"/api/v1/zones/{g1}/roster", json={"shifts": []}).status_code
        == 403
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"start": "25:00"},
        {"start": "08:00+08:00"},
        {"weekdays": [0]},
        {"weekdays": [1, 1]},
        {"weekdays": []},
        {"position": -1},
        {"person": "no spaces"},
        {"extra": 1},
    ],
)
def test_a_malformed_shift_is_a_422(api: Api, bad: dict[str, Any]) -> None:
    g1 = zone(api)
    pid = person(api, "w")
    shift = {"person": pid, "position": 0, "start": "08:00", "end": "20:00", **bad}
    response = api.as_("admin").put(f"/api/v1/zones/{g1}/roster", json={"shifts": [shift]})
    assert response.status_code == 422, response.text


def test_on_call_reads_shifts_on_beijing_time(api: Api) -> None:
    admin = api.as_("admin")
    g1 = zone(api)
    robot = channel(
        api, "robot", "wecom", {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}
    )
    day = person(api, "day", channels=[robot])
    night = person(api, "night")
    boss = person(api, "boss", role="supervisor")
    away = person(api, "away", active=False)
    admin.put(
        f"/api/v1/zones/{g1}/roster",
        json={
            "shifts": [
                {"person": away, "position": 0, "start": "00:00", "end": "00:00"},
                {"person": day, "position": 1, "start": "08:00", "end": "20:00"},
                {"person": night, "position": 1, "start": "20:00", "end": "08:00"},
            ]
        },
    )
    admin.put(f"/api/v1/zones/{g1}/supervisors", json={"people": [boss]})
    url = f"/api/v1/zones/{g1}/on-call"
    # 13:00 UTC is 21:00 in Beijing: the night shift, though 13:00 is day time in UTC.
    evening = api.as_("operator").get(url, params={"at": "2026-11-27T13:00:00Z"})
    assert evening.status_code == 200, evening.text
    body = evening.json()
    assert body["timezone"] == "Asia/Shanghai"
    assert body["local_time"].startswith("2026-11-27T21:00:00+08:00")
    assert [(c["level"], c["person"], c["role"]) for c in body["contacts"]] == [
        (0, night, "grid_worker"),
        (1, boss, "supervisor"),
    ]
    noon = api.as_("operator").get(url, params={"at": "2026-11-27T12:00:00+08:00"}).json()
    assert [c["person"] for c in noon["contacts"]] == [day, boss]
    assert noon["contacts"][0]["channels"] == [{"id": robot, "kind": "wecom"}]  # no config
    assert api.as_("operator").get(url).status_code == 200  # now
    naive = api.as_("operator").get(url, params={"at": "2026-11-27T12:00:00"})
    assert naive.status_code == 400
    assert api.as_("operator").get(url, params={"at": "noon"}).status_code == 422
    assert api.as_("viewer").get(url).status_code == 403


def _import(api: Api, body: bytes, content_type: str, **params: Any) -> Any:
    return api.as_("admin").post(
        "/api/v1/rosters/import",
        content=body,
        headers={"Content-Type": content_type},
        params=params,
    )


def test_import_json_all_sections_in_one_file_audited_as_the_api(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    g1 = zone(api)
    s = api.site
    document = {
        "channels": [
            {"id": f"{s}-sms", "kind": "webhook", "config": {"url": "https://sms.example/x"}}
        ],
        "people": [
            {"id": f"{s}-a", "name": "A", "phone": "13800000001", "channels": [f"{s}-sms"]},
            {"id": f"{s}-b", "name": "B", "role": "supervisor"},
        ],
        "shifts": [
            {"zone": g1, "person": f"{s}-a", "position": 0, "start": "22:00", "end": "06:00"}
        ],
        "supervisors": [{"zone": g1, "level": 1, "person": f"{s}-b"}],
    }
    dry = _import(api, orjson.dumps(document), "application/json", dry_run="true")
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["people_created"] == [f"{s}-a", f"{s}-b"]
    count = db.execute("SELECT count(*) FROM people WHERE id LIKE %s", (f"{s}-%",)).fetchone()
    assert count == (0,)

    done = _import(api, orjson.dumps(document), "application/json")
    assert done.status_code == 200, done.text
    report = done.json()
    assert report["ok"] and report["channels_created"] == [f"{s}-sms"]
    assert report["rosters"] == [g1] and report["supervisors"] == [g1]
    on_call = api.as_("operator").get(
        f"/api/v1/zones/{g1}/on-call", params={"at": "2026-11-28T05:00:00+08:00"}
    )
    assert [c["person"] for c in on_call.json()["contacts"]] == [f"{s}-a", f"{s}-b"]
    rows = audit(api, f"/api/v1/people/{s}-a/audit")
    assert rows[0]["action"] == "create" and rows[0]["actor"] == f"admin-{s}"
    again = _import(api, orjson.dumps(document), "application/json")
    assert again.json()["people_updated"] == [f"{s}-a", f"{s}-b"]
    assert len(audit(api, f"/api/v1/people/{s}-a/audit")) == 1  # nothing changed


def test_import_refuses_the_whole_file_naming_each_row_and_field(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    g1 = zone(api)
    s = api.site
    document = {
        "people": [
            {"id": f"{s}-ok", "name": "fine"},
            {"id": f"{s}-bad", "name": "x", "role": "chief"},
            {"id": f"{s}-ok", "name": "twice"},
        ],
        "shifts": [
            {"zone": g1, "person": f"{s}-ok", "position": 0, "start": "8am", "end": "20:00"},
        ],
    }
    refused = _import(api, orjson.dumps(document), "application/json")
    assert refused.status_code == 422
    errors = [(e["section"], e["row"], e["field"]) for e in refused.json()["errors"]]
    assert errors == [("people", 2, "role"), ("people", 3, "id"), ("shifts", 1, "start")]
    assert refused.json()["errors"][1]["reason"] == "given already in row 1"

    # Well formed, but naming someone who does not exist: the row of that shift.
    ghost = {
        "people": [{"id": f"{s}-ok", "name": "fine"}],
        "shifts": [
            {"zone": g1, "person": f"{s}-ok", "position": 0, "start": "08:00", "end": "20:00"},
            {"zone": g1, "person": f"{s}-ghost", "position": 1, "start": "08:00", "end": "20:00"},
        ],
    }
    missing = _import(api, orjson.dumps(ghost), "application/json")
    assert missing.status_code == 422
    [error] = missing.json()["errors"]
    assert (error["section"], error["row"], error["id"], error["field"]) == (
        "shifts",
        2,
        g1,
        "person",
    )
    count = db.execute("SELECT count(*) FROM people WHERE id LIKE %s", (f"{s}-%",)).fetchone()
    assert count == (0,)  # the person of the first section was not kept


def test_import_csv_one_section_told_by_its_header(api: Api) -> None:
    g1 = zone(api)
    s = api.site
    people = f"id,name,phone,role\n{s}-c,C,138 0000 0003,grid_worker\n{s}-d,D,,supervisor\n"
    assert _import(api, people.encode(), "text/csv").status_code == 200
    shifts = (
        "zone,person,position,weekdays,start,end\n"
        f"{g1},{s}-c,0,1-5,08:00,20:00\n"
        f"{g1},{s}-c,1,6;7,00:00,00:00\n"
    )
    done = _import(api, shifts.encode(), "text/csv")
    assert done.status_code == 200, done.text
    roster = api.as_("admin").get(f"/api/v1/zones/{g1}/roster").json()
    assert [s["weekdays"] for s in roster["shifts"]] == [[1, 2, 3, 4, 5], [6, 7]]
    bad = _import(api, f"zone,level,person\n{g1},one,{s}-d\n".encode(), "text/csv")
    assert bad.status_code == 422
    assert [(e["section"], e["row"], e["field"]) for e in bad.json()["errors"]] == [
        ("supervisors", 2, "level")
    ]
    header = _import(api, b"who,when\nx,y\n", "text/csv")
    assert header.status_code == 422 and header.json()["errors"][0]["section"] == "file"
    assert "supervisors: zone, level, person" in header.json()["errors"][0]["reason"]
    cells = _import(api, f"zone,level,person\n{g1},1\n".encode(), "text/csv")
    assert cells.json()["errors"][0]["reason"] == "2 cells where the header has 3"
    assert _import(api, b"<people/>", "application/xml").status_code == 415
    assert _import(api, b"{", "application/json").status_code == 422
    assert (
        api.as_("operator")
        .post(
            "/api/v1/rosters/import", content=people.encode(), headers={"Content-Type": "text/csv"}
        )
        .status_code
        == 403
    )


@pytest.mark.parametrize("phone", ["1-5-7", "1 ( ) 2", "+1-2-3"])
def test_a_phone_of_too_few_digits_once_compacted_is_a_422_not_a_500(api: Api, phone: str) -> None:
    """The pattern let punctuation count towards a phone's length; the import validates each
    person twice, and the second time the compacted number failed outside any handler."""
    s = api.site
    people = f"id,name,phone\n{s}-p,P,{phone}\n"
    refused = _import(api, people.encode(), "text/csv")
    assert refused.status_code == 422, refused.text
    assert [(e["section"], e["field"]) for e in refused.json()["errors"]] == [("people", "phone")]
    put = api.as_("admin").put(f"/api/v1/people/{s}-q", json={"name": "Q", "phone": phone})
    assert put.status_code == 422, put.text
    fine = api.as_("admin").put(f"/api/v1/people/{s}-q", json={"name": "Q", "phone": "1-2-3-4"})
    assert fine.status_code == 201 and fine.json()["phone"] == "1234"


@pytest.mark.parametrize("weekdays", ["1-100000000000", "1-3000000", "0-9"])
def test_a_weekday_range_beyond_the_week_is_a_422_not_a_500(api: Api, weekdays: str) -> None:
    """A range was expanded before it was checked: '1-100000000000' asked for a list no memory
    holds (MemoryError, a 500), and a smaller one held the worker's memory while it was built."""
    g1, s = zone(api), api.site
    worker = person(api, "w")
    shifts = f"zone,person,position,weekdays,start,end\n{g1},{worker},0,{weekdays},08:00,20:00\n"
    refused = _import(api, shifts.encode(), "text/csv")
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert (error["section"], error["field"]) == ("shifts", "weekdays")
    assert "within 1-7" in error["reason"]
    shift = {
        "person": worker,
        "position": 0,
        "weekdays": weekdays,
        "start": "08:00",
        "end": "20:00",
    }
    put = api.as_("admin").put(f"/api/v1/zones/{g1}/roster", json={"shifts": [shift]})
    assert put.status_code == 422, put.text
    assert api.as_("admin").get(f"/api/v1/zones/{s}-G1/roster").json()["shifts"] == []


def test_an_import_over_the_body_limit_is_a_413(api: Api) -> None:
    rows = "".join(f"{api.site}-p{i},name {i}\n" for i in range(20_000))  # about 400 KiB
    response = _import(api, f"id,name\n{rows}".encode(), "text/csv")
    assert response.status_code == 413


def test_a_zone_of_more_shifts_than_a_roster_holds_is_refused_at_the_first_too_many(
    api: Api,
) -> None:
    g1 = zone(api)
    pid = person(api, "w")
    lines = "".join(f"{g1},{pid},{i % 1000},*,08:00,20:00\n" for i in range(501))
    response = _import(
        api, f"zone,person,position,weekdays,start,end\n{lines}".encode(), "text/csv"
    )
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(502, "zone")]
    assert "more than 500 shifts" in response.json()["errors"][0]["reason"]
