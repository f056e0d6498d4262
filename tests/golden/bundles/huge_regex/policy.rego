# Fail-closed fixture: a regular expression taken from the request. A pattern whose compiled
# program exceeds the engine's size limit must deny, not hang or allow.
package tollgate

allow if regex.match(input.context.attributes.pattern, "aaa")
