"""Words said to people stay translatable: the API reads the English template filled in,
a page reads it through its catalogue, with the words inside translated too."""

from __future__ import annotations

from booking.errors import IllegalTransition
from booking.words import Words, listed

RU = {
    "request %(id)s is %(state)s: it cannot %(action)s (allowed: %(allowed)s)":
        "заявка %(id)s в состоянии «%(state)s»: действие «%(action)s» невозможно"
        " (доступно: %(allowed)s)",
    "returned": "возвращена",
    "include": "включить в сводную заявку",
    "submit": "подать",
    "withdraw": "отозвать",
}  # fmt: skip


def refusal() -> Words:
    return Words(
        "request %(id)s is %(state)s: it cannot %(action)s (allowed: %(allowed)s)",
        {"id": "r-17", "state": Words("returned"), "action": Words("include"),
         "allowed": listed([Words("submit"), Words("withdraw")])},
    )  # fmt: skip


def test_the_api_reads_english_and_a_page_reads_the_catalogues_words() -> None:
    said = refusal()

    assert said.text() == "request r-17 is returned: it cannot include (allowed: submit, withdraw)"
    assert said.said(lambda m: RU.get(m, m)) == (
        "заявка r-17 в состоянии «возвращена»: действие «включить в сводную заявку» невозможно"
        " (доступно: подать, отозвать)"
    )


def test_an_error_raised_with_words_keeps_them_and_its_english_message() -> None:
    error = IllegalTransition(refusal(), state="returned")

    assert error.words == refusal()
    assert error.message == str(error) == refusal().text()
    assert IllegalTransition("plain").words is None


def test_nothing_listed_is_said_as_none() -> None:
    assert listed([]).text() == "none"
