"""One decision from the rules, the model and the place: scope, field, route, and why.

Automatic only when sure:
- out of scope: the rules found a strong cue and nothing that reads like a PAKN, and
  the model agrees that it is out of scope;
- a field: the rules are confident and the model does not prefer another field, or
  the rules have no confident field and the model is very sure of one the rules do
  not contradict;
- the route: a complaint about conduct, or a local situation, in a known province
  goes to that province's People's Committee, unless it names a central agency; a
  regulation or a proposal (or anything without a province) goes to the ministry in
  charge of the field.
Everything else goes to triage with the suggestion. Every step adds a line to ``why``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.classifier.model import Opinion
from normalizer.classify import OUT_LABELS, CaseType, Classification, Scope
from normalizer.places import ProvinceFound

MODEL_OUT_AGREES = 0.5  # the model must lean out of scope too before a case is closed automatically
MODEL_OUT_ALONE = 0.85  # the model's P(out:reason) to close a case the rules only suspect
MODEL_IN_DOUBT = 0.6  # the model's P(out) that puts an in-scope decision in doubt
MODEL_FIELD_VETO = 0.5  # the model prefers another field this much: no automatic field
MODEL_FIELD_DOUBT, MODEL_FIELD_LOW = 0.35, 0.2  # …or this much while giving the rules' field little
MODEL_FIELD_ALONE = 0.75  # the model alone decides a field
MODEL_LEVEL_OVERRIDE = 0.85  # the model overrides the rules on conduct vs regulation…
MODEL_LEVEL_DOUBT = 0.5  # …and below that, but on the other side, leaves the route to a person

SCOPES = {Scope.in_scope: "in", Scope.out_of_scope: "out", Scope.needs_info: "needs_info"}


@dataclass(frozen=True)
class AgencyRef:
    """An agency of the directory as routing sees it."""

    code: str
    name: str


@dataclass(frozen=True)
class Directory:
    """Who takes what: ministries by field, People's Committees by province."""

    by_field: Mapping[str, tuple[AgencyRef, ...]] = field(default_factory=dict)
    by_province: Mapping[str, tuple[AgencyRef, ...]] = field(default_factory=dict)

    def ministry(self, code: str | None) -> AgencyRef | None:
        """The one agency for a field (None when none or several)."""
        found = self.by_field.get(code or "", ())
        return found[0] if len(found) == 1 else None

    def province(self, code: str | None) -> AgencyRef | None:
        """The one People's Committee of a province."""
        found = self.by_province.get(code or "", ())
        return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class Decision:
    """What the gateway does with a case, and why."""

    scope: str  # in, out, needs_info
    reason: str | None  # complaint, denunciation, legal_advice, too_short, too_vague
    case_type: str | None
    field: str | None  # best field (a suggestion when not field_confident)
    field_confident: bool
    scope_confident: bool
    province: ProvinceFound | None
    route: str | None  # "province" or "field": where a case of this kind goes
    agency: AgencyRef | None  # where it goes (or would go: a suggestion when not confident)
    confident: bool  # act without a person
    why: tuple[str, ...]
    rules: Classification

    def as_json(self, case_id: object = None) -> dict[str, object]:
        """The line ``flask --app wsgi classify`` writes (DESIGN §9)."""
        return {"id": case_id, "scope": self.scope, "reason": self.reason, "type": self.case_type,
                "field": self.field, "agency": self.agency.code if self.agency else None,
                "confident": self.confident, "why": list(self.why)}

    def stored(self) -> dict[str, object]:
        """What the case keeps (``Case.classification``) for the coordinator's page."""
        return {**self.as_json(), "scope_confident": self.scope_confident, "field_confident": self.field_confident,
                "route": self.route, "province": self.province.code if self.province else None,
                "province_name": self.province.name if self.province else None,
                "agency_name": self.agency.name if self.agency else None,
                "confidence": self.rules.confidence, "case_type": self.case_type,
                "reasons": list(self.why), "out_suggestion": self.rules.out_suggestion}


def _pct(p: float) -> str:
    return f"{p:.0%}"


def _scope(rules: Classification, opinion: Opinion | None, why: list[str]) -> tuple[str, str | None, bool]:
    scope, reason = SCOPES[rules.scope], rules.scope_reason
    if rules.scope is Scope.needs_info:
        return scope, reason, True
    if opinion is None:
        return scope, reason, rules.scope_confident
    best_out = max((k for k in opinion.scope if k.startswith("out:")), key=lambda k: opinion.scope[k], default=None)
    if rules.scope is Scope.out_of_scope:
        agrees = opinion.out >= MODEL_OUT_AGREES
        why.append(f"Mô hình: ngoài phạm vi {_pct(opinion.out)}" + ("" if agrees else " — không đồng ý với quy tắc"))
        if rules.scope_confident and agrees:
            return scope, reason, True
        if best_out is None:
            return scope, reason, False
        alone = opinion.scope[best_out] >= MODEL_OUT_ALONE
        return scope, reason, alone and rules.out_suggestion == best_out.split(":", 1)[1]
    if opinion.out >= MODEL_IN_DOUBT and best_out is not None:
        suggested = best_out.split(":", 1)[1]
        why.append(f"Mô hình: có thể là {OUT_LABELS[suggested].lower()} ({_pct(opinion.out)}) — cần người quyết định")
        return "out", suggested, False
    return scope, reason, rules.scope_confident


def _field(rules: Classification, opinion: Opinion | None, why: list[str]) -> tuple[str | None, bool]:
    if opinion is None:
        return rules.field, rules.confident
    model_field, p = opinion.best_field()
    if rules.field and rules.confident:
        doubt = p >= MODEL_FIELD_DOUBT and opinion.field.get(rules.field, 0.0) < MODEL_FIELD_LOW
        if model_field != rules.field and (p >= MODEL_FIELD_VETO or doubt):
            why.append(f"Mô hình: lĩnh vực {model_field} ({_pct(p)}), khác quy tắc — cần người quyết định")
            return rules.field, False
        why.append(f"Mô hình: lĩnh vực {rules.field} {_pct(opinion.field.get(rules.field, 0.0))}")
        return rules.field, True
    if model_field and p >= MODEL_FIELD_ALONE and rules.field in (None, model_field):
        why.append(f"Lĩnh vực {model_field} theo mô hình ({_pct(p)})")
        return model_field, True
    if model_field and p >= MODEL_FIELD_DOUBT:
        why.append(f"Mô hình: lĩnh vực {model_field} ({_pct(p)}), chưa chắc chắn")
        return rules.field or model_field, False
    return rules.field, False


def _local(rules: Classification, opinion: Opinion | None, why: list[str]) -> tuple[bool, bool]:
    """Conduct or a local situation (True), or a regulation or proposal (False); and whether sure."""
    by_rules = rules.case_type not in (CaseType.quy_dinh, CaseType.sang_kien)
    if opinion is None:
        return by_rules, True
    model_local = opinion.local >= 0.5
    p = opinion.local if model_local else 1 - opinion.local
    what = "phản ánh hành vi, tình hình tại địa phương" if model_local else "kiến nghị về quy định, chính sách"
    if model_local == by_rules:
        return by_rules, True
    if p >= MODEL_LEVEL_OVERRIDE:
        why.append(f"Mô hình: {what} ({_pct(p)})")
        return model_local, True
    if p >= MODEL_LEVEL_DOUBT:
        why.append(f"Mô hình: có thể là {what} ({_pct(p)}) — cần người quyết định nơi nhận")
        return by_rules, False
    return by_rules, True


def decide(rules: Classification, opinion: Opinion | None, province: ProvinceFound | None,
           directory: Directory, *, field_hint: str | None = None) -> Decision:
    """Combine the rules' classification, the model's opinion and the place into a decision."""
    why = list(rules.reasons)
    scope, reason, scope_sure = _scope(rules, opinion, why)
    field_code, field_sure = _field(rules, opinion, why) if scope == "in" else (rules.field, False)
    if field_hint:
        field_code, field_sure = field_hint, True
        why.append(f"Lĩnh vực {field_hint} do điều hành viên chọn")
    route, agency, route_sure = None, None, False
    if scope == "in":
        local, level_sure = _local(rules, opinion, why)
        if province is not None:
            how = "tên tỉnh cũ, nay là " + province.name if province.old_name else province.name
            why.append(f"Địa bàn: «{province.matched}» ({how})")
        if rules.central:
            why.append(f"Nêu cơ quan trung ương: {', '.join(f'«{c}»' for c in rules.central)}")
        committee = directory.province(province.code) if province is not None else None
        if local and province is not None and not rules.central and committee is None:
            why.append(f"Không có UBND {province.name} trong danh bạ: chuyển bộ quản lý lĩnh vực")
        if local and committee is not None and not rules.central:
            route, agency = "province", committee
            route_sure = level_sure
            why.append(f"Phản ánh hành vi cán bộ, tình hình tại địa phương → {committee.name}")
        else:
            route, agency = "field", directory.ministry(field_code)
            route_sure = agency is not None and field_sure and (level_sure or committee is None)
            what = "quy định, chính sách" if not local else (
                "hành vi của cơ quan trung ương" if rules.central else "chưa rõ địa bàn")
            if agency:
                why.append(f"{what[:1].upper() + what[1:]} → bộ quản lý lĩnh vực {field_code}: {agency.name}")
            else:
                why.append(f"Chưa xác định được bộ quản lý ({what})")
    elif scope == "out":
        why.append(f"{OUT_LABELS.get(reason or '', 'Ngoài phạm vi')}: "
                   + ("đóng và hướng dẫn tự động" if scope_sure else "chờ điều phối viên xác nhận"))
    confident = scope_sure and (scope != "in" or route_sure)
    return Decision(scope=scope, reason=reason, case_type=rules.case_type.value if rules.case_type else None,
                    field=field_code, field_confident=field_sure, scope_confident=scope_sure, province=province,
                    route=route, agency=agency, confident=confident, why=tuple(why), rules=rules)
