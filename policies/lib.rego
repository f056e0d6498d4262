# Helpers shared by the action files. Pure functions of their arguments and data only.
# Functions cost more than rules in regorus's VM (rules are cached per evaluation, functions
# are not), so only helpers off the hot path live here.
package tollgate.lib

cfg := data.tollgate_config

# Subject and principal kinds that are not a person. Separation of duties and the IAM rules
# treat them as automation.
non_human_kinds := {"agent": true, "service": true, "pipeline": true}

# requirement builds one approval requirement in the exact shape of the service contract.
# The approval window (how long reviewers have) and the capability lifetime (how long the
# approved action may take to start) shrink as risk grows; see approval_windows in data.yaml.
requirement(groups, quorum, risk, step_up, reason) := {
	"groups": groups,
	"quorum": quorum,
	"ttl": cfg.approval_windows[risk].ttl,
	"capability_ttl": cfg.approval_windows[risk].capability_ttl,
	"risk": risk,
	"step_up": step_up,
	"reason": reason,
}

# principal_kind is the prefix of an identity such as `agent:billing-exporter` or
# `user:alice@example.com`.
principal_kind(p) := split(p, ":")[0]

# duration_ns parses a Go-style duration such as "30m" or "1h30m", and is undefined (never an
# evaluation error) for anything else, so callers can deny with a precise reason.
duration_ns(d) := time.parse_duration_ns(d) if {
	is_string(d)
	regex.match(`^([0-9]{1,6}(h|m|s))+$`, d)
}
