"""The main path end to end: login, consent, bind, report, detail, upload, download."""

from __future__ import annotations

import io

from PIL import Image

from tests.backend.storage import images
from tests.miniprogram_api.conftest import API, MP


def test_report_upload_and_follow_a_claim(mp: MP) -> None:
    headers, claim = mp.claim()
    assert claim["case_no"].startswith("LP") and claim["stage"] == "reported"
    assert claim["coverage"]["covered"] is True
    assert [c["material_id"] for c in claim["checklist"]][:3] == [
        "hospitalisation_proof",
        "itemised_bill",
        "medical_record",
    ]
    up = mp.client.post(
        f"{API}/claims/{claim['id']}/attachments?material_id=medical_record",
        headers={**headers, "Idempotency-Key": "upload-0001"},
        files={"file": ("photo.png", images.jpeg(), "image/png")},
    )
    assert up.status_code == 201, up.text
    assert up.json()["content_type"] == "image/jpeg"
    detail = mp.client.get(f"{API}/claims/{claim['id']}", headers=headers).json()
    assert detail["attachments"][0]["id"] == up.json()["id"]
    assert [t["kind"] for t in detail["timeline"]] == ["reported", "attachment"]
    item = next(c for c in detail["checklist"] if c["material_id"] == "medical_record")
    assert item["files"] == 1
    got = mp.client.get(f"{API}/claims/{claim['id']}/attachments/{up.json()['id']}/content", headers=headers)
    assert got.status_code == 200
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment")
    img = Image.open(io.BytesIO(got.content))
    assert dict(img.getexif()) == {0x0112: 6}
    assert images.GPS_MAKER.encode() not in got.content
