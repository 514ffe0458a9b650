"""Products: what each one covers, FAQ search and a benefit estimate (public, no login)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from backend.claims import benefits
from backend.deps import CatalogDep, RuntimeDep
from backend.errors import ServiceError
from backend.products.faq import search_faq
from backend.products.schemas import Product, TransportBenefit
from miniprogram_api.deps import ClientIp, limit
from miniprogram_api.schemas import In, Items, yuan

router = APIRouter(tags=["产品"])


def _public_limit(runtime: RuntimeDep, ip: ClientIp) -> None:
    limit(runtime, "read_per_user", f"ip:{ip}", fail_open=True)  # read-only: fails open (F-R2)


Public = Depends(_public_limit)
PathProductId = Annotated[
    str, Path(max_length=64, pattern=r"^[a-z0-9-]+$", examples=["chaonan-elderly-accident"])
]
ProductId = Annotated[
    str, Query(max_length=64, pattern=r"^[a-z0-9-]+$", examples=["chaonan-elderly-accident"])
]


class ProductSummary(BaseModel):
    id: str = Field(examples=["chaonan-elderly-accident"])
    name: str
    short_name: str
    default: bool


class Material(BaseModel):
    id: str = Field(examples=["medical_record"])
    label: str = Field(examples=["病历"])


class ClaimTypeOut(BaseModel):
    id: str = Field(examples=["hospital_allowance"])
    label: str = Field(examples=["住院津贴"])
    materials: list[Material]


class Amount(BaseModel):
    label: str
    amount_yuan: str = Field(examples=["3000.00"])


class CoverOut(BaseModel):
    id: str
    name: str
    min_age: int = Field(examples=[60])
    districts: list[str]
    who_pays: str
    death: Amount
    disability_max: Amount
    disability_percent_by_grade: dict[str, int] = Field(examples=[{"1": 100, "10": 10}])
    transport_death: list[Amount]
    hospital_allowance_per_day: Amount
    hospital_allowance_max_days_per_stay: int
    hospital_allowance_max_days_per_year: int
    exclusions: list[str]
    claim_types: list[ClaimTypeOut]
    hotline: str | None = None
    materials_review_working_days: int


class FaqOut(BaseModel):
    topic: str = Field(examples=["hospital_allowance"])
    title: str = Field(examples=["住院怎么赔"])
    answer: str
    score: float


class EstimateIn(In):
    benefit: Literal["hospital_allowance", "disability", "accidental_death", "transport_death"] = Field(
        examples=["hospital_allowance"]
    )
    admission: dt.date | None = Field(default=None, examples=["2026-03-01"], description="住院津贴：入院日期")
    discharge: dt.date | None = Field(default=None, examples=["2026-03-10"], description="住院津贴：出院日期")
    paid_days_this_year: int = Field(default=0, ge=0, le=366, description="住院津贴：今年已经赔过的天数")
    grade: int | None = Field(default=None, ge=1, le=10, description="伤残等级，1级最重")
    transport_kind: Literal["motor_vehicle", "rail", "ship", "aircraft"] | None = None
    operating: bool = Field(default=True, description="是否营运的车船飞机")


class EstimateItem(BaseModel):
    label: str
    amount_yuan: str
    rule: str = Field(examples=["每天30元 × 10天 = 300元"])


class EstimateOut(BaseModel):
    benefit: str
    total_yuan: str = Field(examples=["300.00"])
    items: list[EstimateItem]
    notes: list[str] = Field(description="限制和条件的说明")


def _amount(label: str, amount_yuan: int) -> Amount:
    return Amount(label=label, amount_yuan=yuan(amount_yuan * 100) or "0.00")


def _cover(p: Product) -> CoverOut:
    b = p.benefits
    transport = [
        _amount(v.label, v.amount_yuan) for v in b.transport_death.values() if isinstance(v, TransportBenefit)
    ]
    exclusions = [item for items in p.exclusions.values() for item in items]
    return CoverOut(
        id=p.id,
        name=p.name,
        min_age=p.eligibility.min_age,
        districts=p.eligibility.household_registration_districts,
        who_pays=p.premium.payer,
        death=_amount("意外身故", b.accidental_death.amount_yuan),
        disability_max=_amount("意外伤残最高", b.disability.sum_insured_yuan),
        disability_percent_by_grade={str(g): pct for g, pct in sorted(b.disability.grade_percent.items())},
        transport_death=transport,
        hospital_allowance_per_day=_amount("住院每天", b.hospital_allowance.per_day_yuan),
        hospital_allowance_max_days_per_stay=b.hospital_allowance.max_days_per_stay,
        hospital_allowance_max_days_per_year=b.hospital_allowance.max_days_per_year,
        exclusions=exclusions,
        claim_types=[
            ClaimTypeOut(
                id=k, label=t.label, materials=[Material(id=m.id, label=m.label) for m in p.materials_for(k)]
            )
            for k, t in p.claim_types.items()
        ],
        hotline=p.contact.hotline,
        materials_review_working_days=p.service_standards.materials_review_working_days,
    )


@router.get("/products", response_model=Items[ProductSummary], dependencies=[Public], summary="保险产品列表")
def products(catalog: CatalogDep) -> Items[ProductSummary]:
    """Every product, the default one marked."""
    return Items[ProductSummary](
        items=[
            ProductSummary(id=p.id, name=p.name, short_name=p.short_name, default=p.id == catalog.default_id)
            for p in catalog.products.values()
        ]
    )


@router.get("/products/{product_id}", response_model=CoverOut, dependencies=[Public], summary="保障内容")
def cover(product_id: PathProductId, catalog: CatalogDep) -> CoverOut:
    """What the product covers, its limits, exclusions and the documents each claim type needs."""
    return _cover(catalog.get(product_id))


@router.get("/faq", response_model=Items[FaqOut], dependencies=[Public], summary="常见问题搜索")
def faq(
    q: Annotated[str, Query(min_length=1, max_length=200, examples=["住院一天赔多少钱"])],
    runtime: RuntimeDep,
    catalog: CatalogDep,
    product_id: ProductId | None = None,
) -> Items[FaqOut]:
    """Up to three answers to a question in everyday words (Teochew words and typos are fine)."""
    if runtime.nlu is None:
        from intents import NLU

        runtime.nlu = NLU.load()
    hits = search_faq(nlu=runtime.nlu, catalog=catalog, text=q, product_id=product_id)
    return Items[FaqOut](
        items=[FaqOut(topic=h.topic, title=h.title, answer=h.answer, score=h.score) for h in hits]
    )


@router.post(
    "/products/{product_id}/estimate",
    response_model=EstimateOut,
    dependencies=[Public],
    summary="估算能赔多少",
)
def estimate(product_id: PathProductId, body: EstimateIn, catalog: CatalogDep) -> EstimateOut:
    """An estimate from the product's own numbers, with its limits explained (not a decision)."""
    product = catalog.get(product_id)
    if body.benefit == "hospital_allowance":
        if body.admission is None or body.discharge is None:
            raise ServiceError("invalid_benefit_input", "请填写入院和出院日期", detail={"field": "admission"})
        result = benefits.hospital_allowance(
            product,
            admission=body.admission,
            discharge=body.discharge,
            paid_days_this_year=body.paid_days_this_year,
        )
    elif body.benefit == "disability":
        if body.grade is None:
            raise ServiceError("invalid_benefit_input", "请选择伤残等级", detail={"field": "grade"})
        result = benefits.disability_benefit(product, grade=body.grade)
    elif body.benefit == "accidental_death":
        result = benefits.death_benefit(product)
    else:
        if body.transport_kind is None:
            raise ServiceError("invalid_benefit_input", "请选择交通工具", detail={"field": "transport_kind"})
        result = benefits.transport_death_benefit(product, kind=body.transport_kind, operating=body.operating)
    return EstimateOut(
        benefit=result.benefit,
        total_yuan=yuan(result.total_fen) or "0.00",
        items=[
            EstimateItem(label=i.label, amount_yuan=yuan(i.amount_fen) or "0.00", rule=i.rule)
            for i in result.items
        ],
        notes=list(result.notes),
    )
