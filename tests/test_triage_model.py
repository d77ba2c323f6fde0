"""The learned classifier beside the rules: the law's urgency rules, reasons in the officer's
language, a conversation's language, reproducible training, and learning from officers."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.categories import Category
from core.intake_triage import shared_triage
from core.officers import Role
from core.stages import Stage
from core.triage import Triage, explain
from core.triage.model import Model
from hotline import cli
from hotline.bootstrap import Services
from hotline.triage_train import DATA, run_train
from storage.models import AuditRow
from tests.builders import move, submit
from tests.conftest import add_staff

PERIOD = "from=2026-03-01&to=2026-03-31"


async def run_cli(*args: str) -> int:
    """`hotline triage ...` in a thread: the command runs its own event loop."""
    return await asyncio.to_thread(cli.main, ["triage", *args])


@pytest.fixture(scope="module")
def triage() -> Triage:
    return shared_triage()


@pytest.mark.parametrize(
    "text",
    [
        # a child approached or sold online is a minor tip, not an online one
        "Có tài khoản Facebook nhắn tin cho học sinh lớp 7, hứa cho tiền nếu gửi ảnh khỏa thân",
        "a guy on instagram keeps asking schoolgirls to meet him at a hotel for money",
        "tren zalo co nguoi rao ban trinh cua be gai 15t",
    ],
)
def test_a_minor_in_sexual_exploitation_is_minor_and_urgent_whatever_the_medium(
    triage: Triage, text: str
) -> None:
    p = triage.propose(text)
    assert (p.category, p.urgent) == (Category.MINOR, True), p.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Chị ấy làm ở quán massage, chủ giữ giấy tờ và bắt đi khách để trả nợ",
        "The women at the karaoke are not allowed to leave and the owner keeps their passports",
        "ban e bi ep tiep khach, ko cho ve que",
    ],
)
def test_coercion_is_trafficking_and_urgent(triage: Triage, text: str) -> None:
    p = triage.propose(text)
    assert (p.category, p.urgent) == (Category.TRAFFICKING, True), p.reasons


@pytest.mark.parametrize(
    "text",
    [
        "What are the signs that someone is a victim of trafficking?",
        "Cho em hỏi dấu hiệu nhận biết mua bán người là gì ạ?",
        "lam sao biet viec lam o nuoc ngoai co phai lua dao buon nguoi khong?",
    ],
)
def test_a_question_stays_a_question_even_when_it_names_trafficking(triage: Triage, text: str) -> None:
    p = triage.propose(text)
    assert (p.category, p.urgent) == (Category.INFO_REQUEST, False), p.reasons


def test_spam_only_when_nothing_is_alleged(triage: Triage) -> None:
    assert triage.propose("Vay tiền nhanh, giải ngân trong ngày, lãi suất thấp").category is Category.SPAM
    assert triage.propose("hello").category is Category.SPAM
    alleged = triage.propose("gái gọi ở đầu hẻm")
    assert alleged.category not in (Category.SPAM, Category.INFO_REQUEST), alleged.reasons


def test_reasons_are_shown_in_the_officers_words(triage: Triage) -> None:
    p = triage.propose("Quán karaoke ôm Hoa Hồng có bé gái 15 tuổi ngồi tiếp khách")
    vi = explain.render(p.to_dict(), "vi")
    en = explain.render(json.loads(json.dumps(p.to_dict())), "en")
    text = " ".join(vi)
    assert "người dưới 18 tuổi" in text and "Khẩn cấp" in text and "tiếng Việt" in text
    assert "minor" not in text and "urgent" not in text.lower()  # no code, no English word
    assert any("under 18" in line for line in en)
    # proposals stored before explanations existed, or damaged, show no reasons rather than fail
    assert explain.render({"reasons": ["category venue 2.0"]}, "vi") == []
    assert explain.render(None) == []
    assert explain.render({"explanations": [{"code": "terms", "terms": "x"}, 5, {"code": 3}]}) == []


def test_a_conversation_keeps_its_language_for_short_messages(triage: Triage) -> None:
    assert triage.propose("ok", language_hint="en").language == "en"
    assert triage.propose("ok", language_hint="vi").language == "vi"
    # clearly another language: the text wins over the hint
    assert triage.propose("cứu tôi với", language_hint="en").language == "vi"
    assert triage.propose("救命", language_hint="vi").language == "zh"
    # a long text is judged on its own
    long_en = "There is a karaoke bar on the main road where the owner sells girls to customers"
    assert triage.propose(long_en, language_hint="vi").language == "en"
    # a hint the engine does not know is ignored
    assert triage.propose("ok", language_hint="fr'; drop").language in ("en", "other", "vi")


def test_two_word_messages() -> None:
    detector = shared_triage().language
    for text in ("help me", "call police", "need help", "my sister"):
        assert detector.detect(text).code == "en", text
    for text in ("cuu toi", "giup em", "bi nhot", "nguy hiem"):
        assert detector.detect(text).code == "vi", text


def test_training_again_gives_the_same_predictions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped model is what `hotline triage train` builds from the data in the repo."""
    out = tmp_path / "model.npz"
    assert cli.main(["triage", "train", "--output", str(out)]) == 0
    assert "features" in capsys.readouterr().out
    shipped, again = Model.load(), Model.load(str(out))
    assert again.classes == shipped.classes
    engine = shared_triage()
    lines = (DATA / "triage_dev.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    for text in texts[:120]:
        tokens = engine.normalise(text)[0].tokens
        a, b = shipped.predict(tokens), again.predict(tokens)
        assert a.category == b.category
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-4)
        assert a.urgent == pytest.approx(b.urgent, abs=1e-4)


def test_train_refuses_missing_data(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_train(out, output=tmp_path / "m.npz", data=[tmp_path / "missing.jsonl"]) == 2
    assert "cannot read" in out.getvalue() and not (tmp_path / "m.npz").exists()


def test_triage_without_a_file_or_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["triage"]) == 2
    assert "--jsonl" in capsys.readouterr().err


async def test_corrections_are_exported_and_counted_in_the_kpi(
    services: Services, settings: Any, client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    venue = await submit(services.intake, text="Quán karaoke Hoa Hồng có tiếp viên bán dâm cho khách")
    kept = await submit(services.intake, text="Nhóm Zalo đăng ảnh gái gọi kèm giá, inbox để hẹn")
    await submit(services.intake, text="Tiệm massage ở chợ có nhân viên bán dâm")  # not decided
    for tip_id, category in ((venue.tip_id, Category.ONLINE), (kept.tip_id, Category.ONLINE)):
        await services.tips.transition(tip_id, move(Stage.VERIFIED))
        await services.tips.transition(tip_id, move(Stage.CLASSIFIED, category=category, urgent=True))

    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    target = tmp_path / "corrections.jsonl"
    exit_code = await run_cli(
        "export-corrections", "--from", "2026-03-01", "--to", "2026-03-31", "--output", str(target)
    )
    assert exit_code == 0
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert {(r["text"][:12], r["proposed_category"], r["category"], r["urgent"]) for r in rows} == {
        ("Quán karaoke", "venue", "online", True),
        ("Nhóm Zalo đă", "online", "online", True),
    }
    async with services.engine.connect() as conn:
        details = (
            await conn.execute(sa.select(AuditRow.detail).where(AuditRow.action == "export"))
        ).scalars()
        assert any("triage corrections" in d for d in details)
    # another period: nothing
    exit_code = await run_cli(
        "export-corrections", "--from", "2026-01-01", "--to", "2026-01-31", "--output", str(target)
    )
    assert exit_code == 0
    assert target.read_text(encoding="utf-8") == ""
    # bad dates are a usage error, not a crash
    with pytest.raises(SystemExit):
        await run_cli("export-corrections", "--from", "yesterday", "--to", "2026-01-31")
    assert await run_cli("export-corrections", "--from", "2026-03-31", "--to", "2026-03-01") == 2

    admin = await add_staff(services, "kpi-admin", "police:79", "79", role=Role.ADMIN)
    body = await (await client.get(f"/api/v1/staff/kpi?{PERIOD}", headers=admin)).json()
    shares = {c["category"]: c for c in body["triage_corrections"]}
    assert shares["venue"] == {"category": "venue", "decided": 1, "changed": 1, "changed_share": 1.0}
    assert shares["online"]["changed"] == 0 and shares["online"]["changed_share"] == 0.0
    page = await client.get(f"/staff/kpi?{PERIOD}", headers={"Cookie": admin["Cookie"]})
    html = await page.text()
    assert "Đề xuất phân loại tự động bị cán bộ sửa" in html and "100,0%" in html


async def test_the_staff_tip_page_shows_the_reasons_in_vietnamese(client: Any, services: Services) -> None:
    receipt = await submit(services.intake, text="co be gai 14 tuoi bi ep tiep khach o nha nghi")
    admin = await add_staff(services, "reader", "police:79", "79", role=Role.ADMIN)
    page = await client.get(f"/staff/tips/{receipt.tip_id}", headers={"Cookie": admin["Cookie"]})
    html = await page.text()
    assert page.status == 200
    assert "Khẩn cấp vì" in html and "tiếng Việt" in html
    assert "category minor" not in html and "language: vi" not in html


async def test_intake_passes_the_language_the_tip_came_in(services: Services) -> None:
    """A short message keeps the language of the chat or form it came from."""
    in_vietnamese = await submit(services.intake, text="hello", language="vi")
    in_english = await submit(services.intake, text="hello", language="en")
    alone = await submit(services.intake, text="hello")
    languages = [
        (await services.tips.view(r.tip_id, "officer:test"))[0].triage["language"]
        for r in (in_vietnamese, in_english, alone)
    ]
    assert languages == ["vi", "en", "en"]
