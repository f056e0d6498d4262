# Fail-closed fixture: an evaluation that would take billions of steps is cut off by the
# instruction / time limits and denies.
package tollgate

# 100 million iterations that never succeed and keep nothing in memory.
allow if {
	input.context.attributes.mode == "spin"
	some i in numbers.range(1, 10000)
	some j in numbers.range(1, 10000)
	i * j == -1
}

# The same cost hidden in a deny rule: a limit hit anywhere denies.
deny contains "never reached" if {
	input.context.attributes.mode == "spin_in_deny"
	some i in numbers.range(1, 10000)
	some j in numbers.range(1, 10000)
	i * j == -1
}

allow if input.context.attributes.mode == "spin_in_deny"

allow if input.context.attributes.mode == "cheap"
