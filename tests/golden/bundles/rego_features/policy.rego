# Golden fixture for "all of Rego" on the VM: every, some ... in (value and key/value),
# array/set/object comprehensions, partial sets, partial objects with variable keys, else,
# functions and rules across packages. context.attributes.mode picks the case. The VM
# compiles all of it, so each case runs on both engines.
package tollgate

import data.tollgate_lib.groups
import rego.v1

mode := input.context.attributes.mode

attrs := input.context.attributes

# every: all destinations in a corporate bucket.
allow if {
	mode == "every"
	count(attrs.dests) > 0
	every d in attrs.dests {
		startswith(d, "s3://corp-")
	}
}

# some key, value in an object from data.
allow if {
	mode == "some_in"
	some name, limit in data.tollgate_config.limits
	name == input.action.name
	attrs.rows <= limit
}

# Comprehensions of all three kinds.
short_tables := [t | some t in attrs.tables; count(t) <= 8]

table_set := {t | some t in attrs.tables}

table_len := {t: count(t) | some t in attrs.tables}

allow if {
	mode == "comprehensions"
	count(short_tables) == count(attrs.tables)
	count(table_set) == count(attrs.tables)
	every _, n in table_len {
		n > 2
	}
}

obligations contains {"type": "audit", "tables": sort([t | some t in table_set])} if mode == "comprehensions"

# A partial object with variable keys and partial sets built from it.
quota[t] := n if some t, n in data.tollgate_config.quotas

over_quota contains t if {
	some t in attrs.tables
	attrs.rows > quota[t]
}

unknown_tables contains t if {
	some t in attrs.tables
	not quota[t]
}

deny contains sprintf("over quota for %s", [t]) if {
	mode == "partial"
	some t in over_quota
}

deny contains sprintf("no quota for %s", [t]) if {
	mode == "partial"
	some t in unknown_tables
}

allow if mode == "partial"

# else chains and a default.
default size := "unknown"

size := "small" if {
	mode == "else"
	attrs.rows < 100
} else := "medium" if {
	mode == "else"
	attrs.rows < 10000
} else := "large" if mode == "else"

risk := "high" if size == "large"

risk := "low" if size in {"small", "medium"}

allow if {
	mode == "else"
	size != "large"
}

approval contains {"groups": ["sre"], "quorum": 2, "reason": "large batch"} if {
	mode == "else"
	size == "large"
}

allow if {
	mode == "else"
	size == "large"
}

# Rules and functions from another package.
allow if {
	mode == "packages"
	groups.is_admin(input.subject)
}

approval contains {"groups": ["security"], "quorum": 1, "reason": reason} if {
	mode == "packages"
	count(groups.elevated) > 1
	reason := sprintf("elevated groups: %s", [concat(",", sort([g | some g in groups.elevated]))])
}
