"""The runtime: every background activity is a job (`loop.Job`) run by a `loop.Loop`;
`build` makes the jobs of a `serve` or `worker` process. The pipeline and its stages, the
decision memory, escalation timers, digests, dismissed items, the sender, MQTT replies;
`simulate` replays a feed in simulated time."""
