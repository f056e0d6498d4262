# Tests for infra.rego (infra.create, infra.destroy).
package tollgate

fx_create(cost, type, env) := fx_req("infra.create", {"estimated_monthly_cost_usd": cost}, {"type": type, "id": "new-1"}, env)

fx_destroy(type, id, attrs, env) := fx_req("infra.destroy", {}, {"type": type, "id": id, "attributes": attrs}, env)

# --- infra.create ----------------------------------------------------------------------------

test_create_needs_a_cost_estimate if {
	reason := "infra.create: params.estimated_monthly_cost_usd is required (a non-negative number)"
	fx_deny(fx_req("infra.create", {}, {"type": "vm", "id": "a"}, "dev")) == {reason}
	fx_deny(fx_create(-5, "vm", "dev")) == {reason}
	fx_deny(fx_create("cheap", "vm", "dev")) == {reason}
}

test_create_hard_cost_limit if {
	fx_deny(fx_create(100001, "cluster", "dev")) == {"infra.create: estimated cost 100001 USD/month exceeds the hard limit of 100000 USD/month"}
}

test_create_no_public_stateful_resources if {
	inp := fx_req("infra.create", {"estimated_monthly_cost_usd": 10, "public": true}, {"type": "database", "id": "a"}, "dev")
	fx_deny(inp) == {"infra.create: database resources may not be publicly accessible (params.public)"}
	fx_effect(fx_req("infra.create", {"estimated_monthly_cost_usd": 10, "public": true}, {"type": "vm", "id": "a"}, "dev")) == "ALLOW"
	"infra.create: bucket resources may not be publicly accessible (params.public)" in fx_deny(fx_req("infra.create", {"estimated_monthly_cost_usd": 10, "public": "true"}, {"type": "bucket", "id": "a"}, "dev"))
	fx_effect(fx_req("infra.create", {"estimated_monthly_cost_usd": 10, "public": false}, {"type": "bucket", "id": "a"}, "dev")) == "ALLOW"
}

test_create_in_production_needs_sre if {
	inp := fx_create(100, "vm", "prod")
	fx_reqs(inp) == {fx_req_shape(["sre"], 1, "medium", false)}
	fx_reasons(inp) == {"creating vm \"new-1\" in production needs SRE approval"}
}

test_create_over_budget_needs_finops if {
	inp := fx_create(2500, "vm", "dev")
	fx_reqs(inp) == {fx_req_shape(["finops"], 1, "medium", false)}
	fx_reasons(inp) == {"estimated cost 2500 USD/month exceeds the dev budget of 2000 USD/month; FinOps must approve"}
	fx_reqs(fx_create(25000, "vm", "prod")) == {fx_req_shape(["sre"], 1, "medium", false), fx_req_shape(["finops"], 1, "medium", false)}
}

test_create_within_budget_outside_production_is_allowed if {
	fx_effect(fx_create(2000, "vm", "dev")) == "ALLOW"
	fx_effect(fx_create(0, "queue", "staging")) == "ALLOW"
}

# --- infra.destroy ---------------------------------------------------------------------------

test_destroy_needs_a_concrete_id if {
	fx_deny(fx_destroy("vm", "web-*", {}, "dev")) == {"infra.destroy: a single concrete resource.id is required (got \"web-*\"); bulk or wildcard destroys are refused"}
	fx_deny(fx_destroy("vm", "", {}, "dev")) == {"infra.destroy: a single concrete resource.id is required (got \"\"); bulk or wildcard destroys are refused"}
}

test_destroy_respects_deletion_protection if {
	reason := "infra.destroy: vm \"web-1\" has deletion protection enabled; remove it through a reviewed change first"
	fx_deny(fx_destroy("vm", "web-1", {"deletion_protection": true}, "dev")) == {reason}
	fx_deny(fx_destroy("vm", "web-1", {"deletion_protection": "yes"}, "dev")) == {reason}
	fx_effect(fx_destroy("vm", "web-1", {"deletion_protection": false}, "dev")) == "ALLOW"
}

test_destroy_stateful_production_needs_verified_backup if {
	reason := "infra.destroy: database \"orders\" holds state and has no verified backup (resource.attributes.backup_verified)"
	fx_deny(fx_destroy("database", "orders", {}, "prod")) == {reason}
	fx_deny(fx_destroy("database", "orders", {"backup_verified": "yes"}, "prod")) == {reason}
	count(fx_deny(fx_destroy("database", "orders", {"backup_verified": true}, "prod"))) == 0
}

test_destroy_production_needs_two_sre_with_step_up if {
	inp := fx_destroy("database", "orders", {"backup_verified": true}, "prod")
	fx_reqs(inp) == {fx_req_shape(["sre"], 2, "critical", true)}
	fx_reasons(inp) == {"destroying database \"orders\" in production needs two SRE approvers with step-up"}
	fx_risk(inp) == "critical"
	fx_obligations(inp) == {{"type": "capability"}, {"type": "notify", "channel": "#sec-critical"}}
}

test_destroy_stateful_in_staging_needs_sre if {
	inp := fx_destroy("bucket", "exports-tmp", {}, "staging")
	fx_reqs(inp) == {fx_req_shape(["sre"], 1, "medium", false)}
	fx_reasons(inp) == {"destroying stateful bucket \"exports-tmp\" in shared environment staging needs SRE approval"}
}

test_destroy_allowed_cases if {
	fx_effect(fx_destroy("vm", "web-1", {}, "staging")) == "ALLOW"
	fx_effect(fx_destroy("database", "scratch", {}, "dev")) == "ALLOW"
	fx_obligations(fx_destroy("vm", "web-1", {}, "dev")) == {{"type": "capability"}}
}
