# Tests for apikey.rego (apikey.regenerate).
package tollgate

fx_rotate(params, owner, env) := fx_req("apikey.regenerate", params, {"type": "apikey", "id": "key-7", "attributes": {"owner": owner}}, env)

# --- deny ------------------------------------------------------------------------------------

test_apikey_needs_a_recorded_owner if {
	inp := fx_req("apikey.regenerate", {}, {"type": "apikey", "id": "key-7"}, "dev")
	fx_deny(inp) == {"apikey.regenerate: key \"key-7\" has no recorded owner (resource.attributes.owner)"}
}

test_apikey_only_the_owner_rotates if {
	fx_deny(fx_rotate({}, "team:payments", "dev")) == {"apikey.regenerate: key \"key-7\" is owned by team:payments; agent:billing-exporter may not regenerate it"}
}

test_apikey_owner_by_group_or_security if {
	fx_effect(fx_input({
		"subject": fx_user,
		"action": {"name": "apikey.regenerate"},
		"resource": {"type": "apikey", "id": "key-7", "attributes": {"owner": "team:payments"}},
		"context": {"environment": "dev"},
	})) == "ALLOW"
	fx_effect(fx_input({
		"subject": {"groups": ["security"]},
		"action": {"name": "apikey.regenerate"},
		"resource": {"type": "apikey", "id": "key-7", "attributes": {"owner": "team:payments"}},
		"context": {"environment": "dev"},
	})) == "ALLOW"
}

# --- approval --------------------------------------------------------------------------------

test_apikey_production_needs_security if {
	inp := fx_rotate({"revoke_old": true, "grace_period": "24h"}, "team:growth", "prod")
	fx_reqs(inp) == {fx_req_shape(["security"], 1, "high", false)}
	fx_reasons(inp) == {"regenerating production API key \"key-7\" needs security approval"}
}

test_apikey_immediate_revocation_needs_sre_too if {
	reqs := {fx_req_shape(["security"], 1, "high", false), fx_req_shape(["sre"], 1, "high", false)}
	fx_reqs(fx_rotate({"revoke_old": true}, "team:growth", "prod")) == reqs
	fx_reqs(fx_rotate({"revoke_old": true, "grace_period": "0s"}, "team:growth", "prod")) == reqs
	fx_reqs(fx_rotate({"revoke_old": true, "grace_period": "soon"}, "team:growth", "prod")) == reqs
	fx_reqs(fx_rotate({"revoke_old": "yes"}, "team:growth", "prod")) == reqs
	"revoking production API key \"key-7\" without a grace period breaks live clients; SRE must approve" in fx_reasons(fx_rotate({"revoke_old": true}, "team:growth", "prod"))
}

test_apikey_keeping_the_old_key_needs_security_only if {
	fx_reqs(fx_rotate({"revoke_old": false}, "team:growth", "prod")) == {fx_req_shape(["security"], 1, "high", false)}
}

# --- allow -----------------------------------------------------------------------------------

test_apikey_outside_production_is_allowed_on_a_capability if {
	inp := fx_rotate({"revoke_old": true}, "team:growth", "staging")
	fx_effect(inp) == "ALLOW"
	fx_obligations(inp) == {{"type": "capability"}}
}
