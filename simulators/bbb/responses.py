"""The XML documents the simulated BigBlueButton API answers with (`<response>` root)."""

from __future__ import annotations

from simulators.bbb.meetings import Attendee, Meeting, Recording


def esc(text: object) -> str:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def _bool(value: bool) -> str:
    return "true" if value else "false"


def success(inner: str = "", key: str = "", message: str = "") -> str:
    tail = f"<messageKey>{key}</messageKey><message>{esc(message)}</message>" if key else ""
    return f"<response><returncode>SUCCESS</returncode>{inner}{tail}</response>"


def failed(key: str, message: str) -> str:
    return (
        "<response><returncode>FAILED</returncode>"
        f"<messageKey>{key}</messageKey><message>{esc(message)}</message></response>"
    )


def version() -> str:
    return success(
        "<version>2.0</version><apiVersion>2.0</apiVersion><bbbVersion>2.7.12</bbbVersion>"
    )


def created(meeting: Meeting) -> str:
    return (
        f"<meetingID>{esc(meeting.meeting_id)}</meetingID>"
        f"<internalMeetingID>{meeting.internal_id}</internalMeetingID>"
        "<parentMeetingID>bbb-none</parentMeetingID>"
        f"<attendeePW>{esc(meeting.attendee_pw)}</attendeePW>"
        f"<moderatorPW>{esc(meeting.moderator_pw)}</moderatorPW>"
        f"<createTime>{meeting.create_time_ms}</createTime>"
        f"<voiceBridge>{meeting.voice_bridge}</voiceBridge>"
        f"<dialNumber>{esc(meeting.dial_number)}</dialNumber>"
        f"<createDate>{meeting.create_date}</createDate>"
        f"<hasUserJoined>{_bool(meeting.has_user_joined)}</hasUserJoined>"
        f"<duration>{meeting.duration_min}</duration>"
        f"<hasBeenForciblyEnded>{_bool(meeting.forcibly_ended)}</hasBeenForciblyEnded>"
    )


def _attendee(a: Attendee) -> str:
    return (
        f"<attendee><userID>{esc(a.user_id)}</userID><fullName>{esc(a.full_name)}</fullName>"
        f"<role>{a.role}</role><isPresenter>false</isPresenter>"
        f"<isListeningOnly>{_bool(a.listening_only)}</isListeningOnly>"
        f"<hasJoinedVoice>{_bool(a.has_joined_voice)}</hasJoinedVoice>"
        f"<hasVideo>{_bool(a.has_video)}</hasVideo><clientType>{a.client_type}</clientType>"
        "</attendee>"
    )


def _metadata(metadata: dict[str, str]) -> str:
    if not metadata:
        return "<metadata/>"
    items = "".join(f"<{k}>{esc(v)}</{k}>" for k, v in metadata.items())
    return f"<metadata>{items}</metadata>"


def meeting(m: Meeting) -> str:
    attendees = list(m.attendees.values())
    moderators = sum(1 for a in attendees if a.role == "MODERATOR")
    video = sum(1 for a in attendees if a.has_video)
    voice = sum(1 for a in attendees if a.has_joined_voice)
    listeners = sum(1 for a in attendees if a.listening_only)
    people = "".join(_attendee(a) for a in attendees)
    return (
        f"<meetingName>{esc(m.name)}</meetingName><meetingID>{esc(m.meeting_id)}</meetingID>"
        f"<internalMeetingID>{m.internal_id}</internalMeetingID>"
        f"<createTime>{m.create_time_ms}</createTime><createDate>{m.create_date}</createDate>"
        f"<voiceBridge>{m.voice_bridge}</voiceBridge><dialNumber>{esc(m.dial_number)}</dialNumber>"
        f"<attendeePW>{esc(m.attendee_pw)}</attendeePW>"
        f"<moderatorPW>{esc(m.moderator_pw)}</moderatorPW>"
        f"<running>{_bool(m.running)}</running><duration>{m.duration_min}</duration>"
        f"<hasUserJoined>{_bool(m.has_user_joined)}</hasUserJoined>"
        f"<recording>{_bool(m.record and m.running)}</recording>"
        f"<hasBeenForciblyEnded>{_bool(m.forcibly_ended)}</hasBeenForciblyEnded>"
        f"<startTime>{m.start_time_ms}</startTime><endTime>{m.end_time_ms}</endTime>"
        f"<participantCount>{len(attendees)}</participantCount>"
        f"<listenerCount>{listeners}</listenerCount>"
        f"<voiceParticipantCount>{voice}</voiceParticipantCount>"
        f"<videoCount>{video}</videoCount><maxUsers>{m.max_participants}</maxUsers>"
        f"<moderatorCount>{moderators}</moderatorCount>"
        f"<attendees>{people}</attendees>{_metadata(m.metadata)}"
        "<isBreakout>false</isBreakout>"
    )


def meetings(all_meetings: list[Meeting]) -> str:
    if not all_meetings:
        return success("<meetings/>", "noMeetings", "no meetings were found on this server")
    inner = "".join(f"<meeting>{meeting(m)}</meeting>" for m in all_meetings)
    return success(f"<meetings>{inner}</meetings>")


def recording(r: Recording, base_url: str) -> str:
    length_min = max(1, round((r.end_time_ms - r.start_time_ms) / 60000))
    metadata = {
        "isBreakout": "false",
        "meetingId": r.meeting_id,
        "meetingName": r.name,
        **r.metadata,
    }
    return (
        f"<recording><recordID>{r.record_id}</recordID><meetingID>{esc(r.meeting_id)}</meetingID>"
        f"<internalMeetingID>{r.internal_id}</internalMeetingID><name>{esc(r.name)}</name>"
        f"<isBreakout>false</isBreakout><published>{_bool(r.published)}</published>"
        f"<state>{r.state}</state><startTime>{r.start_time_ms}</startTime>"
        f"<endTime>{r.end_time_ms}</endTime><participants>{r.participants}</participants>"
        f"<rawSize>{r.participants * 1048576}</rawSize>{_metadata(metadata)}"
        f"<size>{length_min * 2097152}</size><playback><format><type>presentation</type>"
        f"<url>{esc(base_url)}/playback/presentation/2.3/{r.record_id}</url>"
        f"<processingTime>{length_min * 1000}</processingTime><length>{length_min}</length>"
        f"<size>{length_min * 2097152}</size></format></playback><data/></recording>"
    )


def recordings(found: list[Recording], base_url: str) -> str:
    if not found:
        return success(
            "<recordings></recordings>",
            "noRecordings",
            "There are no recordings for the meeting(s).",
        )
    return success(
        "<recordings>" + "".join(recording(r, base_url) for r in found) + "</recordings>"
    )
