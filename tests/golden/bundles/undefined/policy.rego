# Fail-closed fixture: package tollgate without allow, deny or approval rules. Every decision
# is the default deny.
package tollgate

# A helper that is never read by the contract.
environment := input.context.environment

# A rule whose name merely looks like the contract is not the contract.
allowed if true
