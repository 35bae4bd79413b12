"""OAuth 1.0a for replies on X, checked against the worked example of developer.x.com's
"Creating a signature" (the same values as its page), then a reply through a fake X."""

from __future__ import annotations

import aiohttp

from guardian.connectors.x_reply import OAuth1, post_x_reply, signature
from tests.fakes.x import FakeX


def test_the_signature_matches_the_documented_example() -> None:
    url = "https://api.twitter.com/1.1/statuses/update.json"
    params = {
        "status": "Hello Ladies + Gentlemen, a signed OAuth request!",
        "include_entities": "true",
        "oauth_consumer_key": "xvz1evFS4wEEPTGEFPHBog",
        "oauth_nonce": "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": "1318622958",
        "oauth_token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        "oauth_version": "1.0",
    }
    assert signature("POST", url, params, "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
                     "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE") == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="


def test_credentials_come_as_one_secret_of_four_parts() -> None:
    assert OAuth1.parse("ck:cs:at:as") == OAuth1("ck", "cs", "at", "as")
    assert OAuth1.parse("ck:cs:at") is None and OAuth1.parse("ck::at:as") is None


async def test_a_reply_is_posted_in_the_thread_and_bad_credentials_are_refused() -> None:
    x = await FakeX().start()
    try:
        mention = x.add_mention("La farola de la calle Ancha está apagada")
        good = OAuth1("ck", "cs", "at", "as")
        x.oauth1 = good
        async with aiohttp.ClientSession() as session:
            assert await post_x_reply(session, x.api, good, mention["id"],
                                      "Recibido. El equipo de alumbrado lo verá ahora.") == (
                201, None)
            status, error = await post_x_reply(session, x.api, OAuth1("ck", "cs", "at", "x"),
                                               mention["id"], "Recibido.")
            assert status == 401 and error is not None and "as" not in error.split()
        [posted] = x.posted
        assert posted["reply"] == {"in_reply_to_tweet_id": mention["id"]}
    finally:
        await x.close()
