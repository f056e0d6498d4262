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




test_principal_kind if {
	principal_kind("agent:x") == "agent"
	principal_kind("user:a@example.com") == "user"
	principal_kind("allUsers") == "allUsers"
}


test_duration_ns if {
	duration_ns("90s") == 90000000000
	duration_ns("1h30m") == 5400000000000
	not duration_ns("1d")
	not duration_ns("-1h")
	not duration_ns("")
	not duration_ns(3600)
}


