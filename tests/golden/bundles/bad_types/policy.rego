# Fail-closed fixture: contract rules with the wrong shape deny with a contract violation.
# The request picks the violation with context.attributes.mode.
package tollgate

mode := input.context.attributes.mode

# deny must be a set of strings; here it is a complete rule.
deny := "a lone string" if mode == "deny_string"

deny := {1, 2} if mode == "deny_numbers"

# approval members must be requirement objects.
approval contains "please review" if mode == "approval_string"

approval contains {"groups": ["sre"], "reason": "no quorum given"} if mode == "approval_no_quorum"

approval contains {"groups": ["sre"], "quorum": 0, "reason": "zero reviewers"} if mode == "approval_quorum_zero"

approval contains {"groups": ["sre"], "quorum": 1.5, "reason": "half a reviewer"} if mode == "approval_quorum_fraction"

approval contains {"groups": ["sre"], "quorum": 1, "reason": ""} if mode == "approval_empty_reason"

approval contains {"groups": ["sre"], "quorum": 1, "reason": "r", "ttl": "soon"} if mode == "approval_bad_ttl"

approval contains {"groups": "sre", "quorum": 1, "reason": "r"} if mode == "approval_groups_string"

approval contains {"groups": ["sre"], "quorum": 1, "reason": "r", "risk": "extreme"} if mode == "approval_bad_risk"

approval contains {"groups": ["sre"], "quorum": 1, "reason": "r", "step_up": "yes"} if mode == "approval_step_up_string"

approval contains {"groups": ["sre"], "qourum": 1, "reason": "typo"} if mode == "approval_unknown_field"

# allow must be a boolean.
allow := "yes" if mode == "allow_string"

allow := true if mode == "ok"

allow := true if mode in {"risk_bad", "risk_number", "obligation_no_type", "obligation_string", "mask_number"}

# risk must be one of low|medium|high|critical.
risk := "extreme" if mode == "risk_bad"

risk := 3 if mode == "risk_number"

# obligations must be objects with a string type; mask members must be strings.
obligations contains {"kind": "capability"} if mode == "obligation_no_type"

obligations contains "capability" if mode == "obligation_string"

mask contains 42 if mode == "mask_number"
