"""The simulated terminal's Cisco xAPI: status documents, commands, and calls that really
join BBB and Jitsi rooms through the simulated SIP video gateway."""

from __future__ import annotations


def bbb_room(bbb, meeting_id: str = "kem-20-fizika-9a", name: str = "Физика, 9А") -> str:
    created = bbb.get("create", meetingID=meeting_id, name=name, attendeePW="ap", moderatorPW="mp")
    return created.findtext("voiceBridge")


def sip_host(base_url: str) -> str:
    return base_url.removeprefix("http://")


def test_status_document_has_the_xapi_shape(make_terminal):
    _, xapi = make_terminal(sip_address="sip:term-kem-20@vks.kuzbass.ru")

    status = xapi.status("/Status")

    assert status.tag == "Status"
    assert status.get("product") == "Cisco Codec" and status.get("apiVersion") == "4"
    assert status.findtext("SystemUnit/ProductId").startswith("Cisco Webex")
    assert int(status.findtext("SystemUnit/Uptime")) > 0
    assert status.findtext("SystemUnit/Software/Version").startswith("ce")
    assert float(status.findtext("SystemUnit/Hardware/Temperature")) < 70
    assert status.findtext("SIP/Registration/Status") == "Registered"
    assert status.findtext("SIP/Registration/URI") == "term-kem-20@vks.kuzbass.ru"
    assert status.findtext("Standby/State") == "Off"
    assert status.findtext("Audio/Volume") == "50"
    camera = status.find("Peripherals/ConnectedDevice[Type='Camera']")
    assert camera is not None and camera.findtext("Status") == "Connected"
    assert status.find("Diagnostics/Message") is None
    assert status.find("Call") is None  # idle: no Call element


def test_deep_locations_keep_their_ancestors(make_terminal):
    _, xapi = make_terminal()

    uptime = xapi.status("/Status/SystemUnit/Uptime")
    registration = xapi.status("/status/sip/registration/status")  # paths are case-insensitive

    assert [child.tag for child in uptime] == ["SystemUnit"]
    assert [child.tag for child in uptime[0]] == ["Uptime"]
    assert registration.findtext("SIP/Registration/Status") == "Registered"
    assert registration.find("SIP/Registration/URI") is None


def test_basic_auth_is_required(make_terminal, http):
    _, xapi = make_terminal()

    anonymous = http.get(f"{xapi.base_url}/getxml?location=/Status")
    wrong = http.get(f"{xapi.base_url}/getxml?location=/Status", auth=("admin", "wrong"))

    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Basic")


def test_dial_goes_through_call_states_and_joins_the_bbb_room(make_terminal, make_bbb, eventually):
    _, bbb = make_bbb()
    voice_bridge = bbb_room(bbb)
    _, xapi = make_terminal(answer_delay_s=0.4)

    result = xapi.dial(f"sip:{voice_bridge}@{sip_host(bbb.base_url)}")

    assert result.find("DialResult").get("status") == "OK"
    assert result.findtext("DialResult/CallId")
    seen = {xapi.call_status()}
    eventually(lambda: seen.add(xapi.call_status()) or "Connected" in seen, timeout=3)
    assert seen & {"Dialling", "Connecting"}, seen
    call = xapi.status("/Status/Call").find("Call")
    assert call.findtext("RemoteNumber") == f"{voice_bridge}@{sip_host(bbb.base_url)}"
    assert call.findtext("Protocol") == "Sip" and call.findtext("Direction") == "outgoing"
    assert call.findtext("DisplayName") == "Физика, 9А"
    info = bbb.get("getMeetingInfo", meetingID="kem-20-fizika-9a")
    attendee = info.find("attendees/attendee")
    assert attendee.findtext("fullName") == "МБОУ «СОШ №20» — Актовый зал"
    assert attendee.findtext("userID").startswith("v_")
    assert attendee.findtext("clientType") == "dial-in-user"
    assert attendee.findtext("hasJoinedVoice") == "true"
    assert attendee.findtext("hasVideo") == "true"
    assert info.findtext("videoCount") == "1"
    assert info.findtext("running") == "true"


def test_hanging_up_leaves_the_room(make_terminal, make_bbb, eventually):
    _, bbb = make_bbb()
    voice_bridge = bbb_room(bbb)
    _, xapi = make_terminal(answer_delay_s=0.05)
    xapi.dial(f"sip:{voice_bridge}@{sip_host(bbb.base_url)}")
    eventually(lambda: xapi.call_status() == "Connected")

    result = xapi.disconnect()

    assert result.find("CallDisconnectResult").get("status") == "OK"
    assert xapi.call_status() is None
    eventually(
        lambda: (
            bbb.get("getMeetingInfo", meetingID="kem-20-fizika-9a").findtext("participantCount")
            == "0"
        )
    )
    assert xapi.history()[0].findtext("DisconnectCauseType") == "LocalDisconnect"


def test_a_second_dial_during_a_call_is_refused(make_terminal, make_bbb, eventually):
    _, bbb = make_bbb()
    voice_bridge = bbb_room(bbb)
    _, xapi = make_terminal()
    xapi.dial(f"sip:{voice_bridge}@{sip_host(bbb.base_url)}")

    second = xapi.dial(f"sip:{voice_bridge}@{sip_host(bbb.base_url)}")

    assert second.find("DialResult").get("status") == "Error"
    assert second.findtext("DialResult/Reason")
    assert len(xapi.status("/Status/Call").findall("Call")) == 1


def test_dialling_a_room_that_does_not_exist_fails_the_call(make_terminal, make_bbb, eventually):
    _, bbb = make_bbb()
    _, xapi = make_terminal()

    result = xapi.dial(f"sip:99999@{sip_host(bbb.base_url)}")

    assert result.find("DialResult").get("status") == "OK"  # the codec accepts the command
    eventually(lambda: xapi.call_status() is None)
    entry = xapi.history()[0]
    assert entry.findtext("DisconnectCauseType") == "UnknownRemoteSite"
    assert entry.findtext("DisconnectCauseCode") == "404"


def test_ending_the_meeting_hangs_the_terminal_up(make_terminal, make_bbb, eventually):
    _, bbb = make_bbb()
    voice_bridge = bbb_room(bbb)
    _, xapi = make_terminal(answer_delay_s=0.05)
    xapi.dial(f"sip:{voice_bridge}@{sip_host(bbb.base_url)}")
    eventually(lambda: xapi.call_status() == "Connected")

    bbb.get("end", meetingID="kem-20-fizika-9a", password="mp")

    eventually(lambda: xapi.call_status() is None)
    assert xapi.history()[0].findtext("DisconnectCauseType") == "RemoteDisconnect"


def test_a_terminal_joins_a_jitsi_room_as_an_occupant(make_terminal, make_jitsi, eventually, http):
    _, jitsi = make_jitsi()
    _, xapi = make_terminal(answer_delay_s=0.05)

    xapi.dial(f"sip:matematika-7b@{sip_host(jitsi)}")
    eventually(lambda: xapi.call_status() == "Connected")

    size = http.get(f"{jitsi}/room-size", params={"room": "matematika-7b", "domain": "meet.jitsi"})
    room = http.get(f"{jitsi}/room", params={"room": "matematika-7b", "domain": "meet.jitsi"})
    assert size.json() == {"participants": 1}
    assert room.json()[0]["display_name"] == "МБОУ «СОШ №20» — Актовый зал"
    xapi.disconnect()
    eventually(
        lambda: (
            http.get(
                f"{jitsi}/room-size", params={"room": "matematika-7b", "domain": "meet.jitsi"}
            ).status_code
            == 404
        )
    )


def test_busy_gateway_ports_refuse_the_call(make_terminal, make_bbb, eventually):
    _, bbb = make_bbb(gateway_ports=1)
    voice_bridge = bbb_room(bbb)
    _, first = make_terminal("term-kem-20", answer_delay_s=0.05)
    _, second = make_terminal("term-kem-12", answer_delay_s=0.05)
    first.dial(f"sip:{voice_bridge}@{sip_host(bbb.base_url)}")
    eventually(lambda: first.call_status() == "Connected")

    second.dial(f"sip:{voice_bridge}@{sip_host(bbb.base_url)}")

    eventually(lambda: second.call_status() is None)
    assert second.history()[0].findtext("DisconnectCauseType") == "RemoteBusy"


def test_standby_and_volume_commands(make_terminal):
    _, xapi = make_terminal()

    activated = xapi.command('<Command><Standby><Activate command="True"/></Standby></Command>')
    state_in_standby = xapi.status("/Status/Standby").findtext("Standby/State")
    xapi.command('<Command><Standby><Deactivate command="True"/></Standby></Command>')
    xapi.command(
        '<Command><Audio><Volume><Set command="True"><Level>70</Level></Set></Volume></Audio>'
        "</Command>"
    )
    xapi.command(
        '<Command><Audio><Volume><Increase command="True"><Steps>40</Steps></Increase>'
        "</Volume></Audio></Command>"
    )

    assert activated.find("StandbyActivateResult").get("status") == "OK"
    assert state_in_standby == "Standby"
    assert xapi.status("/Status/Standby").findtext("Standby/State") == "Off"
    assert xapi.status("/Status/Audio/Volume").findtext("Audio/Volume") == "100"


def test_dialling_wakes_the_terminal_from_standby(make_terminal, make_bbb):
    _, bbb = make_bbb()
    voice_bridge = bbb_room(bbb)
    _, xapi = make_terminal()
    xapi.command('<Command><Standby><Activate command="True"/></Standby></Command>')

    xapi.dial(f"sip:{voice_bridge}@{sip_host(bbb.base_url)}")

    assert xapi.status("/Status/Standby").findtext("Standby/State") == "Off"


def test_unknown_commands_and_bad_xml_are_errors(make_terminal):
    _, xapi = make_terminal()

    unknown = xapi.command(
        '<Command><Presentation><Levitate command="True"/></Presentation></Command>'
    )
    broken = xapi.http.post("/putxml", content=b"<Command><Dial>")
    no_call = xapi.disconnect()

    assert unknown.find("Result").get("status") == "Error"
    assert broken.status_code == 400
    assert no_call.find("CallDisconnectResult").get("status") == "Error"


def test_feedback_url_receives_call_changes(make_terminal, make_bbb, recorder, eventually):
    sink, sink_url = recorder
    _, bbb = make_bbb()
    voice_bridge = bbb_room(bbb)
    _, xapi = make_terminal(answer_delay_s=0.05)
    xapi.command(
        '<Command><HttpFeedback><Register command="True"><FeedbackSlot>1</FeedbackSlot>'
        f'<ServerUrl>{sink_url}/vks/feedback</ServerUrl><Expression item="1">/Status/Call'
        "</Expression></Register></HttpFeedback></Command>"
    )

    xapi.dial(f"sip:{voice_bridge}@{sip_host(bbb.base_url)}")
    eventually(lambda: any("<Status>Connected</Status>" in r["body"] for r in sink.requests))
    xapi.disconnect()

    eventually(lambda: any("<CallDisconnect>" in r["body"] for r in sink.requests))
    assert all(r["path"] == "/vks/feedback" and r["method"] == "POST" for r in sink.requests)
    assert "<Status>Dialling</Status>" in sink.requests[0]["body"]
