"""MQTT URLs in settings: `mqtt://[user[:password]@]host[:port]/topic/filter`."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote


@dataclass(frozen=True)
class MqttUrl:
    host: str
    port: int
    topic: str                 # a subscription filter: `+` and `#` allowed
    tls: bool = False          # `mqtts://`
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def masked(self) -> str:
        """The URL without its password, for logs."""
        user = ""
        if self.username is not None:
            user = f"{self.username}:***@" if self.password is not None else f"{self.username}@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{host}:{self.port}/{self.topic}"


def _valid_filter(topic: str) -> bool:
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return "\x00" not in topic


def parse_mqtt_url(url: str) -> MqttUrl:
    """Read an MQTT URL; ValueError says what is wrong (without the password).

    The topic is everything after the first `/` that follows the host, `#` and `+`
    included, so it is not split like a web address (where `#` starts a fragment).
    Percent-escapes are decoded in the user name and password only.
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep or scheme.lower() not in ("mqtt", "mqtts"):
        raise ValueError("expected mqtt://HOST:PORT/TOPIC (or mqtts:// for TLS)")
    tls = scheme.lower() == "mqtts"
    netloc, _, topic = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if not at:
        userinfo, hostport = "", netloc
    username, colon, password = userinfo.partition(":")
    if hostport.startswith("["):
        host, _, after = hostport[1:].partition("]")
        port_raw = after.removeprefix(":")
    else:
        host, _, port_raw = hostport.partition(":")
    if not host:
        raise ValueError("the URL names no host")
    port = 8883 if tls else 1883
    if port_raw:
        if not port_raw.isdigit() or not 0 < int(port_raw) <= 65535:
            raise ValueError(f"the port must be a number from 1 to 65535, got {port_raw!r}")
        port = int(port_raw)
    if not topic:
        raise ValueError("the URL names no topic (for example mqtt://HOST:1883/guardian/"
                         "replies/#)")
    if not _valid_filter(topic):
        raise ValueError(f"{topic!r} is not a valid topic filter: `+` stands for a whole "
                         "level and `#` only for the last one")
    return MqttUrl(host=host, port=port, topic=topic, tls=tls,
                   username=unquote(username) if at else None,
                   password=unquote(password) if colon else None)
