"""The organisation tree: region (RCC) → municipality → network → school."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from booking.organisations import Organisation, OrgKind
from vks.api.schemas.common import Code, Contacts, FreeText, Id, Name

StudyDays = Annotated[
    int | None,
    Field(
        ge=5,
        le=7,
        description="study days a week: 5 (Mon–Fri) or 6 (Mon–Sat), 7 for a demo region;"
        " null inherits the parent's",
    ),
]


class OrganisationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "kem-school-41",
                    "kind": "school",
                    "name": "МБОУ «СОШ №41»",
                    "parent_id": "kem-net-20",
                    "time_zone": "Asia/Novokuznetsk",
                    "address": "г. Кемерово, ул. Институтская, 5",
                    "contacts": {"phone": "+7 3842 00-41-41", "email": "school41@example.ru"},
                    "bell_schedule_id": "standard",
                }
            ]
        },
    )

    id: Id = Field(pattern=r"^[^/\s]+$")
    kind: OrgKind
    name: Name
    parent_id: Id | None = None
    time_zone: Code = Field(examples=["Asia/Novokuznetsk", "Europe/Moscow"])
    address: FreeText = ""
    contacts: Contacts = Field(default_factory=dict)
    bell_schedule_id: Id | None = None
    base_school_id: Id | None = None
    study_days: StudyDays = None

    def to_domain(self, version: int = 1) -> Organisation:
        return Organisation(
            id=self.id,
            kind=self.kind,
            name=self.name,
            parent_id=self.parent_id,
            path="",  # computed by the service from the parent
            time_zone=self.time_zone,
            address=self.address,
            contacts=dict(self.contacts),
            bell_schedule_id=self.bell_schedule_id,
            base_school_id=self.base_school_id,
            study_days=self.study_days,
            version=version,
        )


class OrganisationUpdate(BaseModel):
    """A replacement (PUT): kind and parent stay; everything else as sent."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    time_zone: Code
    address: FreeText = ""
    contacts: Contacts = Field(default_factory=dict)
    bell_schedule_id: Id | None = None
    base_school_id: Id | None = None
    study_days: StudyDays = None


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: OrgKind
    name: str
    parent_id: str | None
    path: str
    time_zone: str
    address: str
    contacts: dict[str, str]
    bell_schedule_id: str | None
    base_school_id: str | None
    study_days: int | None = Field(
        description="5 (Mon–Fri) or 6 (Mon–Sat); null: the parent's (six days at the top)"
    )
    version: int
