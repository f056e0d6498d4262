# Infrastructure: infra.create and infra.destroy.
#
# Request shape:
#   resource.type                    e.g. "database", "bucket", "vm", "cluster"
#   resource.id                      the single resource (destroy: wildcards refused)
#   resource.attributes.deletion_protection   destroy: true blocks it outright
#   resource.attributes.backup_verified       destroy: stateful prod resources need true
#   action.params.estimated_monthly_cost_usd  create: required, non-negative number
#   action.params.public                      create: true exposes it to the internet
#
# Outcome (create):
#   deny      no cost estimate; cost over the hard limit; public stateful resources
#   approval  production: SRE (medium); over the environment's monthly budget: FinOps (medium)
#   allow     non-production within budget
# Outcome (destroy):
#   deny      no concrete resource id (bulk/wildcard); deletion protection; stateful production
#             resource without a verified backup
#   approval  production: SRE quorum 2 with step-up (critical);
#             stateful resource in a shared non-production environment (staging): SRE (medium)
#   allow     everything else (dev), on a single-use capability
package tollgate

import data.tollgate.lib

# Entry points, reached through the routing in main.rego. Nothing below is evaluated unless
# the action is infra.create or infra.destroy.
action_denials contains reason if {
	action == "infra.create"
	some reason in infra_create_denials
}

action_denials contains reason if {
	action == "infra.destroy"
	some reason in infra_destroy_denials
}

action_approvals contains requirement if {
	action == "infra.create"
	some requirement in infra_create_approvals
}

action_approvals contains requirement if {
	action == "infra.destroy"
	some requirement in infra_destroy_approvals
}

action_allowed if {
	action == "infra.create"
	infra_cost
}

action_allowed if {
	action == "infra.destroy"
	infra_concrete_id
}

infra_cfg := cfg.infra

infra_stateful if infra_cfg.stateful_types[input.resource.type]

# A single named resource: no empty id, no wildcard or glob.
infra_concrete_id if {
	id := input.resource.id
	id != ""
	not contains(id, "*")
	not contains(id, "?")
}

# Flags that make the action more dangerous (or protect the resource) are read the cautious
# way: present and not explicitly false or null counts as set ("true", 1 or "yes" included).
infra_public if {
	v := params.public
	v != false
	v != null
}

infra_deletion_protected if {
	v := input.resource.attributes.deletion_protection
	v != false
	v != null
}

infra_cost := c if {
	c := params.estimated_monthly_cost_usd
	is_number(c)
	c >= 0
}

# --- infra.create ----------------------------------------------------------------------------

infra_create_denials contains "infra.create: params.estimated_monthly_cost_usd is required (a non-negative number)" if {
	not infra_cost
}

infra_create_denials contains sprintf("infra.create: estimated cost %v USD/month exceeds the hard limit of %v USD/month", [infra_cost, infra_cfg.hard_limit_usd]) if {
	infra_cost > infra_cfg.hard_limit_usd
}

infra_create_denials contains sprintf("infra.create: %s resources may not be publicly accessible (params.public)", [input.resource.type]) if {
	infra_public
	infra_stateful
}

infra_create_approvals contains lib.requirement(
	[cfg.groups.sre], 1, "medium", false,
	sprintf("creating %s %q in production needs SRE approval", [input.resource.type, input.resource.id]),
) if {
	production
}

infra_create_approvals contains lib.requirement(
	[cfg.groups.finops], 1, "medium", false,
	sprintf("estimated cost %v USD/month exceeds the %s budget of %v USD/month; FinOps must approve", [infra_cost, environment, budget]),
) if {
	budget := infra_cfg.monthly_budget_usd[environment]
	infra_cost > budget
}

# --- infra.destroy ---------------------------------------------------------------------------

infra_destroy_denials contains sprintf("infra.destroy: a single concrete resource.id is required (got %q); bulk or wildcard destroys are refused", [input.resource.id]) if {
	not infra_concrete_id
}

infra_destroy_denials contains sprintf("infra.destroy: %s %q has deletion protection enabled; remove it through a reviewed change first", [input.resource.type, input.resource.id]) if {
	infra_deletion_protected
}

infra_destroy_denials contains sprintf("infra.destroy: %s %q holds state and has no verified backup (resource.attributes.backup_verified)", [input.resource.type, input.resource.id]) if {
	production
	infra_stateful
	not input.resource.attributes.backup_verified == true
}

infra_destroy_approvals contains lib.requirement(
	[cfg.groups.sre], 2, "critical", true,
	sprintf("destroying %s %q in production needs two SRE approvers with step-up", [input.resource.type, input.resource.id]),
) if {
	production
}

infra_destroy_approvals contains lib.requirement(
	[cfg.groups.sre], 1, "medium", false,
	sprintf("destroying stateful %s %q in shared environment %s needs SRE approval", [input.resource.type, input.resource.id, environment]),
) if {
	not production
	cfg.environments[environment].shared == true
	infra_stateful
}
