# apikey.regenerate: issuing a new secret for an existing API key.
#
# Request shape:
#   resource.type = "apikey", resource.id = the key id
#   resource.attributes.owner      team that owns the key, e.g. "team:payments"
#   action.params.revoke_old       true to revoke the current key
#   action.params.grace_period     Go duration the old key keeps working, e.g. "24h"
#
# Outcome:
#   deny      key without a recorded owner; subject that does not act for the owner
#   approval  production: security (high); production with immediate revocation of the old
#             key (no grace period): + SRE (high), because live clients break
#   allow     outside production, by the owning team (on a single-use capability)
package tollgate

import data.tollgate.lib

# Entry points, reached through the routing in main.rego. Nothing below is evaluated unless
# the action is apikey.regenerate.
action_denials contains reason if {
	action == "apikey.regenerate"
	some reason in apikey_denials
}

action_approvals contains requirement if {
	action == "apikey.regenerate"
	some requirement in apikey_approvals
}

action_allowed if {
	action == "apikey.regenerate"
	apikey_allowed
}

apikey_denials contains sprintf("apikey.regenerate: key %q has no recorded owner (resource.attributes.owner)", [input.resource.id]) if not resource_owner

# Only the owning team's automation (or security) rotates a key: anyone else rotating it is
# either a mistake or a takeover.
apikey_denials contains sprintf("apikey.regenerate: key %q is owned by %s; %s may not regenerate it", [input.resource.id, resource_owner, input.subject.id]) if {
	not acts_for_owner
}

apikey_approvals contains lib.requirement(
	[cfg.groups.security], 1, "high", false,
	sprintf("regenerating production API key %q needs security approval", [input.resource.id]),
) if production

apikey_approvals contains lib.requirement(
	[cfg.groups.sre], 1, "high", false,
	sprintf("revoking production API key %q without a grace period breaks live clients; SRE must approve", [input.resource.id]),
) if {
	production
	apikey_revokes_old
	not apikey_grace_period
}

# Flags that make the action more dangerous are read the cautious way: present and not
# explicitly false or null counts as set ("true", 1 or "yes" included).
apikey_revokes_old if {
	v := params.revoke_old
	v != false
	v != null
}

# A grace period is a positive duration.
apikey_grace_period if lib.duration_ns(params.grace_period) > 0

apikey_allowed if resource_owner
