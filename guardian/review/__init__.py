"""The moderators' side: the rules (`rules`, pure) and the review queue, decisions,
author sanctions and moderator exposure that follow them (one module per table)."""
