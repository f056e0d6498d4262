# A helper package the policy imports: rules across packages, a function and a partial set.
package tollgate_lib.groups

import rego.v1

admins := {"sre", "security"}

is_admin(subject) if {
	some g in subject.groups
	g in admins
}

elevated contains g if {
	some g in input.subject.groups
	g in admins
}
