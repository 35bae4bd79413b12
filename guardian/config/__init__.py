"""What the operator gives a process: settings from the environment (`settings`), the
secrets `{env:NAME}` references resolve to (`secrets`), MQTT URLs (`mqtt_url`)."""
