"""The simulated BigBlueButton server: conformance through the unchanged third-party client
`bigbluebutton-api-python`, then the finer rules over raw signed requests."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from bigbluebutton_api_python import BigBlueButton
from bigbluebutton_api_python.exception import BBBException

SECRET = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"  # the same secret the make_bbb fixture uses


def create(bbb, meeting_id="kem-20-fizika-9a", **params):
    params = {"name": "Физика, 9А", "attendeePW": "ap", "moderatorPW": "mp", **params}
    return bbb.get("create", meetingID=meeting_id, **params)


def join_as_person(bbb, http, meeting_id, full_name, password="ap"):
    """A simulated person follows the join link (the redirect registers them)."""
    response = http.get(
        bbb.url("join", meetingID=meeting_id, fullName=full_name, password=password)
    )
    assert response.status_code == 302
    joined = http.get(response.headers["location"])
    assert joined.status_code == 200
    return response.headers["location"]


# --- conformance through the third-party client ------------------------------------------
def test_third_party_client_full_run(make_bbb, http):
    _, raw = make_bbb()
    client = BigBlueButton(f"{raw.base_url}/bigbluebutton/api/", SECRET)

    created = client.create_meeting(
        "kem-20-fizika-9a",
        params={"name": "Физика, 9А", "attendeePW": "ap", "moderatorPW": "mp", "record": True},
        meta={"school": "kem-school-20"},
    )
    client.create_meeting("kem-12-himiya-10a", params={"name": "Химия, 10А", "record": True})
    join_url = client.get_join_meeting_url("Петров Иван", "kem-20-fizika-9a", "mp")
    follow = http.get(join_url, follow_redirects=True)
    http.get(
        client.get_join_meeting_url("Учитель химии", "kem-12-himiya-10a", created_pw(client)),
        follow_redirects=True,
    )
    info = client.get_meeting_info("kem-20-fizika-9a")
    meetings = client.get_meetings().get_meetings()
    running = client.is_meeting_running("kem-20-fizika-9a")
    ended = client.end_meeting("kem-20-fizika-9a", "mp")

    assert created.get_return_code() == "SUCCESS"
    assert len(created.get_voice_bridge()) == 5
    assert follow.status_code == 200
    assert info.get_meetinginfo().get_meetingname() == "Физика, 9А"
    attendees = info.get_attendees()
    assert [a.get_fullname() for a in attendees] == ["Петров Иван"]
    assert attendees[0].get_role() == "MODERATOR"
    assert sorted(m.get_meetingid() for m in meetings) == ["kem-12-himiya-10a", "kem-20-fizika-9a"]
    assert running.get_field("running") == "true"
    assert ended.get_message_key() == "sentEndMeetingRequest"
    assert client.is_meeting_running("kem-20-fizika-9a").get_field("running") == "false"
    client.end_meeting("kem-12-himiya-10a", created_pw(client))
    # (the client library cannot parse a list of exactly one recording: jxmlease gives it a
    # dict instead of a list; two recordings avoid that client bug)
    recordings = client.get_recordings().get_recordings()
    assert sorted(r.get_meetingid() for r in recordings) == [
        "kem-12-himiya-10a",
        "kem-20-fizika-9a",
    ]
    assert {r.get_meetingid(): r.get_meta("school") for r in recordings}["kem-20-fizika-9a"] == (
        "kem-school-20"
    )


def created_pw(client: BigBlueButton) -> str:
    """The moderator password the server generated for the chemistry lesson."""
    return str(client.get_meeting_info("kem-12-himiya-10a").get_meetinginfo().get_moderatorpw())


def test_third_party_client_with_a_wrong_secret_is_refused(make_bbb):
    _, raw = make_bbb()
    client = BigBlueButton(f"{raw.base_url}/bigbluebutton/api/", "not-the-secret")

    with pytest.raises(BBBException) as refused:
        client.create_meeting("kem-20-fizika-9a", params={"name": "Физика, 9А"})

    assert refused.value.key == "checksumError"


def test_third_party_client_sees_no_meetings_on_an_empty_server(make_bbb):
    _, raw = make_bbb()
    client = BigBlueButton(f"{raw.base_url}/bigbluebutton/api/", SECRET)

    assert client.get_meetings().get_meetings() == []


# --- checksum ------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha384", "sha512"])
def test_checksum_algorithm_follows_its_length(make_bbb, http, algorithm):
    _, bbb = make_bbb()

    response = http.get(bbb.url("getMeetings", algorithm=algorithm))

    assert "<returncode>SUCCESS</returncode>" in response.text


def test_checksum_is_case_insensitive_and_must_match(make_bbb, http):
    _, bbb = make_bbb()
    url = bbb.url("getMeetings")
    base, checksum = url.split("checksum=")

    upper = http.get(base + "checksum=" + checksum.upper())
    tampered = http.get(bbb.url("create", meetingID="x1", name="Урок").replace("x1", "x2"))
    missing = http.get(f"{bbb.base_url}/bigbluebutton/api/getMeetings")
    odd_length = http.get(base + "checksum=" + checksum[:30])

    assert "<returncode>SUCCESS</returncode>" in upper.text
    for refused in (tampered, missing, odd_length):
        assert refused.status_code == 200
        assert "<messageKey>checksumError</messageKey>" in refused.text


def test_checksum_covers_the_raw_query_as_sent(make_bbb, http):
    _, bbb = make_bbb()
    from simulators.bbb.checksum import compute

    query = (
        "name=%D0%A4%D0%B8%D0%B7%D0%B8%D0%BA%D0%B0&meetingID=abc123"
        "&attendeePW=111222&moderatorPW=333444"
    )
    checksum = compute("create", query, SECRET)
    url = f"{bbb.base_url}/bigbluebutton/api/create?{query}&checksum={checksum}"

    created = http.get(url)

    assert "<returncode>SUCCESS</returncode>" in created.text
    assert "<meetingID>abc123</meetingID>" in created.text


def test_documented_checksum_example():
    from simulators.bbb.checksum import compute, valid

    query = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444"

    assert compute("create", query, SECRET) == "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"
    assert valid("create", query, "1FCBB0C4FC1F039F73AA6D697D2DB9BA7F803F17", SECRET)


# --- create ------------------------------------------------------------------------------
def test_create_is_idempotent_with_a_duplicate_warning(make_bbb):
    _, bbb = make_bbb()

    first = create(bbb)
    again = create(bbb)
    clash = create(bbb, attendeePW="other")

    assert first.findtext("returncode") == "SUCCESS" and first.find("messageKey") is None
    assert again.findtext("returncode") == "SUCCESS"
    assert again.findtext("messageKey") == "duplicateWarning"
    assert again.findtext("voiceBridge") == first.findtext("voiceBridge")
    assert clash.findtext("returncode") == "FAILED"
    assert clash.findtext("messageKey") == "idNotUnique"


def test_voice_bridges_are_five_digits_and_unique(make_bbb):
    _, bbb = make_bbb()

    bridges = {create(bbb, f"urok-{i}").findtext("voiceBridge") for i in range(20)}
    chosen = create(bbb, "urok-chosen", voiceBridge="72014")
    taken = create(bbb, "urok-taken", voiceBridge="72014")

    assert len(bridges) == 20
    assert all(b.isdigit() and 10000 <= int(b) <= 99999 for b in bridges)
    assert chosen.findtext("voiceBridge") == "72014"
    assert taken.findtext("messageKey") == "nonUniqueVoiceBridge"


def test_create_without_meeting_id_fails(make_bbb):
    _, bbb = make_bbb()

    failed = bbb.get("create", name="Урок без ID")

    assert failed.findtext("returncode") == "FAILED"
    assert failed.findtext("messageKey") == "missingParamMeetingID"


def test_server_meeting_limit_refuses_create(make_bbb):
    _, bbb = make_bbb(max_meetings=2)
    create(bbb, "urok-1")
    create(bbb, "urok-2")

    refused = create(bbb, "urok-3")

    assert refused.findtext("returncode") == "FAILED"
    assert refused.findtext("messageKey") == "internalError"


# --- join ------------------------------------------------------------------------------
def test_join_redirects_and_the_link_makes_an_attendee(make_bbb, http):
    _, bbb = make_bbb()
    create(bbb)

    location = join_as_person(bbb, http, "kem-20-fizika-9a", "Сидорова Анна")

    assert urlsplit(location).path == "/html5client/join"
    info = bbb.get("getMeetingInfo", meetingID="kem-20-fizika-9a")
    assert info.findtext("attendees/attendee/fullName") == "Сидорова Анна"
    assert info.findtext("attendees/attendee/role") == "VIEWER"
    assert info.findtext("attendees/attendee/clientType") == "HTML5"
    assert info.findtext("hasUserJoined") == "true"


def test_join_with_redirect_false_answers_xml(make_bbb, http):
    _, bbb = make_bbb()
    create(bbb)

    answer = bbb.get(
        "join", meetingID="kem-20-fizika-9a", fullName="Учитель", role="moderator", redirect="false"
    )

    assert answer.findtext("messageKey") == "successfullyJoined"
    assert answer.findtext("session_token")
    token = parse_qs(urlsplit(answer.findtext("url")).query)["sessionToken"][0]
    assert token == answer.findtext("session_token")
    http.get(answer.findtext("url"))
    info = bbb.get("getMeetingInfo", meetingID="kem-20-fizika-9a")
    assert info.findtext("attendees/attendee/role") == "MODERATOR"
    assert info.findtext("moderatorCount") == "1"


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"meetingID": "nope", "fullName": "Гость", "password": "ap"}, "invalidMeetingIdentifier"),
        (
            {"meetingID": "kem-20-fizika-9a", "fullName": "Гость", "password": "zz"},
            "invalidPassword",
        ),
        ({"meetingID": "kem-20-fizika-9a", "password": "ap"}, "missingParamFullName"),
        ({"fullName": "Гость", "password": "ap"}, "missingParamMeetingID"),
        (
            {
                "meetingID": "kem-20-fizika-9a",
                "fullName": "Гость",
                "role": "VIEWER",
                "createTime": "1",
            },
            "mismatchCreateTimeParam",
        ),
    ],
)
def test_join_refusals(make_bbb, params, key):
    _, bbb = make_bbb()
    create(bbb)

    refused = bbb.get("join", redirect="false", **params)

    assert refused.findtext("returncode") == "FAILED"
    assert refused.findtext("messageKey") == key


def test_join_after_max_participants_is_refused(make_bbb, http):
    _, bbb = make_bbb()
    create(bbb, maxParticipants=1)
    join_as_person(bbb, http, "kem-20-fizika-9a", "Первый ученик")

    refused = bbb.get(
        "join",
        meetingID="kem-20-fizika-9a",
        fullName="Второй ученик",
        password="ap",
        redirect="false",
    )

    assert refused.findtext("messageKey") == "maxParticipantsReached"


def test_join_after_the_meeting_was_ended(make_bbb):
    _, bbb = make_bbb()
    create(bbb)
    bbb.get("end", meetingID="kem-20-fizika-9a", password="mp")

    refused = bbb.get(
        "join", meetingID="kem-20-fizika-9a", fullName="Опоздавший", password="ap", redirect="false"
    )

    assert refused.findtext("messageKey") == "meetingForciblyEnded"


def test_a_person_leaving_is_no_longer_an_attendee(make_bbb, http):
    _, bbb = make_bbb()
    create(bbb)
    location = join_as_person(bbb, http, "kem-20-fizika-9a", "Сидорова Анна")
    token = parse_qs(urlsplit(location).query)["sessionToken"][0]

    left = http.delete(f"{bbb.base_url}/sim/sessions/{token}")

    assert left.status_code == 204
    info = bbb.get("getMeetingInfo", meetingID="kem-20-fizika-9a")
    assert info.findtext("participantCount") == "0"
    assert info.findtext("running") == "true"  # still running until it expires or is ended


# --- end, info, meetings -------------------------------------------------------------------
def test_end_and_info_of_unknown_meetings(make_bbb):
    _, bbb = make_bbb()

    end = bbb.get("end", meetingID="nope", password="mp")
    info = bbb.get("getMeetingInfo", meetingID="nope")
    running = bbb.get("isMeetingRunning", meetingID="nope")

    assert end.findtext("messageKey") == "notFound"
    assert info.findtext("messageKey") == "notFound"
    assert running.findtext("running") == "false"


def test_get_meetings_when_empty(make_bbb):
    _, bbb = make_bbb()

    answer = bbb.get("getMeetings")

    assert answer.findtext("returncode") == "SUCCESS"
    assert answer.findtext("messageKey") == "noMeetings"
    assert answer.find("meetings") is not None and len(answer.find("meetings")) == 0


def test_unknown_calls_are_unsupported(make_bbb):
    _, bbb = make_bbb()

    answer = bbb.get("levitate", meetingID="x")

    assert answer.findtext("messageKey") == "unsupportedRequest"


def test_meeting_metadata_is_lowercased(make_bbb):
    _, bbb = make_bbb()
    create(bbb, meta_bookingId="bk-2026-0042", meta_School="kem-school-20")

    info = bbb.get("getMeetingInfo", meetingID="kem-20-fizika-9a")

    assert info.findtext("metadata/bookingid") == "bk-2026-0042"
    assert info.findtext("metadata/school") == "kem-school-20"


# --- expiry, callbacks, recordings -----------------------------------------------------
def test_a_meeting_nobody_joined_expires(make_bbb, eventually):
    _, bbb = make_bbb(expire_no_user_s=0.3)
    create(bbb)

    assert (
        bbb.get("getMeetingInfo", meetingID="kem-20-fizika-9a").findtext("returncode") == "SUCCESS"
    )
    eventually(
        lambda: (
            bbb.get("getMeetingInfo", meetingID="kem-20-fizika-9a").findtext("messageKey")
            == "notFound"
        )
    )


def test_a_meeting_everybody_left_expires(make_bbb, http, eventually):
    _, bbb = make_bbb(expire_last_left_s=0.3)
    create(bbb)
    location = join_as_person(bbb, http, "kem-20-fizika-9a", "Сидорова Анна")
    http.delete(
        f"{bbb.base_url}/sim/sessions/{parse_qs(urlsplit(location).query)['sessionToken'][0]}"
    )

    eventually(
        lambda: (
            bbb.get("isMeetingRunning", meetingID="kem-20-fizika-9a").findtext("running") == "false"
        )
    )


def test_end_callback_is_called_with_recording_marks(make_bbb, http, recorder, eventually):
    sink, sink_url = recorder
    _, bbb = make_bbb()
    create(bbb, record="true", **{"meta_endCallbackUrl": f"{sink_url}/vks/bbb-ended?booking=42"})
    join_as_person(bbb, http, "kem-20-fizika-9a", "Учитель", password="mp")

    bbb.get("end", meetingID="kem-20-fizika-9a", password="mp")

    eventually(lambda: sink.requests)
    call = sink.requests[0]
    assert call["method"] == "GET" and call["path"] == "/vks/bbb-ended"
    assert parse_qs(call["query"]) == {
        "booking": ["42"],
        "meetingID": ["kem-20-fizika-9a"],
        "recordingmarks": ["true"],
    }


def test_recordings_of_ended_recorded_meetings(make_bbb, http):
    _, bbb = make_bbb()
    create(bbb, "kem-20-fizika-9a", record="true")
    create(bbb, "kem-12-himiya-10a", record="false")
    join_as_person(bbb, http, "kem-20-fizika-9a", "Учитель", password="mp")
    join_as_person(bbb, http, "kem-12-himiya-10a", "Учитель", password="mp")

    before = bbb.get("getRecordings")
    time.sleep(0.01)
    bbb.get("end", meetingID="kem-20-fizika-9a", password="mp")
    bbb.get("end", meetingID="kem-12-himiya-10a", password="mp")
    after = bbb.get("getRecordings")
    filtered = bbb.get("getRecordings", meetingID="kem-12-himiya-10a")

    assert before.findtext("messageKey") == "noRecordings"
    recordings = after.findall("recordings/recording")
    assert [r.findtext("meetingID") for r in recordings] == ["kem-20-fizika-9a"]
    assert recordings[0].findtext("state") == "published"
    assert recordings[0].findtext("playback/format/type") == "presentation"
    assert filtered.findtext("messageKey") == "noRecordings"


# --- the SIP video gateway contract ----------------------------------------------------------
def test_gateway_contract_joins_by_voice_bridge_or_meeting_id(make_bbb, http):
    _, bbb = make_bbb()
    voice_bridge = create(bbb).findtext("voiceBridge")
    calls = f"{bbb.base_url}/gateway/calls"

    by_bridge = http.post(
        calls,
        json={
            "to": voice_bridge,
            "from": "sip:term-kem-20@vks.ru",
            "display_name": "МБОУ «СОШ №20»",
        },
    )
    by_id = http.post(calls, json={"to": "kem-20-fizika-9a", "display_name": "МБОУ «СОШ №12»"})
    unknown = http.post(calls, json={"to": "55555", "display_name": "МБОУ «СОШ №1»"})
    malformed = http.post(calls, json={"display_name": "без номера"})

    assert by_bridge.status_code == 201 and by_id.status_code == 201
    assert by_bridge.json()["display_name"] == "Физика, 9А"
    assert unknown.status_code == 404 and malformed.status_code == 400
    info = bbb.get("getMeetingInfo", meetingID="kem-20-fizika-9a")
    assert info.findtext("participantCount") == "2"
    assert http.get(calls).json()["in_use"] == 2

    left = http.delete(f"{calls}/{by_bridge.json()['call_id']}")
    again = http.delete(f"{calls}/{by_bridge.json()['call_id']}")

    assert left.status_code == 204 and again.status_code == 404
    assert (
        bbb.get("getMeetingInfo", meetingID="kem-20-fizika-9a").findtext("participantCount") == "1"
    )


def test_gateway_refuses_a_full_meeting_with_busy_here(make_bbb, http):
    _, bbb = make_bbb()
    create(bbb, maxParticipants=1)
    calls = f"{bbb.base_url}/gateway/calls"
    http.post(calls, json={"to": "kem-20-fizika-9a", "display_name": "МБОУ «СОШ №20»"})

    full = http.post(calls, json={"to": "kem-20-fizika-9a", "display_name": "МБОУ «СОШ №12»"})

    assert full.status_code == 486
