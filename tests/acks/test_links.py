"""Signed flag links (pure): they name a message and a person, last 30 days, and cannot be
forged, nor made from an acknowledgement link."""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from guardian.acks.links import (
    ACK_MAX_AGE_SECONDS,
    FLAG_MAX_AGE_SECONDS,
    FLAG_SALT,
    FlagLinks,
    LinkError,
    ack_token,
    flag_token,
    read_flag_token,
)

SECRET = "s" * 40
DAY = 24 * 3600


def aged_flag_token(secret: str, message_id: int, person: str, age_seconds: int) -> str:
    """A flag token signed `age_seconds` ago."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    serializer = URLSafeTimedSerializer(secret, salt=FLAG_SALT, signer=Then)
    return str(serializer.dumps({"m": message_id, "u": person}))


def test_a_flag_link_names_its_message_and_person() -> None:
    claim = read_flag_token(SECRET, flag_token(SECRET, 7, "antonio"))
    assert (claim.message_id, claim.person) == (7, "antonio")


def test_a_flag_link_lasts_30_days_longer_than_an_ack_link() -> None:
    assert FLAG_MAX_AGE_SECONDS == 30 * DAY > ACK_MAX_AGE_SECONDS
    week_old = aged_flag_token(SECRET, 7, "antonio", 7 * DAY)
    assert read_flag_token(SECRET, week_old).message_id == 7
    month_old = aged_flag_token(SECRET, 7, "antonio", 31 * DAY)
    with pytest.raises(LinkError, match="expired"):
        read_flag_token(SECRET, month_old)


def test_forged_damaged_or_foreign_tokens_are_not_valid() -> None:
    token = flag_token(SECRET, 7, "antonio")
    with pytest.raises(LinkError, match="not valid"):
        read_flag_token("another secret of sufficient length!!", token)
    with pytest.raises(LinkError, match="not valid"):
        read_flag_token(SECRET, token[:-4] + ("abcd" if not token.endswith("abcd") else "wxyz"))
    # An acknowledgement link (another salt) is no flag link, for the same numbers.
    with pytest.raises(LinkError, match="not valid"):
        read_flag_token(SECRET, ack_token(SECRET, 7, "antonio"))
    # Signed with the right key and salt, but not naming a message and a person.
    for data in ({"m": "7", "u": "antonio"}, {"m": 7}, {"m": 7, "u": ""}, [7, "antonio"]):
        odd = str(URLSafeTimedSerializer(SECRET, salt=FLAG_SALT).dumps(data))
        with pytest.raises(LinkError, match="not valid"):
            read_flag_token(SECRET, odd)


def test_flag_links_are_urls_under_the_base_url_one_per_person() -> None:
    links = FlagLinks(secret=SECRET, base_url="https://guardian.town.test")
    antonio, carmen = links(7, "antonio"), links(7, "carmen")
    assert antonio.startswith("https://guardian.town.test/flag/")
    claim = read_flag_token(SECRET, antonio.rsplit("/", 1)[1])
    assert (claim.message_id, claim.person) == (7, "antonio")
    assert read_flag_token(SECRET, carmen.rsplit("/", 1)[1]).person == "carmen"
