# tollgate shipped policy: the entry points and the facts every action file shares.
#
# The service reads exactly these rules from package `tollgate` and combines them with
# deny-overrides and default deny:
#
#   deny         set of strings      any member => DENY, with the members as reasons
#   approval     set of objects      any member => PENDING_APPROVAL; every member must be met
#   allow        boolean             true => ALLOW when nothing above applies
#   risk         string              low | medium | high | critical
#   obligations  set of objects      e.g. {"type": "capability"}, {"type": "notify", ...}
#   mask         set of strings      dotted input paths redacted from the audit trail
#
# Design rules for this bundle (keep them when you change it):
#   * Deny by default. An action no file knows about never matches an `allow` body.
#   * Every deny rule asserts the *absence* of a positive fact (`not export_rows_valid`), so
#     a missing or mistyped input field makes the rule fire instead of silently not firing.
#   * No time.now_ns, http.send or randomness: a decision must replay identically against the
#     bundle revision that made it (audit replay).
#   * Stay cheap: every rule body starts with an equality test on the action name, lookups in
#     data use object keys (constant time), and loops only walk small request maps.
package tollgate

import data.tollgate.lib

cfg := data.tollgate_config

# Nothing is allowed unless a rule below says so.
default allow := false

# ---------------------------------------------------------------------------------------------
# Request facts
# ---------------------------------------------------------------------------------------------

action := input.action.name

# Parameters and attributes default to {} so rules never have to care whether a map was sent.
params := object.get(input.action, "params", {})

resource_attrs := object.get(input.resource, "attributes", {})

resource_id := object.get(input.resource, "id", "")

subject_id := object.get(input.subject, "id", "")

subject_groups := object.get(input.subject, "groups", [])

# A request that does not name its environment is treated as production: the unsafe guess
# would be the expensive one.
environment := e if {
	e := input.context.environment
	is_string(e)
	e != ""
} else := cfg.default_environment

environment_known if cfg.environments[environment]

production if cfg.environments[environment].production == true

# Action names are dotted: `<namespace>.<...>.<verb>`, e.g. `iam.role.grant`, `dataset.read`.
action_parts := split(action, ".")

namespace := action_parts[0]

verb := action_parts[count(action_parts) - 1]

# Secrets, API keys and other credentials: their *content* is only released through
# secret.read, which has its own approval rules.
secret_resource if cfg.secret_resource_types[input.resource.type]

secret_resource if namespace == "secret"

# The actions this bundle governs explicitly (everything else that is not read-only is
# denied by default).
governed_actions := {
	"data.export",
	"iam.role.grant",
	"iam.policy.attach",
	"apikey.regenerate",
	"infra.create",
	"infra.destroy",
	"secret.read",
	"secret.move",
}

governed if action in governed_actions

# The subject acts for the owner of a resource when it is owned by the same team, when a
# human is a member of the owning group, or when it belongs to the security team.
acts_for_owner(owner) if input.subject.owner == owner

acts_for_owner(owner) if owner in subject_groups

acts_for_owner(_) if cfg.groups.security in subject_groups

# The recorded owner of the target resource, when it has one.
resource_owner := o if {
	o := resource_attrs.owner
	is_string(o)
	o != ""
}

# ---------------------------------------------------------------------------------------------
# Read-only actions
# ---------------------------------------------------------------------------------------------

# Metadata verbs never return content, so they are allowed on every resource (listing
# secret *names* is fine; reading their values is not).
metadata_verbs := {"list", "describe"}

# Content verbs return data; they are allowed on anything that is not a secret.
content_verbs := {"read", "get"}

read_only if verb in metadata_verbs

read_only if {
	verb in content_verbs
	not secret_resource
}

allow if read_only

# A content read of a credential under any other name (`apikey.get`, `credential.read`)
# would bypass the secret.read approvals.
deny contains sprintf("%s: the content of %s resources is only released through secret.read", [action, input.resource.type]) if {
	verb in content_verbs
	secret_resource
	action != "secret.read"
}

# ---------------------------------------------------------------------------------------------
# Guards on every privileged (non read-only) action
# ---------------------------------------------------------------------------------------------

# A suspended identity (quarantined after an incident) may do nothing, not even read.
deny contains sprintf("subject %s is suspended: %s", [subject_id, note]) if {
	note := cfg.suspended_subjects[subject_id]
}

# Reviewers decide on the stated purpose; "fix" or an empty string is no purpose.
deny contains sprintf("privileged actions require a stated intent of at least %d characters (context.intent)", [cfg.min_intent_length]) if {
	not read_only
	not intent_given
}

intent_given if {
	is_string(input.context.intent)
	count(trim_space(input.context.intent)) >= cfg.min_intent_length
}

# Automation must have an accountable human team: no orphaned agents with privileges.
deny contains sprintf("%s subject %s has no accountable owner (subject.owner)", [input.subject.kind, subject_id]) if {
	not read_only
	lib.non_human_kinds[input.subject.kind]
	not owner_given
}

owner_given if {
	is_string(input.subject.owner)
	input.subject.owner != ""
}

# An environment this bundle does not know has no rules, so it gets no privileges.
deny contains sprintf("unknown environment %q (context.environment)", [environment]) if {
	not read_only
	not environment_known
}

# ---------------------------------------------------------------------------------------------
# Risk: the highest level any rule signals (approval requirements signal their own).
# ---------------------------------------------------------------------------------------------

risk_signals contains req.risk if some req in approval

risk := "critical" if {
	"critical" in risk_signals
} else := "high" if {
	"high" in risk_signals
} else := "medium" if {
	"medium" in risk_signals
} else := "low"

# ---------------------------------------------------------------------------------------------
# Obligations
# ---------------------------------------------------------------------------------------------

# Zero standing privilege: every governed action runs on a single-use capability bound to
# this exact request, even when the policy allows it outright.
obligations contains {"type": "capability"} if governed

# Critical requests page the security on-call channel as soon as they are raised.
obligations contains {"type": "notify", "channel": cfg.notify_channels.critical} if risk == "critical"

# ---------------------------------------------------------------------------------------------
# Masking: secret-looking values never reach the audit trail.
# ---------------------------------------------------------------------------------------------

mask contains concat(".", ["action.params", k]) if {
	some k, _ in params
	lib.secretish_key(k)
}

mask contains concat(".", ["context.attributes", k]) if {
	some k, _ in object.get(input.context, "attributes", {})
	lib.secretish_key(k)
}

mask contains concat(".", ["subject.attributes", k]) if {
	some k, _ in object.get(input.subject, "attributes", {})
	lib.secretish_key(k)
}

mask contains concat(".", ["resource.attributes", k]) if {
	some k, _ in resource_attrs
	lib.secretish_key(k)
}

# Secret payloads travel under innocent names (`value`, `data`): mask them on secret actions.
mask contains concat(".", ["action.params", k]) if {
	namespace == "secret"
	some k, _ in params
	cfg.secret_value_keys[k]
}
