"""The quarterly report: a Vietnamese narrative in the style of the coordinating office, with tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gateway.constants import VN_TZ
from gateway.stats.compute import Count, Stats


def vn_number(value: int) -> str:
    """4302 → ``4.302`` (Vietnamese thousands separator)."""
    return f"{value:,}".replace(",", ".")


def vn_decimal(value: float | None, digits: int = 1) -> str:
    """12.5 → ``12,5``; None → ``–``."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def vn_percent(part: int, whole: int) -> str:
    """658/808 → ``81,44%`` (two decimals, Vietnamese comma); ``0%`` for an empty whole."""
    if not whole:
        return "0%"
    return vn_decimal(100 * part / whole, 2) + "%"


def _share(row: Count, base: int) -> str:
    return f"{vn_percent(row.count, base)} ({vn_number(row.count)}/{vn_number(base)})"


def as_of_text(stats: Stats) -> str:
    """When the figures were computed: ``Số liệu tính đến 09:05 ngày 24/11/2026`` (Vietnam time)."""
    return f"Số liệu tính đến {stats.as_of.astimezone(VN_TZ):%H:%M ngày %d/%m/%Y}"


def narrative(stats: Stats) -> str:
    """The report's prose, in the seed's sentences, carrying the figures."""
    s, base = stats, stats.in_scope
    parts = [
        f"Trong {s.period.label}, Văn phòng điều phối đã tiếp nhận {vn_number(s.in_scope)}/{vn_number(s.received)} "
        f"PAKN thuộc phạm vi xem xét, xử lý (chiếm {vn_percent(s.in_scope, s.received)} tổng số PAKN nhận được); "
        f"{vn_number(s.out_of_scope)} PAKN không thuộc phạm vi (khiếu nại, tố cáo, đề nghị tư vấn pháp luật) đã được "
        f"hướng dẫn gửi đúng nơi"
        + (f", {vn_number(s.unclassified)} PAKN đang được phân loại" if s.unclassified else "") + "."
    ]
    if s.by_channel:
        parts.append("Theo kênh tiếp nhận: " + "; ".join(
            f"{c.label} {vn_number(c.count)} PAKN" for c in s.by_channel) + ".")
    typed = [c for c in s.by_type if c.key]
    if typed and base:
        parts.append("Trong số PAKN thuộc phạm vi, " + ", ".join(
            f"PAKN về {c.label} chiếm {_share(c, base)}" for c in typed) + ".")
    fields = [c for c in s.by_field if c.key][:3]
    if fields and base:
        parts.append("PAKN tập trung nhiều nhất ở " + ", ".join(
            f"lĩnh vực {c.label.lower()} ({vn_number(c.count)}/{vn_number(base)}, {vn_percent(c.count, base)})"
            for c in fields) + ".")
    parts.append(
        f"Văn phòng điều phối đã phân loại và chuyển {vn_number(s.forwarded)}/{vn_number(base)} PAKN đến các bộ, "
        f"cơ quan có thẩm quyền xem xét, xử lý; còn lại {vn_number(s.needs_info)} PAKN đang đề nghị người dân cung "
        f"cấp bổ sung thông tin"
        + (f", {vn_number(s.triage)} PAKN đang chờ phân loại" if s.triage else "")
        + (f", {vn_number(s.closed_unforwarded)} PAKN đã kết thúc không phải chuyển (trùng lặp, không bổ sung)"
           if s.closed_unforwarded else "") + "."
    )
    parts.append(
        f"Các bộ, cơ quan đã xem xét, trả lời được {vn_number(s.answered)}/{vn_number(s.forwarded)} PAKN, chiếm "
        f"{vn_percent(s.answered, s.forwarded)}, trong đó {vn_number(s.on_time)} PAKN đúng hạn và {vn_number(s.late)} "
        f"PAKN quá hạn; thời gian trả lời trung vị {vn_decimal(s.median_days)} ngày làm việc. "
        f"Còn {vn_number(s.pending)} PAKN "
        f"đang xem xét, xử lý, trong đó {vn_number(s.overdue)} PAKN đã quá hạn trả lời "
        f"(tính đến ngày {s.as_of.astimezone(VN_TZ):%d/%m/%Y})."
    )
    if s.rated or s.disagreements:
        parts.append(
            f"Người dân đã đánh giá {vn_number(s.rated)} kết quả trả lời, điểm bình quân "
            f"{vn_decimal(s.rating_avg, 2)}/5; {vn_number(s.disagreements)} PAKN người dân không đồng ý với kết quả "
            f"và được chuyển xem xét lại."
        )
    if s.published:
        parts.append(f"{vn_number(s.published)} kết quả trả lời đã được đăng tải công khai "
                     "(không kèm thông tin cá nhân).")
    return " ".join(parts)


def tables(stats: Stats) -> list[tuple[str, Sequence[str], list[list[object]]]]:
    """The report's tables: (title, header, rows) with plain values (for Markdown, CSV and XLSX)."""
    s = stats

    def counted(rows: Iterable[Count], base: int) -> list[list[object]]:
        out: list[list[object]] = [[c.label, c.count, c.share if c.share is not None else ""] for c in rows]
        return [*out, ["Tổng", base, 100.0 if base else ""]]

    return [
        ("Tổng hợp", ("Chỉ tiêu", "Số PAKN"), [
            ["Tiếp nhận", s.received], ["Thuộc phạm vi xem xét, xử lý", s.in_scope],
            ["Không thuộc phạm vi", s.out_of_scope], ["Đang phân loại ban đầu", s.unclassified],
            ["Đã chuyển cơ quan có thẩm quyền", s.forwarded], ["Đang đề nghị bổ sung thông tin", s.needs_info],
            ["Chờ Văn phòng điều phối phân loại", s.triage], ["Kết thúc không phải chuyển", s.closed_unforwarded],
            ["Đã trả lời", s.answered], ["Trả lời đúng hạn", s.on_time], ["Trả lời quá hạn", s.late],
            ["Đang xem xét, xử lý", s.pending], ["Quá hạn chưa trả lời", s.overdue],
            ["Số ngày làm việc để trả lời (trung vị)", s.median_days if s.median_days is not None else ""],
            ["Lượt đánh giá", s.rated], ["Điểm đánh giá bình quân", s.rating_avg if s.rating_avg is not None else ""],
            ["Không đồng ý với kết quả", s.disagreements], ["Đã công khai", s.published],
        ]),
        ("Theo kênh tiếp nhận", ("Kênh", "Số PAKN", "Tỷ lệ (%)"), counted(s.by_channel, s.received)),
        ("Theo loại PAKN", ("Loại", "Số PAKN", "Tỷ lệ (%)"), counted(s.by_type, s.in_scope)),
        ("Theo lĩnh vực", ("Lĩnh vực", "Số PAKN", "Tỷ lệ (%)"), counted(s.by_field, s.in_scope)),
        ("Theo cơ quan xử lý", ("Cơ quan", "Đã chuyển", "Đã trả lời", "Đúng hạn", "Quá hạn", "Đang xử lý",
                                "Quá hạn chưa trả lời", "Số ngày làm việc để trả lời (trung vị)", "Lượt đánh giá",
                                "Điểm bình quân", "Không đồng ý"),
         [[a.name, a.forwarded, a.answered, a.on_time, a.late, a.pending, a.overdue,
           a.median_days if a.median_days is not None else "", a.rated,
           a.rating_avg if a.rating_avg is not None else "", a.disagreements] for a in s.agencies]),
        ("Theo tuần tiếp nhận", ("Tuần", "Số PAKN"), [[f"Tuần {w.key} ({w.label})", w.count] for w in s.weeks]),
    ]


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, int):
        return vn_number(value)
    if isinstance(value, float):
        return vn_decimal(value, 2)
    return str(value).replace("|", "\\|")


def markdown(stats: Stats) -> str:
    """The whole report as Markdown."""
    lines = [f"# Báo cáo kết quả tiếp nhận, xử lý phản ánh, kiến nghị {stats.period.label}", "",
             f"Kỳ báo cáo: {stats.period.first_day:%d/%m/%Y} – {stats.period.last_day:%d/%m/%Y}. "
             f"{as_of_text(stats)}.", "", narrative(stats), ""]
    for title, header, rows in tables(stats):
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)
