# Fixtures shared by the *_test.rego files. Nothing here is reachable from the contract rules,
# so the serving path never evaluates it.
package tollgate

# An agent acting for Alice, owned by the growth team.
fx_agent := {
	"id": "agent:billing-exporter",
	"kind": "agent",
	"on_behalf_of": "user:alice@example.com",
	"owner": "team:growth",
	"groups": ["exporters"],
	"attributes": {},
}

# A human engineer on the payments team.
fx_user := {
	"id": "user:bob@example.com",
	"kind": "user",
	"on_behalf_of": "",
	"owner": "",
	"groups": ["team:payments"],
	"attributes": {},
}

fx_base := {
	"subject": fx_agent,
	"action": {"name": "dataset.read", "params": {}},
	"resource": {"type": "dataset", "id": "users-eu", "attributes": {}},
	"context": {
		"intent": "quarterly churn analysis requested in TICKET-812",
		"environment": "prod",
		"request_id": "t-1",
		"attributes": {},
	},
}

# fx_input deep-merges overrides into the base request.
fx_input(overrides) := object.union(fx_base, overrides)

# fx_req builds a request for action `name` with `params` on `resource` in environment `env`.
fx_req(name, params, resource, env) := fx_input({
	"action": {"name": name, "params": params},
	"resource": resource,
	"context": {"environment": env},
})

fx_deny(inp) := d if {
	d := deny with input as inp
}

fx_approval(inp) := a if {
	a := approval with input as inp
}

fx_allow(inp) := a if {
	a := allow with input as inp
}

fx_risk(inp) := r if {
	r := risk with input as inp
}

fx_obligations(inp) := o if {
	o := obligations with input as inp
}

fx_mask(inp) := m if {
	m := mask with input as inp
}

# fx_effect combines the rules exactly as the service does.
fx_effect(inp) := "DENY" if {
	count(fx_deny(inp)) > 0
} else := "PENDING_APPROVAL" if {
	count(fx_approval(inp)) > 0
} else := "ALLOW" if {
	fx_allow(inp) == true
} else := "DENY"

# fx_reqs summarises the approval requirements as {groups, quorum, risk, step_up}.
fx_reqs(inp) := {{"groups": r.groups, "quorum": r.quorum, "risk": r.risk, "step_up": r.step_up} |
	some r in fx_approval(inp)
}

fx_reasons(inp) := {r.reason | some r in fx_approval(inp)}

fx_req_shape(groups, quorum, risk, step_up) := {"groups": groups, "quorum": quorum, "risk": risk, "step_up": step_up}
