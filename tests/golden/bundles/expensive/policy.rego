# Fail-closed fixture for bounded evaluation: each mode is one expensive construct whose cost
# the request chooses (context.attributes.n). Completed, each would allow; cut off by the time
# or memory budget, each must deny, on both engines, within about twice the budget.
package tollgate

import rego.v1

mode := input.context.attributes.mode

n := input.context.attributes.n

allow if mode == "cheap"

allow if {
	mode != "cheap"
	not expensive_failed
}

# One builtin call materialises n numbers.
expensive_failed if {
	mode in {"range", "range_huge"}
	count(numbers.range(1, n)) < 0
}

# A comprehension over a big range.
expensive_failed if {
	mode == "comprehension"
	count([x | some x in numbers.range(1, n); x > 0]) < 0
}

# Building one big string.
expensive_failed if {
	mode == "concat"
	count(concat(",", [format_int(x, 10) | some x in numbers.range(1, n)])) < 0
}

# Concatenating big arrays.
expensive_failed if {
	mode == "array_concat"
	r := numbers.range(1, n)
	count(array.concat(r, r)) < 0
}

# Serialising a big value.
expensive_failed if {
	mode == "marshal"
	count(json.marshal(numbers.range(1, n))) < 0
}

# Formatting a big value as text.
expensive_failed if {
	mode == "sprintf"
	count(sprintf("%v", [numbers.range(1, n)])) < 0
}

# Building a big set (sorted insertion).
expensive_failed if {
	mode == "set"
	count({format_int(x, 10) | some x in numbers.range(1, n)}) < 0
}

# Building and traversing a generated tree (regorus's VM does not compile `walk` in a
# comprehension, so the traversal is spelt out).
expensive_failed if {
	mode == "nested"
	tree := [numbers.range(1, 1000) | some _ in numbers.range(1, n)]
	count([y | some row in tree; some y in row]) < 0
}

# Nested loops that keep nothing.
expensive_failed if {
	mode == "loops"
	some i in numbers.range(1, n)
	some j in numbers.range(1, n)
	i * j < 0
}
