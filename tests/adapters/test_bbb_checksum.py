"""BigBlueButton request signing (against the worked example of the BBB API docs) and the
mapping of FAILED answers to domain errors."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl

import pytest

from adapters.conference.bbb import failure_error
from adapters.conference.bbb_checksum import checksum, signed_query
from booking.errors import (
    DeviceAuthFailed,
    DeviceProtocolError,
    DomainError,
    NotFound,
    ServerAtCapacity,
)

DOCS_SECRET = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"
DOCS_QUERY = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444"


def test_sha1_checksum_matches_the_worked_example_of_the_bbb_docs() -> None:
    assert checksum("create", DOCS_QUERY, DOCS_SECRET, "sha1") == (
        "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"
    )


def test_sha256_is_the_default_and_hashes_call_query_and_secret() -> None:
    expected = hashlib.sha256(("create" + DOCS_QUERY + DOCS_SECRET).encode()).hexdigest()

    assert checksum("create", DOCS_QUERY, DOCS_SECRET) == expected
    assert len(expected) == 64  # bbb-web picks sha256 by this length


def test_signed_query_signs_exactly_the_bytes_it_sends() -> None:
    params = [
        ("name", "Физика 9 «А» — МБОУ «СОШ №20»"),
        ("meetingID", "vks-occ-1"),
        ("meta_vks_school_ids", "kem-20 kem-41"),
    ]

    query = signed_query("create", params, "s3cret")

    sent, _, signature = query.rpartition("&checksum=")
    assert signature == hashlib.sha256(("create" + sent + "s3cret").encode()).hexdigest()
    assert dict(parse_qsl(sent)) == dict(params)


def test_a_call_without_parameters_signs_the_call_name_alone() -> None:
    assert signed_query("getMeetings", [], "s3cret", "sha1") == (
        "checksum=" + hashlib.sha1(b"getMeetingss3cret").hexdigest()
    )


def test_an_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="md5"):
        checksum("create", "", "s", "md5")


@pytest.mark.parametrize(
    ("key", "message", "error"),
    [
        ("checksumError", "Checksums do not match", DeviceAuthFailed),
        ("invalidPassword", "wrong password", DeviceAuthFailed),
        ("notFound", "A meeting with that ID does not exist", NotFound),
        ("invalidMeetingIdentifier", "no such meeting", NotFound),
        ("meetingForciblyEnded", "ended", NotFound),
        ("maxParticipantsReached", "full", ServerAtCapacity),
        ("internalError", "Could not find any available servers.", ServerAtCapacity),
        ("internalError", "NullPointerException", DeviceProtocolError),
        ("idNotUnique", "A meeting already exists with that meeting ID.", DeviceProtocolError),
        ("somethingNew", "", DeviceProtocolError),
    ],
)
def test_failed_answers_map_to_domain_errors_by_message_key(
    key: str, message: str, error: type[DomainError]
) -> None:
    mapped = failure_error("bbb-1", key, message)

    assert type(mapped) is error
    assert mapped.details == {"device": "bbb-1", "message_key": key}
