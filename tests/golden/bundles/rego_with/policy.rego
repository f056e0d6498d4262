# Golden fixture for Rego the VM compiler refuses: the `with` keyword in contract rules and a
# partial object with constant keys. The bundle must load and be served by the interpreter
# (golden `engine: interpreter`), with the same fail-closed contract.
package tollgate

import rego.v1

# A check written for the request's own action...
read_action if input.action.name in data.tollgate_config.read_actions

allow if read_action

# ...reused for every step of a batch with `with`.
batch := input.action.params.steps

deny contains sprintf("batch step %s is not a read", [s]) if {
	input.action.name == "batch.run"
	some s in batch
	not read_action with input.action.name as s
}

allow if {
	input.action.name == "batch.run"
	count(batch) > 0
	every s in batch {
		read_action with input.action.name as s
	}
}

# `with` replacing data: a dry run judges the request as if the read list were empty.
approval contains {"groups": ["sre"], "quorum": 1, "reason": "not a read without the allow-list"} if {
	input.context.attributes.dry_run == true
	not read_action with data.tollgate_config.read_actions as []
}

# A partial object with constant keys (not compiled by the VM in regorus 0.14).
row_limit["data.export"] := 1000

row_limit["dataset.read"] := 1000000

deny contains "row limit exceeded" if {
	input.action.params.rows > row_limit[input.action.name]
}

# A runtime error under `with` still denies.
deny contains "bad rows" if {
	input.context.attributes.check_rows == true
	to_number(input.action.params.rows) < 0
}
