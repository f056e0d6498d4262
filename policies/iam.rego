# IAM: granting roles (iam.role.grant) and attaching policies (iam.policy.attach).
#
# Request shape:
#   action.params.principal   who receives the access, e.g. "user:bob@example.com", "agent:x"
#   action.params.role        iam.role.grant: role name, e.g. "viewer" or "roles/admin"
#   action.params.policy      iam.policy.attach: policy name, e.g. "AdministratorAccess"
#   action.params.document    iam.policy.attach, optional inline policy:
#                             {"statements": [{"actions": ["s3:GetObject"], "resources": ["*"]}]}
#   action.params.scope       where the access applies, e.g. "project:billing"; missing = "*"
#   action.params.duration    Go duration for time-bound access, e.g. "4h"
#
# Outcome:
#   deny      missing principal/role/policy; granting to oneself, one's owner, one's groups or
#             the user one acts for (self-escalation); public principals; privileged access that
#             is not time-bound (at most max_privileged_duration); privileged access at
#             org-wide scope to automation; inline documents granting "*" on "*"
#   approval  privileged role/policy: security quorum 2 with step-up (critical);
#             organisation-wide scope: iam-admins (high);
#             any other grant in production: iam-admins (medium)
#   allow     narrow, non-privileged, time-unrestricted grants outside production
package tollgate

import data.tollgate.lib

# Entry points, reached through the routing in main.rego. Nothing below is evaluated unless
# the action is iam.role.grant or iam.policy.attach.
action_denials contains reason if {
	iam_action
	some reason in iam_denials
}

action_approvals contains requirement if {
	iam_action
	some requirement in iam_approvals
}

action_allowed if {
	iam_action
	iam_complete
}

iam_cfg := cfg.iam

iam_action if action in {"iam.role.grant", "iam.policy.attach"}

# The parameter naming what is granted, per action.
iam_object_param := {"iam.role.grant": "role", "iam.policy.attach": "policy"}[action]

iam_principal := p if {
	p := params.principal
	is_string(p)
	p != ""
}

# The role or policy being granted.
iam_object := o if {
	o := params[iam_object_param]
	is_string(o)
	o != ""
}

# A missing scope is read as the widest one: the request must say how narrow it is.
iam_scope := s if {
	s := params.scope
	is_string(s)
	s != ""
} else := "*"

iam_wide_scope if iam_cfg.wide_scopes[iam_scope]

# "roles/Admin" and "admin" name the same role.
iam_role_base := base if {
	action == "iam.role.grant"
	parts := split(lower(iam_object), "/")
	base := parts[count(parts) - 1]
}

# --- what counts as privileged ---------------------------------------------------------------

iam_privileged if iam_cfg.privileged_roles[iam_role_base]

iam_privileged if endswith(iam_role_base, "admin")

iam_privileged if {
	action == "iam.policy.attach"
	iam_cfg.privileged_policies[iam_object]
}

# Inline statements with a service-wide wildcard ("s3:*", "*") are privileged.
iam_privileged if {
	some st in iam_statements
	some a in iam_list(st, "actions")
	is_string(a)
	endswith(a, "*")
}

iam_statements := s if {
	action == "iam.policy.attach"
	s := params.document.statements
	is_array(s)
}

# A statement field as an array; a lone string counts as a one-element list.
iam_list(st, field) := v if {
	is_object(st)
	v := st[field]
	is_array(v)
}

iam_list(st, field) := [v] if {
	is_object(st)
	v := st[field]
	is_string(v)
}

iam_full_admin if {
	some st in iam_statements
	"*" in iam_list(st, "actions")
	"*" in iam_list(st, "resources")
}

iam_duration_ok if {
	d := lib.duration_ns(params.duration)
	d > 0
	d <= time.parse_duration_ns(iam_cfg.max_privileged_duration)
}

# The identities a subject could escalate through: itself, its accountable owner, the human
# it acts for and the groups it belongs to (by bare name and as "group:<name>").
iam_self contains input.subject.id

iam_self contains g if some g in input.subject.groups

iam_self contains concat(":", ["group", g]) if some g in input.subject.groups

iam_self contains input.subject.owner if input.subject.owner != ""

iam_self contains input.subject.on_behalf_of if input.subject.on_behalf_of != ""

# --- deny ------------------------------------------------------------------------------------

iam_denials contains sprintf("%s: params.principal and params.%s are required", [action, iam_object_param]) if {
	not iam_complete
}

iam_complete if {
	iam_principal
	iam_object
}

iam_denials contains sprintf("%s: %s may not grant access to itself, its owner, its groups or the user it acts for (%s)", [action, input.subject.id, iam_principal]) if {
	iam_principal in iam_self
}

iam_denials contains sprintf("%s: access may not be granted to the public principal %q", [action, iam_principal]) if {
	iam_cfg.public_principals[iam_principal]
}

# Zero standing privilege: admin-class access expires on its own.
iam_denials contains sprintf("%s: privileged access (%s) must be time-bound: params.duration between 1s and %s", [action, iam_object, iam_cfg.max_privileged_duration]) if {
	iam_privileged
	not iam_duration_ok
}

# Automation holding admin over the whole organisation is the blast radius we exist to prevent.
iam_denials contains sprintf("%s: privileged access (%s) at scope %q may not be granted to non-human principal %s", [action, iam_object, iam_scope, iam_principal]) if {
	iam_privileged
	iam_wide_scope
	lib.non_human_kinds[lib.principal_kind(iam_principal)]
}

iam_denials contains sprintf("iam.policy.attach: policy %s grants every action on every resource (\"*\" on \"*\"); attach a scoped policy", [json.marshal(object.get(params, "policy", "inline"))]) if {
	iam_full_admin
}

# --- approval --------------------------------------------------------------------------------

iam_approvals contains lib.requirement(
	[cfg.groups.security], 2, "critical", true,
	sprintf("%s of privileged access (%s) to %s needs two security approvers with step-up", [action, iam_object, iam_principal]),
) if {
	iam_privileged
	iam_complete
}

iam_approvals contains lib.requirement(
	[cfg.groups.iam_admins], 1, "high", false,
	sprintf("%s at organisation-wide scope %q needs iam-admins approval", [action, iam_scope]),
) if {
	iam_complete
	iam_wide_scope
}

iam_approvals contains lib.requirement(
	[cfg.groups.iam_admins], 1, "medium", false,
	sprintf("%s of %s to %s in %s needs iam-admins approval", [action, iam_object, iam_principal, environment]),
) if {
	iam_complete
	production
	not iam_privileged
	not iam_wide_scope
}

