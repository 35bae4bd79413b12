"""Channel URLs as a policy writes them: secrets stay out of the files as `{env:NAME}`
references, and a URL is shown (logs, errors, pages) without its password."""

from __future__ import annotations

import re

ENV_REF = re.compile(r"\{env:([A-Z_][A-Z0-9_]*)\}")


def redact(url: str) -> str:
    """Never echo a password back into logs or the health page."""
    url = re.sub(r"(://[^/?#@]*?:)[^/?#@]*@", r"\1***@", url)
    return re.sub(r"([?&](?:pass|password)=)[^&#]*", r"\1***", url, flags=re.IGNORECASE)
