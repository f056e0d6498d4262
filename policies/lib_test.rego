# Tests for lib.rego.
package tollgate.lib

test_requirement_shape if {
	requirement(["sre"], 2, "critical", true, "why") == {
		"groups": ["sre"], "quorum": 2, "ttl": "30m", "capability_ttl": "5m",
		"risk": "critical", "step_up": true, "reason": "why",
	}
	requirement([], 1, "low", false, "r").ttl == "24h"
}

test_approval_windows_shrink_with_risk if {
	w := data.tollgate_config.approval_windows
	time.parse_duration_ns(w.low.ttl) > time.parse_duration_ns(w.medium.ttl)
	time.parse_duration_ns(w.medium.ttl) > time.parse_duration_ns(w.high.ttl)
	time.parse_duration_ns(w.high.ttl) > time.parse_duration_ns(w.critical.ttl)
	every level, win in w {
		time.parse_duration_ns(win.capability_ttl) < time.parse_duration_ns(win.ttl)
	}
}

test_is_count if {
	is_count(0)
	is_count(250000)
	not is_count(-1)
	not is_count(1.5)
	not is_count("1")
	not is_count(null)
}

test_non_empty_string if {
	non_empty_string("x")
	not non_empty_string("")
	not non_empty_string(1)
}

test_secretish_key if {
	secretish_key("password")
	secretish_key("DB_PASSWORD")
	secretish_key("github_token")
	secretish_key("token_endpoint")
	secretish_key("x-api-key")
	secretish_key("aws_secret_access_key")
	secretish_key("client_secret")
	secretish_key("Authorization")
	not secretish_key("table")
	not secretish_key("rows")
	not secretish_key("key_id")
}

test_principal_kind if {
	principal_kind("agent:x") == "agent"
	principal_kind("user:a@example.com") == "user"
	principal_kind("allUsers") == "allUsers"
}

test_concrete_id if {
	concrete_id("web-1")
	not concrete_id("")
	not concrete_id("web-*")
	not concrete_id("web-?")
	not concrete_id(3)
}

test_duration_ns if {
	duration_ns("90s") == 90000000000
	duration_ns("1h30m") == 5400000000000
	not duration_ns("1d")
	not duration_ns("-1h")
	not duration_ns("")
	not duration_ns(3600)
}

# Overlapping destination prefixes would make export_dest_info a conflict for some requests.
test_export_destination_prefixes_do_not_overlap if {
	prefixes := object.keys(data.tollgate_config.export.destinations)
	every a in prefixes {
		endswith(a, "/")
		count({b | some b in prefixes; startswith(b, a)}) == 1
	}
}

test_flag_set if {
	flag_set({"a": true}, "a")
	flag_set({"a": "true"}, "a")
	flag_set({"a": 1}, "a")
	not flag_set({"a": false}, "a")
	not flag_set({"a": null}, "a")
	not flag_set({}, "a")
}
