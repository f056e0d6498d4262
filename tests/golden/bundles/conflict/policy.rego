# Fail-closed fixture: a complete rule with two different values for one input is a conflict
# (an evaluation error), never "the first one wins".
package tollgate

allow if input.context.attributes.x == true

allow := false if input.context.attributes.x == true

# risk conflicts only when y is set.
risk := "low" if input.context.attributes.y == true

risk := "critical" if input.context.attributes.y == true

allow if input.context.attributes.y == true
