"""The trained model, the evaluation set, the held-out floor and the classify command."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gateway.classifier import model as trained
from gateway.classifier.evaluate import evaluate, expected_agency
from gateway.classifier.service import classify_case, demo_directory, provinces
from gateway.exceptions import StaleModelError
from gateway.fields import all_fields
from normalizer.text import fold

KEYS = ["id", "scope", "reason", "type", "field", "agency", "confident", "why"]


def _items() -> list[dict[str, Any]]:
    return trained.load_items(trained.TRAIN_PATH) + trained.load_items(trained.HELDOUT_PATH)


def test_the_evaluation_set_is_big_varied_and_labelled() -> None:
    items = _items()
    assert len(items) >= 300 and len({i["id"] for i in items}) == len(items)
    unaccented = sum(1 for i in items if fold(i["content"]) == i["content"])
    assert unaccented >= len(items) / 5
    per_field = Counter(i["field"] for i in items if i["scope"] == "in")
    assert all(per_field[f.code] >= 15 for f in all_fields()), per_field
    assert sum(1 for i in items if i["scope"] == "out") >= 60
    codes = {p.code for p in provinces()}
    for item in items:
        assert item["scope"] in ("in", "out", "needs_info") and item["why"]
        assert (item["reason"] in ("complaint", "denunciation", "legal_advice")) == (item["scope"] == "out")
        assert item["type"] in (None, "hanh_vi", "quy_dinh", "sang_kien")
        assert item["province"] is None or item["province"] in codes
    train_ids = {i["id"] for i in trained.load_items(trained.TRAIN_PATH)}
    held = trained.load_items(trained.HELDOUT_PATH)
    assert len(held) >= 100 and not train_ids & {i["id"] for i in held}
    assert all(i["sms_of"] not in train_ids for i in held if i["sms_of"])  # a rewrite stays with its original


def test_every_in_scope_label_routes_somewhere() -> None:
    directory = demo_directory()
    routed = [expected_agency(i, directory) for i in _items() if i["scope"] == "in"]
    assert sum(r is None for r in routed) <= 3  # only conduct complaints that name no place


def test_the_shipped_model_matches_the_training_data() -> None:
    model = trained.read()
    trained.check(model)  # raises StaleModel when train.jsonl changed without `classifier train`
    assert trained.MODEL_PATH.stat().st_size < 2 * 1024 * 1024
    assert model.counts["items"] == len(trained.load_items(trained.TRAIN_PATH))


def test_a_stale_model_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    shutil.copy(trained.TRAIN_PATH, data)
    with data.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "x1", "title": "t", "content": "c", "scope": "needs_info"}) + "\n")
    with pytest.raises(StaleModelError):
        trained.check(trained.read(), data)


def test_held_out_floor() -> None:
    """Regression floor on the held-out set (bench/classifier.py prints the figures)."""
    directory = demo_directory()
    assert trained.current() is not None
    report = evaluate(trained.load_items(trained.HELDOUT_PATH),
                      lambda i: classify_case(i["title"], i["content"], directory=directory), directory)
    overall = report.overall
    assert overall.rate(overall.confident_wrong) <= 0.03, overall.wrong_ids
    assert overall.rate(overall.auto_right) >= 0.80
    assert report.sms.items >= 40
    gap = report.sms.rate(report.sms.auto_right) - report.originals.rate(report.originals.auto_right)
    assert abs(gap) <= 0.05


def test_every_decision_says_why() -> None:
    directory = demo_directory()
    for item in trained.load_items(trained.HELDOUT_PATH)[:40]:
        decision = classify_case(item["title"], item["content"], directory=directory)
        assert decision.why
        if decision.scope == "in" and decision.field:
            assert any(decision.field in line for line in decision.why)


def test_conduct_goes_to_the_province_regulation_to_the_ministry() -> None:
    directory = demo_directory()
    conduct = classify_case("Cán bộ hách dịch", "Cán bộ một cửa phường ở Hải Dương cũ quát nạt người già, hẹn lên "
                            "hẹn xuống, ném trả giấy tờ, không hướng dẫn, đề nghị lãnh đạo chấn chỉnh thái độ.",
                            directory=directory)
    assert (conduct.route, conduct.agency and conduct.agency.code) == ("province", "ubnd-hai-phong")
    assert any("Hải Dương" in line and "Hải Phòng" in line for line in conduct.why)
    regulation = classify_case("Quy định tách thửa", "Quy định diện tích tối thiểu tách thửa đất ở tại Nghệ An là "
                               "quá lớn, không phù hợp thực tế, đề nghị sửa đổi quy định về điều kiện tách thửa.",
                               directory=directory)
    assert (regulation.route, regulation.agency and regulation.agency.code) == ("field", "bo-nong-nghiep-moi-truong")


# --- commands ------------------------------------------------------------------------

def test_classify_command(app: Any, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [{"id": 1, "title": "Chậm cấp sổ đỏ", "content": "Tôi nộp hồ sơ cấp giấy chứng nhận quyền sử dụng đất "
              "từ tháng 3, cán bộ địa chính hẹn nhiều lần, đến nay quá hạn 40 ngày vẫn chưa có kết quả."},
             {"id": "b", "title": "", "content": "alo"},
             {"id": 3, "title": "hoi", "content": "cho em hoi nha e o tren dat ong ba de lai ko co di chuc thi e co "
              "dc lam so do ko a, phai lam gi"}]
    source.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["classify", str(source)])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [list(o) for o in out] == [KEYS] * 3
    assert [o["id"] for o in out] == [1, "b", 3]
    assert (out[0]["scope"], out[0]["field"], out[0]["agency"], out[0]["confident"]) == (
        "in", "dat-dai", "bo-nong-nghiep-moi-truong", True)
    assert (out[1]["scope"], out[1]["reason"]) == ("needs_info", "too_short")
    assert (out[2]["scope"], out[2]["reason"], out[2]["agency"]) == ("out", "legal_advice", None)
    stdin = app.test_cli_runner().invoke(args=["classify", "-"], input=source.read_text(encoding="utf-8"))
    assert stdin.exit_code == 0 and stdin.output == result.output


def test_classify_command_reports_bad_lines(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["classify", "-"], input='{"id": 1, "content": "alo"}\nnot json\n')
    assert result.exit_code == 2
    assert '"id": 1' in result.stdout and "line 2" in result.stderr


def test_train_command(app: Any, tmp_path: Path) -> None:
    data, output = tmp_path / "train.jsonl", tmp_path / "model.npz"
    items = trained.load_items(trained.TRAIN_PATH)
    small = [i for n, i in enumerate(items) if n % 3 == 0]
    data.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in small), encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["classifier", "train", "--data", str(data), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert f"trained on {len(small)} items" in result.output
    assert runner.invoke(args=["classifier", "train", "--check", "--data", str(data), "--output", str(output)]
                         ).exit_code == 0
    with data.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(small[0], ensure_ascii=False) + "\n")
    stale = runner.invoke(args=["classifier", "train", "--check", "--data", str(data), "--output", str(output)])
    assert stale.exit_code == 1 and "stale" in stale.stderr
    again = runner.invoke(args=["classifier", "train", "--data", str(data), "--output", str(output)])
    assert "data changed since the last training" in again.output
    held = runner.invoke(args=["classifier", "train", "--data", str(trained.HELDOUT_PATH), "--output", str(output)])
    assert held.exit_code != 0 and "held-out" in held.output
