# Fail-closed fixture: runtime errors while evaluating the contract rules must deny.
# The request picks the error with context.attributes.mode.
package tollgate

mode := input.context.attributes.mode

default allow := false

# Without an error this bundle allows, so every DENY below is caused by the error.
allow if mode == "none"

# to_number on a non-numeric string is a builtin error (strict builtin errors are on).
allow if {
	mode == "to_number"
	to_number(input.context.attributes.value) > 0
}

# Division by zero is a runtime error.
allow if {
	mode == "divide"
	100 / input.context.attributes.divisor > 1
}

# A function returning two different values for the same argument is a runtime conflict.
pick(x) := "first" if x

pick(x) := "second" if x

allow if {
	mode == "function_conflict"
	pick(true) == "first"
}

# An error in a deny rule denies even though allow holds.
deny contains msg if {
	mode == "error_in_deny"
	msg := sprintf("bad %v", [to_number("not a number")])
}

allow if mode == "error_in_deny"
