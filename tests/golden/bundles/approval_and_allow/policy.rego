# Fail-closed fixture: an approval requirement wins over allow, and every requirement is kept.
package tollgate

allow := true

approval contains {
	"groups": ["security"],
	"quorum": 2,
	"ttl": "15m",
	"capability_ttl": "5m",
	"risk": "high",
	"step_up": true,
	"reason": "two security reviewers",
} if input.context.attributes.security == true

approval contains {
	"groups": ["data-governance"],
	"quorum": 1,
	"ttl": "1h",
	"capability_ttl": "10m",
	"risk": "medium",
	"step_up": false,
	"reason": "data-governance reviewer",
} if input.context.attributes.governance == true

# Only the required fields: ttl, capability_ttl, risk and step_up take the service defaults.
approval contains {"groups": [], "quorum": 1, "reason": "any eligible reviewer"} if input.context.attributes.minimal == true

risk := "high" if input.context.attributes.security == true

obligations contains {"type": "notify", "channel": "#approvals"}
