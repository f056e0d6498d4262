# Tests for iam.rego (iam.role.grant, iam.policy.attach).
package tollgate

fx_grant(params, env) := fx_req("iam.role.grant", params, {"type": "role", "id": "r"}, env)

fx_attach(params, env) := fx_req("iam.policy.attach", params, {"type": "policy", "id": "p"}, env)

fx_carol := "user:carol@example.com"

fx_self_reason(p) := sprintf("iam.role.grant: agent:billing-exporter may not grant access to itself, its owner, its groups or the user it acts for (%s)", [p])

# --- deny ------------------------------------------------------------------------------------

test_iam_principal_and_object_required if {
	fx_deny(fx_grant({"role": "viewer", "scope": "project:x"}, "dev")) == {"iam.role.grant: params.principal and params.role are required"}
	fx_deny(fx_grant({"principal": fx_carol, "scope": "project:x"}, "dev")) == {"iam.role.grant: params.principal and params.role are required"}
	fx_deny(fx_attach({"principal": fx_carol, "scope": "project:x"}, "dev")) == {"iam.policy.attach: params.principal and params.policy are required"}
	fx_deny(fx_grant({"principal": 7, "role": "viewer", "scope": "project:x"}, "dev")) == {"iam.role.grant: params.principal and params.role are required"}
}

test_iam_no_self_escalation if {
	fx_deny(fx_grant({"principal": "agent:billing-exporter", "role": "viewer", "scope": "project:x"}, "dev")) == {fx_self_reason("agent:billing-exporter")}
	fx_deny(fx_grant({"principal": "user:alice@example.com", "role": "viewer", "scope": "project:x"}, "dev")) == {fx_self_reason("user:alice@example.com")}
	fx_deny(fx_grant({"principal": "team:growth", "role": "viewer", "scope": "project:x"}, "dev")) == {fx_self_reason("team:growth")}
	fx_deny(fx_grant({"principal": "group:exporters", "role": "viewer", "scope": "project:x"}, "dev")) == {fx_self_reason("group:exporters")}
	fx_deny(fx_grant({"principal": "exporters", "role": "viewer", "scope": "project:x"}, "dev")) == {fx_self_reason("exporters")}
}

test_iam_no_public_principals if {
	fx_deny(fx_grant({"principal": "allUsers", "role": "viewer", "scope": "project:x"}, "dev")) == {"iam.role.grant: access may not be granted to the public principal \"allUsers\""}
}

test_iam_privileged_access_is_time_bound if {
	reason := "iam.role.grant: privileged access (admin) must be time-bound: params.duration between 1s and 8h"
	fx_deny(fx_grant({"principal": fx_carol, "role": "admin", "scope": "project:x"}, "dev")) == {reason}
	fx_deny(fx_grant({"principal": fx_carol, "role": "admin", "scope": "project:x", "duration": "12h"}, "dev")) == {reason}
	fx_deny(fx_grant({"principal": fx_carol, "role": "admin", "scope": "project:x", "duration": "0s"}, "dev")) == {reason}
	fx_deny(fx_grant({"principal": fx_carol, "role": "admin", "scope": "project:x", "duration": "forever"}, "dev")) == {reason}
	count(fx_deny(fx_grant({"principal": fx_carol, "role": "admin", "scope": "project:x", "duration": "7h30m"}, "dev"))) == 0
}

test_iam_role_names_are_normalised if {
	iam_privileged with input as fx_grant({"principal": fx_carol, "role": "roles/owner"}, "dev")
	iam_privileged with input as fx_grant({"principal": fx_carol, "role": "billing-admin"}, "dev")
	iam_privileged with input as fx_grant({"principal": fx_carol, "role": "roles/storage.objectAdmin"}, "dev")
	not iam_privileged with input as fx_grant({"principal": fx_carol, "role": "roles/viewer"}, "dev")
}

test_iam_no_org_wide_privilege_for_automation if {
	inp := fx_grant({"principal": "service:ci-runner", "role": "admin", "scope": "org", "duration": "1h"}, "dev")
	fx_deny(inp) == {"iam.role.grant: privileged access (admin) at scope \"org\" may not be granted to non-human principal service:ci-runner"}
}

test_iam_full_admin_documents_are_denied if {
	inp := fx_attach({
		"principal": fx_carol, "policy": "break-glass", "scope": "project:x", "duration": "1h",
		"document": {"statements": [{"actions": "*", "resources": ["*"]}]},
	}, "dev")
	"iam.policy.attach: policy \"break-glass\" grants every action on every resource (\"*\" on \"*\"); attach a scoped policy" in fx_deny(inp)
}

# --- approval --------------------------------------------------------------------------------

test_iam_privileged_role_needs_two_security_approvers if {
	inp := fx_grant({"principal": fx_carol, "role": "admin", "scope": "project:x", "duration": "4h"}, "dev")
	fx_reqs(inp) == {fx_req_shape(["security"], 2, "critical", true)}
	fx_reasons(inp) == {"iam.role.grant of privileged access (admin) to user:carol@example.com needs two security approvers with step-up"}
}

test_iam_privileged_policy_needs_two_security_approvers if {
	fx_reqs(fx_attach({"principal": fx_carol, "policy": "AdministratorAccess", "scope": "project:x", "duration": "1h"}, "prod")) == {fx_req_shape(["security"], 2, "critical", true)}
}

test_iam_wildcard_statement_is_privileged if {
	inp := fx_attach({
		"principal": fx_carol, "policy": "s3-all", "scope": "project:x", "duration": "1h",
		"document": {"statements": [{"actions": ["s3:*"], "resources": ["arn:aws:s3:::logs/*"]}]},
	}, "dev")
	fx_reqs(inp) == {fx_req_shape(["security"], 2, "critical", true)}
	count(fx_deny(inp)) == 0
}

test_iam_wide_scope_needs_iam_admins if {
	inp := fx_grant({"principal": fx_carol, "role": "viewer", "scope": "org"}, "dev")
	fx_reqs(inp) == {fx_req_shape(["iam-admins"], 1, "high", false)}
	fx_reasons(inp) == {"iam.role.grant at organisation-wide scope \"org\" needs iam-admins approval"}
}

test_iam_missing_scope_is_the_widest if {
	fx_reasons(fx_grant({"principal": fx_carol, "role": "viewer"}, "dev")) == {"iam.role.grant at organisation-wide scope \"*\" needs iam-admins approval"}
}

test_iam_privileged_and_wide_needs_both if {
	inp := fx_grant({"principal": fx_carol, "role": "admin", "scope": "org", "duration": "1h"}, "dev")
	fx_reqs(inp) == {fx_req_shape(["security"], 2, "critical", true), fx_req_shape(["iam-admins"], 1, "high", false)}
}

test_iam_production_grant_needs_iam_admins if {
	inp := fx_grant({"principal": fx_carol, "role": "viewer", "scope": "project:billing"}, "prod")
	fx_reqs(inp) == {fx_req_shape(["iam-admins"], 1, "medium", false)}
	fx_reasons(inp) == {"iam.role.grant of viewer to user:carol@example.com in prod needs iam-admins approval"}
}

# --- allow -----------------------------------------------------------------------------------

test_iam_narrow_grant_outside_production_is_allowed if {
	inp := fx_grant({"principal": fx_carol, "role": "viewer", "scope": "project:billing"}, "staging")
	fx_effect(inp) == "ALLOW"
	fx_obligations(inp) == {{"type": "capability"}}
	fx_effect(fx_attach({"principal": fx_carol, "policy": "ReadOnlyLogs", "scope": "project:x"}, "dev")) == "ALLOW"
}
