# Helpers shared by the action files. Pure functions of their arguments and data only.
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

# is_count holds for a non-negative whole number (row counts, quantities).
is_count(x) if {
	is_number(x)
	x >= 0
	x == floor(x)
}

# non_empty_string holds for a string with at least one character.
non_empty_string(x) if {
	is_string(x)
	x != ""
}

# flag_set holds when obj[key] is present and not explicitly false or null. Request flags that
# make an action more dangerous are read the cautious way: "true", 1 or "yes" count as set.
flag_set(obj, key) if {
	v := obj[key]
	v != false
	v != null
}

# secretish_key holds for a map key whose value is likely a credential. Over-masking is the
# safe failure: a masked field costs an auditor a lookup, a leaked token costs an incident.
# Matching on prefix and suffix (two builtin calls) instead of a regex keeps this cheap on
# the hot path, where it runs for every request key.
secretish_key(k) if strings.any_suffix_match(lower(k), cfg.mask_key_suffixes)

secretish_key(k) if strings.any_prefix_match(lower(k), cfg.mask_key_prefixes)

# principal_kind is the prefix of an identity such as `agent:billing-exporter` or
# `user:alice@example.com`.
principal_kind(p) := split(p, ":")[0]

# concrete_id holds for a single named resource: no empty id, no wildcard or glob.
concrete_id(id) if {
	non_empty_string(id)
	not contains(id, "*")
	not contains(id, "?")
}

# duration_ns parses a Go-style duration such as "30m" or "1h30m", and is undefined (never an
# evaluation error) for anything else, so callers can deny with a precise reason.
duration_ns(d) := time.parse_duration_ns(d) if {
	is_string(d)
	regex.match(`^([0-9]{1,6}(h|m|s))+$`, d)
}
