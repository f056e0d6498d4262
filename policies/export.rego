# data.export: moving rows out of a dataset to an external destination.
#
# Request shape:
#   action.params.rows     exact number of rows (bound into the capability, so an approval for
#                          10k rows cannot be used to export 10M)
#   action.params.dest     destination URI whose scheme://bucket is approved in data.yaml
#   resource.attributes.classification   public | internal | confidential | pii | phi | pci | restricted
#   resource.attributes.residency        optional region the data must stay in (e.g. "eu")
#
# Outcome:
#   deny      rows missing or over the hard ceiling, destination not approved (or not approved
#             for PII), unclassified or non-exportable data, residency violation
#   approval  PII anywhere: data-governance (risk medium, high when over the row threshold);
#             PII over the threshold from production: + security with step-up;
#             confidential over the threshold from production: data-governance
#   allow     everything else that is well formed (public/internal data, small exports)
package tollgate

import data.tollgate.lib

# Entry points, reached through the routing in main.rego. Nothing below is evaluated unless
# the action is data.export.
action_denials contains reason if {
	action == "data.export"
	some reason in export_denials
}

action_approvals contains requirement if {
	action == "data.export"
	some requirement in export_approvals
}

action_allowed if {
	action == "data.export"
	export_allowed
}

export_cfg := cfg.export

# The row count is a non-negative whole number.
export_rows_valid if {
	is_number(params.rows)
	params.rows >= 0
	params.rows == floor(params.rows)
}

export_dest := d if {
	d := params.dest
	is_string(d)
	d != ""
}

export_large if {
	export_rows_valid
	params.rows > export_cfg.approval_row_threshold
}

# The classification entry from data.yaml; undefined for missing or unknown labels.
export_classification := c if {
	c := input.resource.attributes.classification
	export_cfg.classifications[c]
}

export_class_info := export_cfg.classifications[export_classification]

export_is_pii if export_class_info.pii == true

# The destination's root, "scheme://bucket" (the first three "/"-separated parts), looked up
# exactly in the approved destinations: no prefix tricks ("s3://corp-analytics-eu-evil"),
# no overlapping entries, one lookup instead of a loop.
export_dest_root := concat("/", array.slice(split(export_dest, "/"), 0, 3))

export_dest_info := export_cfg.destinations[export_dest_root]

# --- deny ------------------------------------------------------------------------------------

export_denials contains "data.export: params.rows must be the exact number of rows to export (a non-negative integer)" if {
	not export_rows_valid
}

export_denials contains sprintf("data.export: %v rows exceeds the hard limit of %v rows per export; use a governed bulk pipeline", [params.rows, export_cfg.max_rows]) if {
	export_rows_valid
	params.rows > export_cfg.max_rows
}

export_denials contains "data.export: params.dest (the export destination) is required" if {
	not export_dest
}

export_denials contains sprintf("data.export: destination %q is not an approved export destination", [export_dest]) if {
	not export_dest_info
}

export_denials contains sprintf("data.export: dataset %q has no known classification (resource.attributes.classification); unclassified data is never exported", [input.resource.id]) if {
	not export_class_info
}

export_denials contains sprintf("data.export: %s data may not be exported", [export_classification]) if {
	export_class_info.exportable == false
}

# Scratch buckets are not encrypted with customer keys nor access-logged: no PII there.
export_denials contains sprintf("data.export: destination %q is not approved for %s data", [export_dest, export_classification]) if {
	export_is_pii
	export_dest_info
	not export_dest_info.pii == true
}

# Data residency (e.g. GDPR): data labelled with a region stays in that region.
export_denials contains sprintf("data.export: %s-resident data may not leave %s (destination %q is in %s)", [residency, residency, export_dest, export_dest_info.region]) if {
	residency := input.resource.attributes.residency
	export_dest_info.region != residency
}

# --- approval --------------------------------------------------------------------------------

# Personal data always gets a data-governance reviewer, in every environment.
export_approvals contains lib.requirement(
	[cfg.groups.data_governance], 1, export_pii_risk, false,
	sprintf("export of %v rows of %s data from %s needs data-governance approval", [params.rows, export_classification, environment]),
) if {
	export_is_pii
	export_rows_valid
}

export_pii_risk := "high" if export_large else := "medium"

# Bulk personal data out of production: security signs off as well, after re-authenticating.
export_approvals contains lib.requirement(
	[cfg.groups.security], 1, "high", true,
	sprintf("export of %v rows of %s data from %s exceeds %v rows; security must approve with step-up", [params.rows, export_classification, environment, export_cfg.approval_row_threshold]),
) if {
	export_is_pii
	export_large
	production
}

# Bulk confidential (non-personal) data out of production: data-governance.
export_approvals contains lib.requirement(
	[cfg.groups.data_governance], 1, "medium", false,
	sprintf("export of %v rows of %s data from %s exceeds %v rows; data-governance must approve", [params.rows, export_classification, environment, export_cfg.approval_row_threshold]),
) if {
	not export_is_pii
	export_class_info.large_export_review == true
	export_large
	production
}

# --- allow -----------------------------------------------------------------------------------

export_allowed if {
	export_rows_valid
	export_dest_info
	export_class_info
}
