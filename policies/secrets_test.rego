# Tests for secrets.rego (secret.read, secret.move).
package tollgate

fx_secret(name, params, attrs, env) := fx_req(name, params, {"type": "secret", "id": "payments/stripe", "attributes": attrs}, env)

fx_mine := {"owner": "team:growth", "environment": "prod"}

fx_mine_staging := {"owner": "team:growth", "environment": "staging"}

# --- both actions ----------------------------------------------------------------------------

test_secret_resource_type_must_be_a_secret if {
	inp := fx_req("secret.read", {}, {"type": "dataset", "id": "users", "attributes": {"owner": "team:growth"}}, "prod")
	"secret.read: resource type \"dataset\" is not a secret" in fx_deny(inp)
}

test_secret_needs_a_recorded_owner if {
	fx_deny(fx_secret("secret.read", {}, {"environment": "prod"}, "prod")) == {"secret.read: secret \"payments/stripe\" has no recorded owner (resource.attributes.owner)"}
}

test_secret_only_for_its_owner if {
	fx_deny(fx_secret("secret.read", {}, {"owner": "team:payments", "environment": "prod"}, "prod")) == {"secret.read: secret \"payments/stripe\" is owned by team:payments; agent:billing-exporter may not access it"}
	fx_deny(fx_secret("secret.move", {"dest": "vault://prod/x", "dest_environment": "prod"}, {"owner": "team:payments"}, "prod")) == {"secret.move: secret \"payments/stripe\" is owned by team:payments; agent:billing-exporter may not access it"}
}

# --- secret.read -----------------------------------------------------------------------------

test_secret_read_production_secret_outside_production if {
	fx_deny(fx_secret("secret.read", {}, fx_mine, "staging")) == {"secret.read: production secret \"payments/stripe\" may not be read from staging"}
}

test_secret_without_environment_is_production if {
	fx_deny(fx_secret("secret.read", {}, {"owner": "team:growth"}, "dev")) == {"secret.read: production secret \"payments/stripe\" may not be read from dev"}
	secret_production with input as fx_secret("secret.read", {}, {"owner": "team:growth", "environment": "qa"}, "dev")
}

test_secret_read_production_needs_security if {
	inp := fx_secret("secret.read", {}, fx_mine, "prod")
	fx_reqs(inp) == {fx_req_shape(["security"], 1, "high", false)}
	fx_reasons(inp) == {"reading production secret \"payments/stripe\" needs security approval"}
}

test_secret_read_outside_production_is_allowed_on_a_capability if {
	inp := fx_secret("secret.read", {}, fx_mine_staging, "staging")
	fx_effect(inp) == "ALLOW"
	fx_obligations(inp) == {{"type": "capability"}}
}

# --- secret.move -----------------------------------------------------------------------------

test_secret_move_to_unapproved_store if {
	fx_deny(fx_secret("secret.move", {"dest": "https://pastebin.example/x", "dest_environment": "staging"}, fx_mine_staging, "staging")) == {"secret.move: destination \"https://pastebin.example/x\" is not an approved secret store"}
	fx_deny(fx_secret("secret.move", {"dest_environment": "staging"}, fx_mine_staging, "staging")) == {"secret.move: destination \"\" is not an approved secret store"}
}

test_secret_move_needs_known_destination_environment if {
	fx_deny(fx_secret("secret.move", {"dest": "vault://qa/x"}, fx_mine_staging, "staging")) == {"secret.move: params.dest_environment \"\" is not a known environment"}
	fx_deny(fx_secret("secret.move", {"dest": "vault://qa/x", "dest_environment": "qa"}, fx_mine_staging, "staging")) == {"secret.move: params.dest_environment \"qa\" is not a known environment"}
}

test_secret_move_production_to_lower_environment if {
	fx_deny(fx_secret("secret.move", {"dest": "vault://dev/x", "dest_environment": "dev"}, fx_mine, "prod")) == {"secret.move: production secret \"payments/stripe\" may not be moved to non-production environment dev"}
}

test_secret_move_production_needs_two_security_approvers if {
	inp := fx_secret("secret.move", {"dest": "awssm://prod/payments/stripe", "dest_environment": "prod"}, fx_mine, "prod")
	fx_reqs(inp) == {fx_req_shape(["security"], 2, "critical", true)}
	fx_reasons(inp) == {"moving production secret \"payments/stripe\" needs two security approvers with step-up"}
}

test_secret_move_non_production_needs_security if {
	inp := fx_secret("secret.move", {"dest": "vault://staging/x", "dest_environment": "staging"}, fx_mine_staging, "staging")
	fx_reqs(inp) == {fx_req_shape(["security"], 1, "medium", false)}
	fx_reasons(inp) == {"moving secret \"payments/stripe\" needs security approval"}
}
