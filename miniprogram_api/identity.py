"""Binding the account to insured people (name + ID number, matched against the roster) and the
insured's view of family members acting for them (delegations)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend.accounts import delegation as dl
from backend.accounts.models import Delegation
from backend.deps import CatalogDep, CipherDep, DbSession, RuntimeDep
from miniprogram_api.deps import CurrentCustomer, Now, RowId, limit
from miniprogram_api.schemas import In, Items

router = APIRouter(tags=["身份"])
Relation = Literal["self", "parent", "spouse", "child", "relative", "other"]


class BindIn(In):
    name: str = Field(min_length=1, max_length=100, examples=["陈阿婆"], description="被保险人姓名")
    id_number: str = Field(min_length=15, max_length=20, examples=["44051419530101123X"])
    relation: Relation = Field(examples=["parent"], description="被保险人是您的谁；self 表示您本人")
    product_id: str | None = Field(default=None, max_length=64, examples=["chaonan-elderly-accident"])


class InsuredPerson(BaseModel):
    id: int = Field(examples=[3])
    name_masked: str = Field(examples=["陈*婆"])
    relation: str = Field(examples=["parent"])
    scope: str = Field(examples=["reported"], description="own 本人；reported 只看自己报的案；all 可看全部")
    product_id: str = Field(examples=["chaonan-elderly-accident"])


class Delegate(BaseModel):
    id: int = Field(examples=[7])
    relation: str = Field(examples=["child"], description="这位家人说的和您的关系")
    scope: str = Field(examples=["reported"])
    since: str = Field(examples=["2026-03-02T02:00:00Z"])


class ScopeIn(In):
    scope: Literal["reported", "all"] = Field(examples=["all"], description="all：让这位家人看到您的全部案件")


def person_view(d: Delegation) -> InsuredPerson:
    return InsuredPerson(
        id=d.id,
        name_masked=d.insured_name_masked,
        relation=d.relation,
        scope=d.scope,
        product_id=d.product_id,
    )


def delegate_view(d: Delegation) -> Delegate:
    return Delegate(id=d.id, relation=d.relation, scope=d.scope, since=d.proven_at.isoformat())


def _people(db: DbSession, account_id: int) -> Items[InsuredPerson]:
    return Items[InsuredPerson](items=[person_view(d) for d in dl.delegations_of(db, account_id=account_id)])


def _delegates(db: DbSession, account_id: int) -> Items[Delegate]:
    return Items[Delegate](
        items=[delegate_view(d) for d in dl.delegates_of_insured(db, account_id=account_id)]
    )


@router.get("/insured", response_model=Items[InsuredPerson], summary="我绑定的被保险人")
def insured(customer: CurrentCustomer, db: DbSession) -> Items[InsuredPerson]:
    """Yourself (relation self) and the relatives you act for."""
    return _people(db, customer.id)


@router.post("/insured", response_model=InsuredPerson, status_code=201, summary="绑定被保险人")
def bind(
    body: BindIn,
    customer: CurrentCustomer,
    runtime: RuntimeDep,
    db: DbSession,
    cipher: CipherDep,
    catalog: CatalogDep,
    now: Now,
) -> InsuredPerson:
    """Prove the insured's name + ID number (needs the privacy notice and the ID-number consent); a
    wrong pair and a person not insured get the same answer. Limited to a few tries an hour."""
    limit(runtime, "identity_per_user", str(customer.id))
    row = dl.bind_insured(
        db,
        cipher=cipher,
        product=catalog.get(body.product_id),
        account=customer.account,
        name=body.name,
        id_number=body.id_number,
        relation=body.relation,
        now=now,
    )
    return person_view(row)


@router.delete("/insured/{insured_id}", response_model=Items[InsuredPerson], summary="解除绑定")
def unbind(insured_id: RowId, customer: CurrentCustomer, db: DbSession, now: Now) -> Items[InsuredPerson]:
    """Stop acting for this person (the claims already reported stay)."""
    dl.get_delegation(db, account_id=customer.id, delegation_id=insured_id)
    dl.revoke(
        db,
        account_id=customer.id,
        delegation_id=insured_id,
        actor=f"customer:{customer.account.openid}",
        now=now,
    )
    return _people(db, customer.id)


@router.get("/delegates", response_model=Items[Delegate], summary="代我办事的家人")
def delegates(customer: CurrentCustomer, db: DbSession) -> Items[Delegate]:
    """For an insured person bound as ``self``: the family members acting for them (empty otherwise)."""
    return _delegates(db, customer.id)


@router.put("/delegates/{delegate_id}", response_model=Delegate, summary="授权家人看全部案件")
def set_scope(
    delegate_id: RowId, body: ScopeIn, customer: CurrentCustomer, db: DbSession, now: Now
) -> Delegate:
    """Let a family member see all your claims, or only those they reported."""
    row = dl.set_delegate_scope(
        db,
        insured_account_id=customer.id,
        delegation_id=delegate_id,
        scope=body.scope,
        actor=f"customer:{customer.account.openid}",
        now=now,
    )
    return delegate_view(row)


@router.delete("/delegates/{delegate_id}", response_model=Items[Delegate], summary="取消家人代办")
def remove_delegate(
    delegate_id: RowId, customer: CurrentCustomer, db: DbSession, now: Now
) -> Items[Delegate]:
    """The family member can no longer act for you."""
    dl.revoke(
        db,
        account_id=customer.id,
        delegation_id=delegate_id,
        actor=f"customer:{customer.account.openid}",
        now=now,
    )
    return _delegates(db, customer.id)
