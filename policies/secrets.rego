# Secrets: secret.read (release a secret's value) and secret.move (copy it to another store
# or environment). Listing and describing secrets is metadata and allowed in main.rego.
#
# Request shape:
#   resource.type = "secret" (or another type in secret_resource_types), resource.id = path
#   resource.attributes.owner         owning team, e.g. "team:payments"
#   resource.attributes.environment   environment the secret belongs to; missing = production
#   action.params.dest                secret.move: target URI in an approved store (vault://...)
#   action.params.dest_environment    secret.move: environment of the target
#
# Outcome:
#   deny      not a secret resource; no recorded owner; subject does not act for the owner;
#             production secret read from a non-production context; move to an unapproved
#             store, an unknown environment, or from production to a lower environment
#   approval  read of a production secret: security (high);
#             move of a production secret: security quorum 2 with step-up (critical);
#             move of any other secret: security (medium)
#   allow     read of a non-production secret by its owner, on a single-use capability
package tollgate

import data.tollgate.lib

# Entry points, reached through the routing in main.rego. Nothing below is evaluated unless
# the action is secret.read or secret.move.
action_denials contains reason if {
	secret_action
	some reason in secret_denials
}

action_approvals contains requirement if {
	secret_action
	some requirement in secret_approvals
}

action_allowed if {
	secret_action
	resource_owner
}

secret_action if action in {"secret.read", "secret.move"}

# The environment a secret belongs to; undeclared is treated as production.
secret_environment := e if {
	e := input.resource.attributes.environment
	is_string(e)
	e != ""
} else := cfg.default_environment

# Anything not known to be non-production is production.
secret_production if not cfg.environments[secret_environment].production == false

secret_dest := object.get(params, "dest", "")

secret_dest_environment := object.get(params, "dest_environment", "")

# --- deny (both actions) ---------------------------------------------------------------------

secret_denials contains sprintf("%s: resource type %q is not a secret", [action, input.resource.type]) if {
	not cfg.secret_resource_types[input.resource.type]
}

secret_denials contains sprintf("%s: secret %q has no recorded owner (resource.attributes.owner)", [action, input.resource.id]) if {
	not resource_owner
}

secret_denials contains sprintf("%s: secret %q is owned by %s; %s may not access it", [action, input.resource.id, resource_owner, input.subject.id]) if {
	not acts_for_owner
}

# --- secret.read -----------------------------------------------------------------------------

# Production credentials are only used from production: no pulling them onto a laptop or
# into a staging job.
secret_denials contains sprintf("secret.read: production secret %q may not be read from %s", [input.resource.id, environment]) if {
	action == "secret.read"
	secret_production
	not production
}

secret_approvals contains lib.requirement(
	[cfg.groups.security], 1, "high", false,
	sprintf("reading production secret %q needs security approval", [input.resource.id]),
) if {
	action == "secret.read"
	secret_production
}

# --- secret.move -----------------------------------------------------------------------------

secret_denials contains sprintf("secret.move: destination %s is not an approved secret store", [json.marshal(secret_dest)]) if {
	action == "secret.move"
	not secret_dest_approved
}

secret_dest_approved if {
	is_string(secret_dest)
	secret_dest != ""
	strings.any_prefix_match(secret_dest, cfg.secrets.approved_stores)
}

secret_denials contains sprintf("secret.move: params.dest_environment %s is not a known environment", [json.marshal(secret_dest_environment)]) if {
	action == "secret.move"
	not cfg.environments[secret_dest_environment]
}

secret_denials contains sprintf("secret.move: production secret %q may not be moved to non-production environment %s", [input.resource.id, secret_dest_environment]) if {
	action == "secret.move"
	secret_production
	cfg.environments[secret_dest_environment].production == false
}

secret_approvals contains lib.requirement(
	[cfg.groups.security], 2, "critical", true,
	sprintf("moving production secret %q needs two security approvers with step-up", [input.resource.id]),
) if {
	action == "secret.move"
	secret_production
}

secret_approvals contains lib.requirement(
	[cfg.groups.security], 1, "medium", false,
	sprintf("moving secret %q needs security approval", [input.resource.id]),
) if {
	action == "secret.move"
	not secret_production
}
