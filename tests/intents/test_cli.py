from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "config" / "nlu"
PRODUCT = ROOT / "config" / "products" / "chaonan-elderly-accident.yaml"
NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")
PY = sys.executable



NOW_ISO = "2026-11-21T10:00:00+08:00"


def run(args: list[str], data: bytes = b"", env_data: Path | None = None) -> subprocess.CompletedProcess[bytes]:  # noqa: E501
    cmd = [PY, "-m", "intents"] + (["--data-dir", str(env_data)] if env_data else []) + args
    return subprocess.run(cmd, input=data, cwd=ROOT, capture_output=True, timeout=900)


def test_predict_order_and_bad_input() -> None:
    lines = [b"\xe6\x88\x91\xe5\xa6\x88\xe6\x98\xa8\xe5\xa4\xa9\xe5\x9c\xa8\xe5\xae\xb6\xe8\xb7\x8b\xe5\x80\x92\xe4\xba\x86",  # noqa: E501
             b"", b"   \t ", "转人工".encode(), ("长" * 10_000).encode(), "Hello 你好 こんにちは".encode(),
             "😀😀🎉".encode(), b"\x01\x02\x1b[31m", b"\xff\xfe\xfa bad", "你好".encode()]
    res = run(["predict", "--now", NOW_ISO], b"\n".join(lines) + b"\n")
    assert res.returncode == 0, res.stderr
    out = [json.loads(x) for x in res.stdout.decode("utf-8").splitlines()]
    assert len(out) == len(lines)
    assert out[0]["intent"] == "claim_report" and out[0]["slots"]["date"] == "2026-11-20"
    assert out[3]["intent"] == "human_agent"
    assert out[9]["intent"] == "greeting"
    assert [o["text"] for o in out][4] == "长" * 10_000
    assert "\ufffd" in out[8]["text"]
    for o in out:
        assert set(o) == {"text", "intent", "confidence", "faq", "slots"}
        assert 0.0 <= o["confidence"] <= 1.0


def _copy_data(tmp_path: Path) -> Path:
    dst = tmp_path / "nlu"
    shutil.copytree(DATA, dst)
    return dst


def test_missing_model(tmp_path: Path) -> None:
    d = _copy_data(tmp_path)
    (d / "model" / "intent-model-v1.json").unlink()
    res = run(["predict"], "你好\n".encode(), env_data=d)
    err = res.stderr.decode()
    assert res.returncode != 0 and "intent-model-v1.json" in err and "python -m intents train" in err
    assert "Traceback" not in err


def test_corrupt_model(tmp_path: Path) -> None:
    d = _copy_data(tmp_path)
    (d / "model" / "intent-model-v1.json").write_text('{"format": "intents-linear-v1", "intent": [1', encoding="utf-8")  # noqa: E501
    res = run(["eval"], env_data=d)
    err = res.stderr.decode()
    assert res.returncode != 0 and "corrupt" in err and "python -m intents train" in err
    assert "Traceback" not in err


def test_train_is_deterministic(tmp_path: Path) -> None:
    """A full `python -m intents train` in a fresh process, on a copy of the data, must rebuild the committed
    artefact byte for byte. The committed file came from an earlier, separate run, so one new run proves
    both that training is deterministic across processes and that the artefact is up to date with the data
    (a second run in this test would prove nothing more: both runs would have to equal the same bytes).
    Training is single-threaded (threadpoolctl), ~10 s."""
    d = _copy_data(tmp_path)
    model = d / "model" / "intent-model-v1.json"
    committed = model.read_bytes()
    model.unlink()
    res = run(["train"], env_data=d)
    assert res.returncode == 0, res.stderr.decode()
    fresh = model.read_bytes()
    if fresh != committed:
        digest = json.loads(committed)["data_sha256"]
        stale = digest != json.loads(fresh)["data_sha256"]
        raise AssertionError("committed artefact is stale: run `python -m intents train`" if stale
                             else "training is not deterministic: same data, different artefact")


def test_eval_output(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text(yaml.safe_dump({"now": NOW_ISO, "messages": [
        {"text": "转人工", "intent": "human_agent", "faq": None, "slots": {}},
        {"text": "住院一天给多少钱", "intent": "product_question", "faq": "hospital_allowance"},
        {"text": "今天天气怎么样", "intent": "greeting"}]}, allow_unicode=True), encoding="utf-8")
    res = run(["eval", "--file", str(f)])
    out = res.stdout.decode()
    assert res.returncode == 0, res.stderr
    assert "macro-F1" in out and "confusion matrix" in out and "FAQ top-1: 1.0000" in out
    assert "slot exact-match: 1.0000" in out
    assert "intent greeting → out_of_scope" in out
