# Tests for main.rego: read-only actions, global guards, risk, obligations and masking.
package tollgate

# --- read-only -------------------------------------------------------------------------------

test_dataset_read_is_allowed_without_intent if {
	inp := fx_input({"context": {"intent": ""}})
	fx_effect(inp) == "ALLOW"
	count(fx_obligations(inp)) == 0
	fx_risk(inp) == "low"
}

test_list_and_describe_are_allowed_everywhere if {
	fx_effect(fx_req("infra.describe", {}, {"type": "database", "id": "orders"}, "prod")) == "ALLOW"
	fx_effect(fx_req("secret.list", {}, {"type": "secret", "id": "prod/payments"}, "prod")) == "ALLOW"
	fx_effect(fx_req("apikey.describe", {}, {"type": "apikey", "id": "key-1"}, "prod")) == "ALLOW"
}

test_reads_are_allowed_in_unknown_environments if {
	fx_effect(fx_req("dataset.get", {}, {"type": "dataset", "id": "x"}, "qa")) == "ALLOW"
}

test_reads_of_unlisted_or_look_alike_types_are_not_covered if {
	# A Cyrillic "ѕ" (U+0455) in place of the Latin "s".
	lookalike := fx_req("dataset.read", {}, {"type": "\u0455ecret", "id": "prod/payments"}, "dev")
	fx_deny(lookalike) == {"dataset.read: resource type \"\u0455ecret\" is not covered by this policy (readable types are listed in readable_resource_types)"}
	fx_effect(lookalike) == "DENY"
	fx_effect(fx_req("secrets.list", {}, {"type": "secrets", "id": "x"}, "dev")) == "DENY"
	fx_effect(fx_req("widget.get", {}, {"type": "widget", "id": "x"}, "dev")) == "DENY"
	fx_effect(fx_req("dataset.read", {}, {"type": "dataset", "id": "x"}, "dev")) == "ALLOW"
}

test_credential_content_only_through_secret_read if {
	inp := fx_req("apikey.get", {}, {"type": "apikey", "id": "key-1"}, "prod")
	fx_deny(inp) == {"apikey.get: the content of apikey resources is only released through secret.read"}
	fx_effect(inp) == "DENY"
}

test_content_verb_in_secret_namespace_is_not_read_only if {
	inp := fx_req("secret.get", {}, {"type": "secret", "id": "dev/x"}, "dev")
	"secret.get: the content of secret resources is only released through secret.read" in fx_deny(inp)
}

test_unknown_action_is_denied_saying_it_is_not_covered if {
	inp := fx_req("db.drop", {"table": "users"}, {"type": "database", "id": "orders"}, "dev")
	fx_deny(inp) == {"action \"db.drop\" is not covered by this policy: no rule governs it"}
	count(fx_approval(inp)) == 0
	fx_allow(inp) == false
	fx_effect(inp) == "DENY"
	count(fx_obligations(inp)) == 0
}

test_verb_and_namespace_parsing if {
	namespace == "iam" with input as fx_req("iam.role.grant", {}, {"type": "role"}, "dev")
	verb == "grant" with input as fx_req("iam.role.grant", {}, {"type": "role"}, "dev")
	verb == "read" with input as fx_req("read", {}, {"type": "x"}, "dev")
}

# --- global guards ---------------------------------------------------------------------------

test_suspended_subject_is_denied_even_reads if {
	inp := fx_input({"subject": {"id": "agent:quarantined-bot"}})
	fx_deny(inp) == {"subject agent:quarantined-bot is suspended: credentials leaked in INC-4711"}
}

test_privileged_action_needs_intent if {
	inp := fx_input({
		"action": {"name": "infra.create", "params": {"estimated_monthly_cost_usd": 10}},
		"resource": {"type": "vm", "id": "build-1"},
		"context": {"environment": "dev", "intent": "   fix    "},
	})
	fx_deny(inp) == {"privileged actions require a stated intent of at least 10 characters (context.intent)"}
}

test_unknown_actions_also_need_intent if {
	inp := fx_input({"action": {"name": "db.drop"}, "context": {"intent": ""}})
	"privileged actions require a stated intent of at least 10 characters (context.intent)" in fx_deny(inp)
}

test_agent_without_owner_is_denied if {
	inp := fx_input({
		"subject": {"owner": ""},
		"action": {"name": "infra.create", "params": {"estimated_monthly_cost_usd": 10}},
		"resource": {"type": "vm", "id": "build-1"},
		"context": {"environment": "dev"},
	})
	fx_deny(inp) == {"agent subject agent:billing-exporter has no accountable owner (subject.owner)"}
}

test_user_without_owner_is_fine if {
	inp := fx_input({
		"subject": fx_user,
		"action": {"name": "infra.create", "params": {"estimated_monthly_cost_usd": 10}},
		"resource": {"type": "vm", "id": "build-1"},
		"context": {"environment": "dev"},
	})
	fx_effect(inp) == "ALLOW"
}

test_unknown_environment_is_denied if {
	inp := fx_req("infra.create", {"estimated_monthly_cost_usd": 10}, {"type": "vm", "id": "b"}, "qa")
	fx_deny(inp) == {"unknown environment \"qa\" (context.environment)"}
}

test_missing_environment_is_production if {
	inp := fx_req("infra.create", {"estimated_monthly_cost_usd": 10}, {"type": "vm", "id": "b"}, "")
	environment == "prod" with input as inp
	production with input as inp
	fx_reasons(inp) == {"creating vm \"b\" in production needs SRE approval"}
}

fx_owned_by(owner) := fx_input({"resource": {"attributes": {"owner": owner}}})

# --- acts_for_owner --------------------------------------------------------------------------

test_acts_for_owner_by_team_group_or_security if {
	acts_for_owner with input as fx_owned_by("team:growth")
	acts_for_owner with input as object.union(fx_owned_by("team:payments"), {"subject": fx_user})
	acts_for_owner with input as object.union(fx_owned_by("team:other"), {"subject": {"groups": ["security"]}})
	not acts_for_owner with input as fx_owned_by("team:other")
	not acts_for_owner with input as fx_base
}

# --- risk ------------------------------------------------------------------------------------

test_risk_is_the_highest_requirement_risk if {
	# privileged + org-wide: critical (security) and high (iam-admins)
	inp := fx_req("iam.role.grant", {"principal": "user:carol@example.com", "role": "admin", "scope": "org", "duration": "1h"}, {"type": "role", "id": "admin"}, "dev")
	fx_risk(inp) == "critical"
}

test_risk_levels if {
	fx_risk(fx_req("iam.role.grant", {"principal": "user:c@example.com", "role": "viewer", "scope": "org"}, {"type": "role"}, "dev")) == "high"
	fx_risk(fx_req("iam.role.grant", {"principal": "user:c@example.com", "role": "viewer", "scope": "project:x"}, {"type": "role"}, "prod")) == "medium"
	fx_risk(fx_req("iam.role.grant", {"principal": "user:c@example.com", "role": "viewer", "scope": "project:x"}, {"type": "role"}, "dev")) == "low"
}

# --- obligations -----------------------------------------------------------------------------

test_governed_actions_run_on_a_capability if {
	inp := fx_req("infra.create", {"estimated_monthly_cost_usd": 10}, {"type": "vm", "id": "b"}, "dev")
	fx_obligations(inp) == {{"type": "capability"}}
}

test_critical_risk_notifies_security if {
	inp := fx_req("infra.destroy", {}, {"type": "vm", "id": "web-1"}, "prod")
	fx_obligations(inp) == {{"type": "capability"}, {"type": "notify", "channel": "#sec-critical"}}
}

# --- mask ------------------------------------------------------------------------------------

test_mask_secret_looking_keys_everywhere if {
	inp := fx_input({
		"action": {"name": "dataset.read", "params": {"API_KEY": "k", "db_password": "p", "table": "users", "session_id": "s"}},
		"context": {"attributes": {"Authorization": "Bearer x", "ticket": "T-1"}},
		"subject": {"attributes": {"oidc_token": "t", "team": "growth"}},
		"resource": {"attributes": {"private_key_pem": "pem", "classification": "pii"}},
	})
	fx_mask(inp) == {
		"action.params.API_KEY",
		"action.params.db_password",
		"action.params.session_id",
		"context.attributes.Authorization",
		"subject.attributes.oidc_token",
		"resource.attributes.private_key_pem",
	}
}

test_mask_secret_payloads_on_secret_actions_only if {
	fx_mask(fx_req("secret.move", {"value": "s3cr3t", "dest": "vault://x"}, {"type": "secret", "id": "a"}, "dev")) == {"action.params.value"}
	count(fx_mask(fx_req("infra.create", {"value": 3}, {"type": "vm", "id": "a"}, "dev"))) == 0
}

test_nothing_to_mask if {
	count(fx_mask(fx_base)) == 0
	count(fx_mask(fx_input({"action": {"params": {"table": "users", "key_id": "k-1", "rows": 3}}}))) == 0
}

test_mask_key_suffixes if {
	m := fx_mask(fx_input({"action": {"params": {"secret_key": 1, "x-api-key": 2, "client_secret": 3, "github_token": 4, "aws_secret_access_key": 5, "Cookie": 6}}}))
	m == {
		"action.params.secret_key", "action.params.x-api-key", "action.params.client_secret",
		"action.params.github_token", "action.params.aws_secret_access_key", "action.params.Cookie",
	}
}
