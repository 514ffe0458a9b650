"""The schema every product file must satisfy (numbers positive, grades complete, ids known)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

TransportKind = Literal["motor_vehicle", "rail", "ship", "aircraft"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Open(BaseModel):
    """Descriptive sections may carry extra fields the code does not use."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Region(_Open):
    province: str
    city: str
    district: str


class Eligibility(_Strict):
    min_age: PositiveInt
    household_registration_districts: list[str] = Field(min_length=1)
    cover_starts: Literal["first_day_of_next_month", "same_day"]
    enrolment_required: bool


class Premium(_Open):
    amount_yuan: float = Field(ge=0)
    period: str
    payer: str
    insured_pays_yuan: float = Field(ge=0)


class Accident(_Open):
    definition: str
    consequence_window_days: PositiveInt


class AmountBenefit(_Open):
    amount_yuan: PositiveInt


class Disability(_Open):
    sum_insured_yuan: PositiveInt
    standard: str
    grade_percent: dict[int, int]

    @field_validator("grade_percent")
    @classmethod
    def _grades(cls, v: dict[int, int]) -> dict[int, int]:
        if sorted(v) != list(range(1, 11)):
            raise ValueError("grade_percent needs grades 1..10")
        if any(not 0 < p <= 100 for p in v.values()):
            raise ValueError("grade percentages must be in 1..100")
        return v


class TransportBenefit(_Open):
    label: str
    amount_yuan: PositiveInt
    proof: list[str] = Field(min_length=1)


class HospitalAllowance(_Open):
    per_day_yuan: PositiveInt
    max_days_per_stay: PositiveInt
    max_days_per_year: PositiveInt
    hospital_requirement: str
    day_counting: str
    # inclusive: admission and discharge day both count (a same-day stay is 1 day);
    # nights: discharge minus admission (a same-day stay is 0 days).
    day_count_rule: Literal["inclusive", "nights"] = "inclusive"


class MedicalExpense(_Open):
    amount_yuan: PositiveInt | None = None
    note: str


class Benefits(_Open):
    accidental_death: AmountBenefit
    disability: Disability
    transport_death: dict[str, TransportBenefit | str]
    hospital_allowance: HospitalAllowance
    medical_expense: MedicalExpense

    def transport(self, kind: str) -> TransportBenefit:
        """The benefit for one transport kind; KeyError when unknown."""
        value = self.transport_death[kind]
        if not isinstance(value, TransportBenefit):
            raise KeyError(kind)
        return value


class Material(_Strict):
    id: str
    label: str


class ClaimType(_Strict):
    label: str
    materials: list[Material] = Field(min_length=1)


class ServiceStandards(_Open):
    materials_review_working_days: PositiveInt
    payment_threshold_yuan: PositiveInt
    payment_below_threshold_working_days: PositiveInt
    payment_at_or_above_threshold_working_days: PositiveInt
    complex_case_max_working_days: PositiveInt
    progress_notice_every_working_days: PositiveInt
    complaint_ack_hours: PositiveInt
    complaint_resolution_working_days: PositiveInt
    home_visit_contact_hours: PositiveInt
    home_visit_visit_hours: PositiveInt
    online_report_ack_minutes: PositiveInt
    online_first_response_minutes: PositiveInt
    followup_after_close_days: PositiveInt
    records_retention_years: PositiveInt
    other_enquiry_answer_hours: PositiveInt = 2  # the insurer's ordinary health products
    policy_change_working_days: PositiveInt = 2
    renewal_reminder_days: PositiveInt = 15


class Contact(_Open):
    hotline: str | None = None
    offices: list[dict[str, str]] = []


class Product(_Open):
    """One insurance product, loaded from ``config/products/<id>.yaml``."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    version: int
    scheme_start: dt.date | None = None  # first covered day of the scheme (default: 1 Jan of version)
    name: str
    short_name: str
    kind: str
    default: bool = False
    region: Region
    eligibility: Eligibility
    premium: Premium
    accident: Accident
    benefits: Benefits
    exclusions: dict[str, list[str]]
    claim_types: dict[str, ClaimType] = Field(min_length=1)
    common_materials: list[Material]
    service_standards: ServiceStandards
    contact: Contact

    @model_validator(mode="after")
    def _transport_kinds(self) -> Product:
        for kind in ("motor_vehicle", "rail", "ship", "aircraft"):
            if not isinstance(self.benefits.transport_death.get(kind), TransportBenefit):
                raise ValueError(f"benefits.transport_death.{kind} is missing")
        return self

    def materials_for(self, claim_type: str) -> list[Material]:
        """The full checklist for a claim type: its own materials plus the common ones."""
        own = self.claim_types[claim_type].materials
        seen = {m.id for m in own}
        return list(own) + [m for m in self.common_materials if m.id not in seen]
