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
#   * Deny rules about request fields assert the *absence* of a positive fact
#     (`not export_rows_valid`), so a missing or mistyped field makes the rule fire instead of
#     silently not firing.
#   * Never raise an evaluation error: check types before any builtin that can fail (sprintf
#     %q only on strings, comparisons only between numbers). Strict builtin errors are on, and
#     regorus's VM silently drops a rule body that errors, which in a deny rule would drop the
#     deny. tests/golden/fail_closed.yaml feeds hostile types to every rule.
#   * Unknown spellings are not guessed: "PROD", "PII" or "Data.Export" are unknown and
#     denied, never mapped to something weaker.
#   * No time.now_ns, http.send or randomness: a decision must replay identically against the
#     bundle revision that made it (audit replay).
#   * Stay cheap. In regorus's VM every rule body evaluated costs about as much as a few dozen
#     builtin calls and every user-function call more, so: each action file is entered through
#     one guarded body per contract rule, helpers on the hot path are rules (cached per
#     evaluation) rather than functions, data lookups use object keys, and the only loops walk
#     the request's own small maps.
#
# Trust: subject.id, kind, owner and groups are the verified identity's. resource.attributes
# (classification, owner, environment, deletion_protection, backup_verified, ...) are taken
# as sent; deployments should have the calling platform fill them from its inventory, not let
# the agent describe its own target.
package tollgate

import data.tollgate.lib

cfg := data.tollgate_config

# Nothing is allowed unless a rule below says so.
default allow := false

# ---------------------------------------------------------------------------------------------
# Request facts
# ---------------------------------------------------------------------------------------------

# The service always sends every input field (empty string, list or object when the caller
# sent nothing), so rules read input paths directly.
action := input.action.name

params := input.action.params

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

# Routing: governed actions continue into their action file (export.rego, iam.rego, ...),
# which contributes to action_denials, action_approvals and action_allowed. Everything else
# stops here after one comparison.
deny contains reason if {
	governed
	some reason in action_denials
}

approval contains requirement if {
	governed
	some requirement in action_approvals
}

allow if {
	governed
	action_allowed
}

# The recorded owner of the target resource, when it has one.
resource_owner := o if {
	o := input.resource.attributes.owner
	is_string(o)
	o != ""
}

# The subject acts for the resource's owner when it is owned by the same team, when a human is
# a member of the owning group, or when it belongs to the security team.
acts_for_owner if input.subject.owner == resource_owner

acts_for_owner if resource_owner in input.subject.groups

acts_for_owner if cfg.groups.security in input.subject.groups

# ---------------------------------------------------------------------------------------------
# Read-only actions
# ---------------------------------------------------------------------------------------------

# Metadata verbs never return content, so they are allowed on every resource type this bundle
# knows (listing secret *names* is fine; reading their values is not).
metadata_verbs := {"list", "describe"}

# Content verbs return data; they are allowed on the readable types, never on a secret.
content_verbs := {"read", "get"}

read_verbs := metadata_verbs | content_verbs

# Allow-lists, not deny-lists: a type that is not listed, misspelt or spelt with look-alike
# letters (a Cyrillic "ѕecret") is not covered, so it gets nothing.
readable_type if cfg.readable_resource_types[input.resource.type]

known_type if readable_type

known_type if cfg.secret_resource_types[input.resource.type]

read_only if {
	verb in metadata_verbs
	known_type
}

read_only if {
	verb in content_verbs
	readable_type
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

deny contains sprintf("%s: resource type %q is not covered by this policy (readable types are listed in readable_resource_types)", [action, input.resource.type]) if {
	verb in read_verbs
	not governed
	not known_type
}

deny contains sprintf("action %q is not covered by this policy: no rule governs it", [action]) if {
	not governed
	not verb in read_verbs
}

# ---------------------------------------------------------------------------------------------
# Guards on every privileged (non read-only) action
# ---------------------------------------------------------------------------------------------

# A suspended identity (quarantined after an incident) may do nothing, not even read.
deny contains sprintf("subject %s is suspended: %s", [input.subject.id, note]) if {
	note := cfg.suspended_subjects[input.subject.id]
}

# Privileged: governed, or an action that is not a read at all. An uncovered read (unknown
# type) is denied above with its own reason and needs no more.
privileged if {
	not read_only
	governed
}

privileged if {
	not read_only
	not verb in read_verbs
}

deny contains reason if {
	privileged
	some reason in privileged_denials
}

# Reviewers decide on the stated purpose; "fix" or an empty string is no purpose.
privileged_denials contains sprintf("privileged actions require a stated intent of at least %d characters (context.intent)", [cfg.min_intent_length]) if {
	count(trim_space(input.context.intent)) < cfg.min_intent_length
}

# Automation must have an accountable human team: no orphaned agents with privileges.
privileged_denials contains sprintf("%s subject %s has no accountable owner (subject.owner)", [input.subject.kind, input.subject.id]) if {
	lib.non_human_kinds[input.subject.kind]
	input.subject.owner == ""
}

# An environment this bundle does not know has no rules, so it gets no privileges.
privileged_denials contains sprintf("unknown environment %q (context.environment)", [environment]) if {
	not environment_known
}

# ---------------------------------------------------------------------------------------------
# Risk: the highest level any rule signals (approval requirements signal their own).
# ---------------------------------------------------------------------------------------------

risk_signals contains req.risk if some req in approval

risk := "low" if {
	count(risk_signals) == 0
} else := "critical" if {
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

mask contains concat(".", [section, k]) if {
	some section, values in {
		"action.params": params,
		"context.attributes": input.context.attributes,
		"subject.attributes": input.subject.attributes,
		"resource.attributes": input.resource.attributes,
	}
	some k, _ in values
	strings.any_suffix_match(lower(k), cfg.mask_key_suffixes)
}

# Secret payloads travel under innocent names (`value`, `data`): mask them on secret actions.
mask contains concat(".", ["action.params", k]) if {
	namespace == "secret"
	some k, _ in params
	cfg.secret_value_keys[k]
}
