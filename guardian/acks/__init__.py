"""Acknowledging pages: signed links and reply codes (`links`, pure), replies by API
(`replies`) and over MQTT (`mqtt`, a job of the engine)."""
