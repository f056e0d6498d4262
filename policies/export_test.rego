# Tests for export.rego (data.export).
package tollgate

fx_export(params, attrs, env) := fx_req("data.export", params, {"type": "dataset", "id": "users-eu", "attributes": attrs}, env)

fx_eu := "s3://corp-analytics-eu/churn/q3.parquet"

fx_us := "s3://corp-analytics-us/churn/q3.parquet"

# --- deny ------------------------------------------------------------------------------------

test_export_rows_must_be_a_count if {
	reason := "data.export: params.rows must be the exact number of rows to export (a non-negative integer)"
	fx_deny(fx_export({"dest": fx_us}, {"classification": "internal"}, "dev")) == {reason}
	fx_deny(fx_export({"rows": -1, "dest": fx_us}, {"classification": "internal"}, "dev")) == {reason}
	fx_deny(fx_export({"rows": 2.5, "dest": fx_us}, {"classification": "internal"}, "dev")) == {reason}
	fx_deny(fx_export({"rows": "100", "dest": fx_us}, {"classification": "internal"}, "dev")) == {reason}
}

test_export_rows_hard_limit if {
	fx_deny(fx_export({"rows": 5000001, "dest": fx_us}, {"classification": "internal"}, "dev")) == {"data.export: 5000001 rows exceeds the hard limit of 5000000 rows per export; use a governed bulk pipeline"}
	count(fx_deny(fx_export({"rows": 5000000, "dest": fx_us}, {"classification": "internal"}, "dev"))) == 0
}

test_export_dest_required if {
	fx_deny(fx_export({"rows": 10}, {"classification": "internal"}, "dev")) == {"data.export: params.dest (the export destination) is required"}
	fx_deny(fx_export({"rows": 10, "dest": ""}, {"classification": "internal"}, "dev")) == {"data.export: params.dest (the export destination) is required"}
}

test_export_dest_must_be_approved if {
	fx_deny(fx_export({"rows": 10, "dest": "s3://attacker/x"}, {"classification": "internal"}, "dev")) == {"data.export: destination \"s3://attacker/x\" is not an approved export destination"}
}

test_export_dest_root_must_match_exactly if {
	# A bucket whose name merely starts like an approved one is a different bucket.
	every dest in ["s3://corp-analytics-us-evil/x", "s3://corp-analytics-us@evil.example/x", "gs://corp-analytics-us/x", "s3:/corp-analytics-us/x", "corp-analytics-us"] {
		fx_deny(fx_export({"rows": 10, "dest": dest}, {"classification": "internal"}, "dev")) == {sprintf("data.export: destination %q is not an approved export destination", [dest])}
	}
	export_dest_root == "s3://corp-analytics-us" with input as fx_export({"rows": 1, "dest": fx_us}, {}, "dev")
	fx_effect(fx_export({"rows": 10, "dest": "s3://corp-analytics-us"}, {"classification": "internal"}, "dev")) == "ALLOW"
}

test_export_unclassified_is_denied if {
	reason := "data.export: dataset \"users-eu\" has no known classification (resource.attributes.classification); unclassified data is never exported"
	fx_deny(fx_export({"rows": 10, "dest": fx_us}, {}, "dev")) == {reason}
	fx_deny(fx_export({"rows": 10, "dest": fx_us}, {"classification": "top-secret"}, "dev")) == {reason}
}

test_export_non_exportable_classes if {
	fx_deny(fx_export({"rows": 10, "dest": fx_us}, {"classification": "restricted"}, "dev")) == {"data.export: restricted data may not be exported"}
	fx_deny(fx_export({"rows": 10, "dest": fx_us}, {"classification": "pci"}, "dev")) == {"data.export: pci data may not be exported"}
}

test_export_pii_not_to_scratch if {
	dest := "s3://corp-scratch/tmp.csv"
	fx_deny(fx_export({"rows": 10, "dest": dest}, {"classification": "pii"}, "dev")) == {"data.export: destination \"s3://corp-scratch/tmp.csv\" is not approved for pii data"}
	fx_effect(fx_export({"rows": 10, "dest": dest}, {"classification": "internal"}, "dev")) == "ALLOW"
}

test_export_residency if {
	fx_deny(fx_export({"rows": 10, "dest": fx_us}, {"classification": "pii", "residency": "eu"}, "prod")) == {"data.export: eu-resident data may not leave eu (destination \"s3://corp-analytics-us/churn/q3.parquet\" is in us)"}
	count(fx_deny(fx_export({"rows": 10, "dest": fx_eu}, {"classification": "pii", "residency": "eu"}, "prod"))) == 0
}

# --- approval --------------------------------------------------------------------------------

test_export_small_pii_from_prod_needs_governance if {
	inp := fx_export({"rows": 5000, "dest": fx_eu}, {"classification": "pii"}, "prod")
	fx_effect(inp) == "PENDING_APPROVAL"
	fx_reqs(inp) == {fx_req_shape(["data-governance"], 1, "medium", false)}
	fx_reasons(inp) == {"export of 5000 rows of pii data from prod needs data-governance approval"}
	fx_risk(inp) == "medium"
}

test_export_large_pii_from_prod_needs_governance_and_security if {
	inp := fx_export({"rows": 250000, "dest": fx_eu}, {"classification": "pii"}, "prod")
	fx_reqs(inp) == {
		fx_req_shape(["data-governance"], 1, "high", false),
		fx_req_shape(["security"], 1, "high", true),
	}
	fx_reasons(inp) == {
		"export of 250000 rows of pii data from prod needs data-governance approval",
		"export of 250000 rows of pii data from prod exceeds 10000 rows; security must approve with step-up",
	}
	fx_risk(inp) == "high"
}

test_export_threshold_is_exclusive if {
	fx_reqs(fx_export({"rows": 10000, "dest": fx_eu}, {"classification": "phi"}, "prod")) == {fx_req_shape(["data-governance"], 1, "medium", false)}
}

test_export_large_pii_outside_prod_needs_governance_only if {
	fx_reqs(fx_export({"rows": 250000, "dest": fx_eu}, {"classification": "pii"}, "staging")) == {fx_req_shape(["data-governance"], 1, "high", false)}
}

test_export_large_confidential_from_prod_needs_governance if {
	inp := fx_export({"rows": 20000, "dest": fx_us}, {"classification": "confidential"}, "prod")
	fx_reqs(inp) == {fx_req_shape(["data-governance"], 1, "medium", false)}
	fx_reasons(inp) == {"export of 20000 rows of confidential data from prod exceeds 10000 rows; data-governance must approve"}
}

# --- allow -----------------------------------------------------------------------------------

test_export_allowed_cases if {
	fx_effect(fx_export({"rows": 20000, "dest": fx_us}, {"classification": "confidential"}, "staging")) == "ALLOW"
	fx_effect(fx_export({"rows": 500, "dest": fx_us}, {"classification": "confidential"}, "prod")) == "ALLOW"
	fx_effect(fx_export({"rows": 4000000, "dest": fx_us}, {"classification": "public"}, "prod")) == "ALLOW"
	fx_obligations(fx_export({"rows": 1, "dest": fx_us}, {"classification": "internal"}, "prod")) == {{"type": "capability"}}
}

test_export_allow_needs_well_formed_request if {
	not export_allowed with input as fx_export({"rows": 1}, {"classification": "internal"}, "dev")
	not export_allowed with input as fx_export({"rows": 1, "dest": fx_us}, {}, "dev")
	not export_allowed with input as fx_export({"dest": fx_us}, {"classification": "internal"}, "dev")
}
