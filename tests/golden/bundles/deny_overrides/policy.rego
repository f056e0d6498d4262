# Fail-closed fixture: deny overrides approval, approval overrides allow.
package tollgate

default allow := true

deny contains "blocked by the deny rule" if input.context.attributes.deny == true

deny contains "blocked twice" if input.context.attributes.deny_twice == true

approval contains {
	"groups": ["security"],
	"quorum": 1,
	"ttl": "15m",
	"capability_ttl": "5m",
	"risk": "high",
	"step_up": true,
	"reason": "security must look at this",
} if input.context.attributes.approval == true

risk := "high"

obligations contains {"type": "capability"}
