# Fail-closed fixture for the VM fast path: every kind of runtime error regorus 0.14.1's VM
# used to drop (treating the erroring body as "does not match") must deny, exactly as the
# interpreter does. Each mode is written so that a dropped error would ALLOW: allow holds
# for every mode, and the error sits in a deny, approval, helper or default position whose
# silent failure removes the reason to deny. context.attributes.mode picks the case,
# context.attributes.value carries the hostile value.
package tollgate

import rego.v1

mode := input.context.attributes.mode

v := input.context.attributes.value

allow if mode != "not_in_allow"

# Errors under `not` in allow: `exceeds` erroring must not read as "does not exceed".
exceeds if to_number(v) > 100

allow if {
	mode == "not_in_allow"
	not exceeds
}

# Strict builtin error in a deny body.
deny contains "negative" if {
	mode == "builtin_in_deny"
	to_number(v) < 0
}

# Arithmetic on a non-number in a deny body.
deny contains "too many rows" if {
	mode == "arith_in_deny"
	v * 2 > 1000000
}

# Division by zero in a deny body.
deny contains "ratio too low" if {
	mode == "divide_in_deny"
	100 / v < 1
}

# Modulo by zero in a deny body.
deny contains "odd batch" if {
	mode == "modulo_in_deny"
	7 % v == 1
}

# Comparing values of different types in a deny body (an error under strict builtins).
deny contains "over the limit" if {
	mode == "compare_in_deny"
	v > 5000000
}

# An error in a helper rule a deny body reads.
row_count := to_number(v)

deny contains "helper says too many" if {
	mode == "helper_in_deny"
	row_count > 1000
}

# An error in a function a deny body calls.
parse(x) := to_number(x)

deny contains "function says negative" if {
	mode == "function_in_deny"
	parse(v) < 0
}

# An error inside a comprehension in a deny body.
deny contains "no valid values" if {
	mode == "comprehension_in_deny"
	count([n | some s in v; n := to_number(s)]) == 0
}

# An error inside `every` in a deny body.
deny contains "all values negative" if {
	mode == "every_in_deny"
	every s in v {
		to_number(s) < 0
	}
}

# An error in a partial set a deny body iterates.
negatives contains s if {
	mode == "partial_set_in_deny"
	some s in v
	to_number(s) < 0
}

deny contains sprintf("negative value %v", [s]) if some s in negatives

# An error in the first body of an else chain.
limit_class := "small" if {
	mode == "else_in_deny"
	to_number(v) < 10
} else := "large"

deny contains "large class" if {
	mode == "else_in_deny"
	limit_class == "large"
}

# An error in an approval body: a dropped error would turn PENDING_APPROVAL into ALLOW.
approval contains {"groups": ["security"], "quorum": 2, "reason": "large export"} if {
	mode == "builtin_in_approval"
	to_number(v) > 1000
}

approval contains {"groups": ["security"], "quorum": 1, "reason": "odd ratio"} if {
	mode == "divide_in_approval"
	100 / v > 1
}

# Conflicting values of a complete rule that has a default: neither the default nor
# "undefined" may be used; the conflict is an error.
default cap := 100

cap := 10 if mode == "conflict_with_default"

cap := 1000 if mode == "conflict_with_default"

deny contains "over the cap" if {
	mode == "conflict_with_default"
	input.context.attributes.rows > cap
}

# Conflicting values of a complete contract rule with a default.
default risk := "low"

risk := "high" if mode == "conflicting_risk"

risk := "critical" if mode == "conflicting_risk"

# An error in an obligation or mask body.
obligations contains {"type": "notify", "rows": to_number(v)} if mode == "builtin_in_obligations"

mask contains sprintf("context.%v", [to_number(v)]) if mode == "builtin_in_mask"
