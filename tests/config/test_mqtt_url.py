"""MQTT URLs in settings (GUARDIAN_MQTT_REPLIES): checked at start, the password never
shown."""

from __future__ import annotations

import pytest

from guardian.config.mqtt_url import parse_mqtt_url
from guardian.config.settings import load_settings
from guardian.errors import ConfigError


def test_the_mqtt_replies_setting_is_checked_at_start() -> None:
    base = {"GUARDIAN_ENV": "development"}
    assert load_settings(base).mqtt_replies == ""
    good = "mqtt://guardian:p%40ss@broker:1884/guardian/replies/#"
    assert load_settings({**base, "GUARDIAN_MQTT_REPLIES": good}).mqtt_replies == good
    url = parse_mqtt_url(good)
    assert (url.host, url.port, url.topic, url.username, url.password) == (
        "broker", 1884, "guardian/replies/#", "guardian", "p@ss")
    assert "p@ss" not in url.masked() and "p@ss" not in repr(url)
    assert parse_mqtt_url("mqtts://broker/$share/guardian/replies/+").port == 8883
    for bad in ("http://broker/x", "mqtt://broker", "mqtt://broker:1883/", "mqtt://:1/x",
                "mqtt://broker:99999/x", "mqtt://broker/a/#/b", "mqtt://broker/a+"):
        with pytest.raises(ConfigError) as caught:
            load_settings({**base, "GUARDIAN_MQTT_REPLIES": bad})
        assert caught.value.problems[0].startswith("GUARDIAN_MQTT_REPLIES: ")


