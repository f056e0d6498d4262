package tollgate

# The example agent's policy: exports are allowed once someone in `security` approves.

default allow := false

allow if input.action.name == "data.export"

approval contains {"groups": ["security"], "quorum": 1, "ttl": "15m", "capability_ttl": "5m",
	"reason": "exports leave the building: security approves"} if input.action.name == "data.export"
