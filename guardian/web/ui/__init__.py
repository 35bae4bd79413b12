"""The web pages for people: sign-in and sessions, the moderators' queue. Server-rendered
(jinja2, autoescaped), htmx where a page updates in place, every action also a plain form
POST; a session cookie, never a bearer token, opens them."""
