"""Channel URLs as a policy writes them: secrets stay out of the files as `{env:NAME}`
references, and a URL is shown (logs, errors, pages, the delivery log) without any secret:
a password, a query value that is a credential (`?token=`, `?pass=`, `?apikey=`...), an
apprise custom header (`?+X-Api-Key=…`, which webhooks use for their keys), or a token in
the path (a Telegram bot token, a Slack or Discord webhook's key)."""

from __future__ import annotations

import re
from urllib.parse import unquote

ENV_REF = re.compile(r"\{env:([A-Z_][A-Z0-9_]*)\}")

# Query keys whose values are credentials (lower case; apprise's and common webhooks').
SECRET_QUERY_KEYS = frozenset({
    "pass", "password", "pwd", "token", "access_token", "apikey", "api_key", "key",
    "secret", "auth", "authorization", "bearer", "botkey", "webhook", "signature", "sig"})
_USERINFO = re.compile(r"(://[^/?#@]*?:)[^/?#@]*@")
_QUERY_VALUE = re.compile(r"([?&])([^=&#]+)=([^&#]*)")
# A path segment that is a key: a bot token (digits, a colon, 30 or more characters) or a
# long run of upper-case and lower-case letters and digits mixed (a Slack or Discord
# webhook's secret part; a lower-case hex topic or id is not taken for one).
_PATH_TOKEN = re.compile(r"(?<=/)(?:\d{5,}:[A-Za-z0-9_-]{30,}|(?=[A-Za-z0-9_-]*\d)"
                         r"(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{24,})"
                         r"(?=[/?#]|$)")


def _secret_query(key: str) -> bool:
    key = unquote(key)  # apprise writes `+X-Api-Key` as `%2BX-Api-Key`
    return key.startswith("+") or key.lower() in SECRET_QUERY_KEYS


def redact(url: str) -> str:
    """The URL without its secrets: a password always masked, other credentials unless
    they are `{env:NAME}` references (which name, not hold, a secret)."""
    url = _USERINFO.sub(r"\1***@", url)

    def query(m: re.Match[str]) -> str:
        if _secret_query(m[2]) and not ENV_REF.fullmatch(m[3]):
            return f"{m[1]}{m[2]}=***"
        return m[0]

    url = _QUERY_VALUE.sub(query, url)
    return _PATH_TOKEN.sub("***", url)


def literal_secrets(url: str) -> list[str]:
    """What in `url` is a secret written as is (not `{env:NAME}`), named for a sentence:
    "the password", "`token`", "the header `X-Api-Key`", "a token in the path"."""
    _, sep, rest = url.partition("://")
    if not sep:
        return []
    found: list[str] = []
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    userinfo = authority.rpartition("@")[0]
    if ":" in userinfo and not ENV_REF.fullmatch(userinfo.partition(":")[2]):
        found.append("the password")
    query = rest.partition("?")[2].partition("#")[0]
    for m in _QUERY_VALUE.finditer("?" + query):
        key, value = m[2], m[3]
        if _secret_query(key) and value and not ENV_REF.fullmatch(value):
            key = unquote(key)
            found.append(f"the header `{key[1:]}`" if key.startswith("+") else f"`{key}`")
    # The host may be the token itself (tgram://BOT_TOKEN/CHAT).
    path = "/" + rest.partition("?")[0].partition("#")[0]
    if _PATH_TOKEN.search(ENV_REF.sub("", path)):
        found.append("a token in the path")
    return found
